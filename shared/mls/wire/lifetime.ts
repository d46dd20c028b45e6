// Lifetime (RFC 9420 §7.2): struct { uint64 not_before; uint64 not_after; } Lifetime;
import type { Reader, Writer } from '../../codec/index.js';

export interface Lifetime {
  notBefore: bigint; // seconds since the Unix epoch
  notAfter: bigint;
}

export function writeLifetime(w: Writer, l: Lifetime): void {
  w.u64(l.notBefore);
  w.u64(l.notAfter);
}

export function readLifetime(r: Reader): Lifetime {
  return { notBefore: r.u64('not_before'), notAfter: r.u64('not_after') };
}
