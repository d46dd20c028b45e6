// ParentNode (RFC 9420 §7.1).
//   struct {
//     HPKEPublicKey encryption_key;
//     opaque parent_hash<V>;
//     uint32 unmerged_leaves<V>;
//   } ParentNode;
import type { Reader, Writer } from '../../codec/index.js';
import { readU32List, writeU32List } from './util.js';

export interface ParentNode {
  encryptionKey: Uint8Array;
  parentHash: Uint8Array;
  unmergedLeaves: number[]; // leaf indices, ascending
}

export function writeParentNode(w: Writer, p: ParentNode): void {
  w.varBytes(p.encryptionKey);
  w.varBytes(p.parentHash);
  writeU32List(w, p.unmergedLeaves);
}

export function readParentNode(r: Reader): ParentNode {
  return {
    encryptionKey: r.varBytes('encryption_key'),
    parentHash: r.varBytes('parent_hash'),
    unmergedLeaves: readU32List(r, 'unmerged_leaves'),
  };
}
