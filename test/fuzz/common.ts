// Pieces the fuzzers share: the seeded PRNG (test/support/prng.ts), the heap probe, and the byte-level
// mutations every target gets. Each fuzzer adds its own structure-aware mutations on top.


/** Heap in use (after a GC when node runs with --expose-gc). */
export function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

export { prng } from '../support/prng.js';

export type ByteMutation = 'flip' | 'byte' | 'truncate' | 'append' | 'insert' | 'flips' | 'random';

/**
 * One byte-level mutation of `out` (a copy the caller owns; it may be changed in place and returned).
 * 'flips' flips up to `maxFlips` bits; 'random' returns fresh random input of up to `randomLength` bytes.
 */
export function mutateBytes(kind: ByteMutation, rand: () => number, out: Uint8Array, maxFlips: number, randomLength: number): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  switch (kind) {
    case 'flip':
      if (out.length > 0) out[int(out.length)]! ^= 1 << int(8);
      return out;
    case 'byte':
      if (out.length > 0) out[int(out.length)] = int(256);
      return out;
    case 'truncate':
      return out.subarray(0, int(out.length + 1));
    case 'append':
      return Uint8Array.from([...out, ...Array.from({ length: 1 + int(8) }, () => int(256))]);
    case 'insert': {
      const i = int(out.length + 1);
      return Uint8Array.from([...out.subarray(0, i), int(256), ...out.subarray(i)]);
    }
    case 'flips':
      for (let k = 0; k < 1 + int(maxFlips) && out.length > 0; k++) out[int(out.length)]! ^= 1 << int(8);
      return out;
    case 'random':
      return Uint8Array.from({ length: int(randomLength) }, () => int(256));
  }
}
