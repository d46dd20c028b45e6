// GroupContext (RFC 9420 §8.1).
//   struct {
//     ProtocolVersion version = mls10;
//     CipherSuite cipher_suite;
//     opaque group_id<V>;
//     uint64 epoch;
//     opaque tree_hash<V>;
//     opaque confirmed_transcript_hash<V>;
//     Extension extensions<V>;
//   } GroupContext;
import { encode, type Reader, type Writer } from '../../codec/index.js';
import { readExtensions, writeExtensions, type Extension } from './extension.js';

export interface GroupContext {
  version: number;
  cipherSuite: number;
  groupId: Uint8Array;
  epoch: bigint;
  treeHash: Uint8Array;
  confirmedTranscriptHash: Uint8Array;
  extensions: Extension[];
}

export function writeGroupContext(w: Writer, g: GroupContext): void {
  w.u16(g.version);
  w.u16(g.cipherSuite);
  w.varBytes(g.groupId);
  w.u64(g.epoch);
  w.varBytes(g.treeHash);
  w.varBytes(g.confirmedTranscriptHash);
  writeExtensions(w, g.extensions);
}

export function readGroupContext(r: Reader): GroupContext {
  return {
    version: r.u16('version'),
    cipherSuite: r.u16('cipher_suite'),
    groupId: r.varBytes('group_id'),
    epoch: r.u64('epoch'),
    treeHash: r.varBytes('tree_hash'),
    confirmedTranscriptHash: r.varBytes('confirmed_transcript_hash'),
    extensions: readExtensions(r),
  };
}

export function encodeGroupContext(g: GroupContext): Uint8Array {
  return encode((w) => writeGroupContext(w, g));
}
