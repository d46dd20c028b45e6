// Small decoding helpers shared by the wire structs.
import { CodecError, type Reader, type Writer } from '../../codec/index.js';

/** Throws CodecError('invalid-value') unless `value` is one of the code points in `allowed`. */
export function expectOneOf<T extends number>(value: number, allowed: Record<string, T>, what: string): T {
  for (const v of Object.values(allowed)) if (v === value) return value as T;
  throw new CodecError('invalid-value', `${what} ${value} is not a known code point`);
}

/** Item readers per field name (a handful of literals), so reading a list allocates no closure. */
const u16Readers = new Map<string, (r: Reader) => number>();
export function readU16List(r: Reader, what: string): number[] {
  let read = u16Readers.get(what);
  if (read === undefined) {
    read = (s: Reader) => s.u16(what);
    if (u16Readers.size < 64) u16Readers.set(what, read);
  }
  return r.varVector(read, what);
}
const writeU16 = (x: Writer, v: number): void => {
  x.u16(v);
};
export function writeU16List(w: Writer, list: readonly number[]): void {
  w.varVector(list, writeU16);
}
export function readU32List(r: Reader, what: string): number[] {
  return r.varVector((s) => s.u32(what), what);
}
const writeU32 = (x: Writer, v: number): void => {
  x.u32(v);
};
export function writeU32List(w: Writer, list: readonly number[]): void {
  w.varVector(list, writeU32);
}
