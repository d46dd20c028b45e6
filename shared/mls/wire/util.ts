// Small decoding helpers shared by the wire structs.
import { CodecError, type Reader, type Writer } from '../../codec/index.js';

/** Throws CodecError('invalid-value') unless `value` is one of the code points in `allowed`. */
export function expectOneOf<T extends number>(value: number, allowed: Record<string, T>, what: string): T {
  for (const v of Object.values(allowed)) if (v === value) return value as T;
  throw new CodecError('invalid-value', `${what} ${value} is not a known code point`);
}

export function readU16List(r: Reader, what: string): number[] {
  return r.varVector((s) => s.u16(what), what);
}
export function writeU16List(w: Writer, list: readonly number[]): void {
  w.varVector(list, (x, v) => x.u16(v));
}
export function readU32List(r: Reader, what: string): number[] {
  return r.varVector((s) => s.u32(what), what);
}
export function writeU32List(w: Writer, list: readonly number[]): void {
  w.varVector(list, (x, v) => x.u32(v));
}
