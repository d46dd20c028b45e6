// PathSecret and GroupSecrets (RFC 9420 §12.4.3.1).
//   struct { opaque path_secret<V>; } PathSecret;
//   struct { opaque joiner_secret<V>; optional<PathSecret> path_secret; PreSharedKeyID psks<V>; } GroupSecrets;
import { encode, type Reader, type Writer } from '../../codec/index.js';
import { readPreSharedKeyID, writePreSharedKeyID, type PreSharedKeyID } from './preSharedKeyId.js';

export interface GroupSecrets {
  joinerSecret: Uint8Array;
  pathSecret?: Uint8Array;
  psks: PreSharedKeyID[];
}

export function writeGroupSecrets(w: Writer, g: GroupSecrets): void {
  w.varBytes(g.joinerSecret);
  w.optional(g.pathSecret, (x, p) => x.varBytes(p));
  w.varVector(g.psks, writePreSharedKeyID);
}
export function readGroupSecrets(r: Reader): GroupSecrets {
  const joinerSecret = r.varBytes('joiner_secret');
  const pathSecret = r.optional((s) => s.varBytes('path_secret'), 'path_secret');
  const psks = r.varVector(readPreSharedKeyID, 'psks');
  return pathSecret === undefined ? { joinerSecret, psks } : { joinerSecret, pathSecret, psks };
}
export function encodeGroupSecrets(g: GroupSecrets): Uint8Array {
  return encode((w) => writeGroupSecrets(w, g));
}
