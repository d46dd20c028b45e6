// SFrame header encoding and decoding, RFC 9605 §4.3.
//
//    0 1 2 3 4 5 6 7
//   +-+-+-+-+-+-+-+-+------------+------------+
//   |X|  K  |Y|  C  |   KID...   |   CTR...   |
//   +-+-+-+-+-+-+-+-+------------+------------+
//
// X = 0: K is the KID (0-7).   X = 1: K is the KID length minus one (1-8 bytes follow).
// Y = 0: C is the CTR (0-7).   Y = 1: C is the CTR length minus one (1-8 bytes follow).
// Values 0-7 MUST be inline; larger values MUST use the minimum number of big-endian bytes.
// Decoding rejects anything else (truncated input, extended form for a value < 8, leading zero bytes)
// with SFrameError('malformed-header').

import { assertBigInt, assertBytes } from '../bytes/index.js';
import { SFrameError } from './errors.js';

export const MAX_UINT64 = (1n << 64n) - 1n;
/** The longest possible header: config byte + 8-byte KID + 8-byte CTR. */
export const MAX_HEADER_LENGTH = 17;

export interface SFrameHeader {
  /** Key ID, 0 .. 2^64-1. */
  readonly kid: bigint;
  /** Counter, 0 .. 2^64-1. */
  readonly ctr: bigint;
  /** Number of bytes the encoded header occupies at the start of the input. */
  readonly length: number;
}

/** Bytes needed for `v` in the extended form (v >= 8), 1..8. */
function extendedLength(v: bigint): number {
  if (v <= 0xffffffffn) {
    const n = Number(v);
    return n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffff ? 3 : 4;
  }
  let len = 5;
  while (len < 8 && v >> BigInt(8 * len) !== 0n) len++;
  return len;
}

/** Length in bytes of the header for (kid, ctr). */
export function headerLength(kid: bigint, ctr: bigint): number {
  return 1 + (kid < 8n ? 0 : extendedLength(kid)) + (ctr < 8n ? 0 : extendedLength(ctr));
}

function writeBE(out: Uint8Array, offset: number, v: bigint, len: number): void {
  if (len <= 4) {
    let n = Number(v);
    for (let i = len - 1; i >= 0; i--) {
      out[offset + i] = n & 0xff;
      n >>>= 8;
    }
    return;
  }
  for (let i = len - 1; i >= 0; i--) {
    out[offset + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * Writes the header for (kid, ctr) into `out` at `offset`; returns the number of bytes written.
 * RangeError if `out` is too short.
 */
export function encodeHeaderInto(kid: bigint, ctr: bigint, out: Uint8Array, offset = 0): number {
  assertBigInt(kid, 'kid', 0n, MAX_UINT64);
  assertBigInt(ctr, 'ctr', 0n, MAX_UINT64);
  assertBytes(out, 'out');
  const kidLen = kid < 8n ? 0 : extendedLength(kid);
  const ctrLen = ctr < 8n ? 0 : extendedLength(ctr);
  const total = 1 + kidLen + ctrLen;
  if (!Number.isInteger(offset) || offset < 0 || offset + total > out.length) {
    throw new RangeError(`out must have ${total} bytes free at offset ${offset}, has ${out.length - offset}`);
  }
  // Config byte: X | K(3) | Y | C(3)
  const k = kidLen === 0 ? Number(kid) : 0x08 | (kidLen - 1);
  const c = ctrLen === 0 ? Number(ctr) : 0x08 | (ctrLen - 1);
  out[offset] = (k << 4) | c;
  if (kidLen > 0) writeBE(out, offset + 1, kid, kidLen);
  if (ctrLen > 0) writeBE(out, offset + 1 + kidLen, ctr, ctrLen);
  return total;
}

/** Encodes the SFrame header for (kid, ctr), RFC 9605 §4.3. */
export function encodeHeader(kid: bigint, ctr: bigint): Uint8Array {
  assertBigInt(kid, 'kid', 0n, MAX_UINT64);
  assertBigInt(ctr, 'ctr', 0n, MAX_UINT64);
  const out = new Uint8Array(headerLength(kid, ctr));
  encodeHeaderInto(kid, ctr, out, 0);
  return out;
}

function readBE(data: Uint8Array, offset: number, len: number, field: 'KID' | 'CTR'): bigint {
  if (offset + len > data.length) {
    throw new SFrameError('malformed-header', `truncated ${field}: needs ${len} bytes, ${Math.max(0, data.length - offset)} left`);
  }
  if (len > 1 && data[offset] === 0) {
    throw new SFrameError('malformed-header', `non-minimal ${field}: leading zero byte`);
  }
  let v: bigint;
  if (len <= 4) {
    let n = 0;
    for (let i = 0; i < len; i++) n = n * 256 + data[offset + i]!;
    v = BigInt(n);
  } else {
    v = 0n;
    for (let i = 0; i < len; i++) v = (v << 8n) | BigInt(data[offset + i]!);
  }
  if (v < 8n) throw new SFrameError('malformed-header', `non-minimal ${field}: value ${v} must be inline`);
  return v;
}

/**
 * Decodes the SFrame header at the start of `data` (which may continue with the ciphertext).
 * Throws SFrameError('malformed-header') for truncated or non-minimal encodings.
 */
export function decodeHeader(data: Uint8Array): SFrameHeader {
  assertBytes(data, 'data');
  if (data.length < 1) throw new SFrameError('malformed-header', 'empty input: no config byte');
  const config = data[0]!;
  const x = (config & 0x80) !== 0;
  const k = (config >> 4) & 0x07;
  const y = (config & 0x08) !== 0;
  const c = config & 0x07;
  let offset = 1;
  let kid: bigint;
  if (x) {
    kid = readBE(data, offset, k + 1, 'KID');
    offset += k + 1;
  } else {
    kid = BigInt(k);
  }
  let ctr: bigint;
  if (y) {
    ctr = readBE(data, offset, c + 1, 'CTR');
    offset += c + 1;
  } else {
    ctr = BigInt(c);
  }
  return { kid, ctr, length: offset };
}
