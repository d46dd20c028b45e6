// GroupInfo and GroupInfoTBS (RFC 9420 §12.4.3).
//   struct {
//     GroupContext group_context;
//     Extension extensions<V>;
//     MAC confirmation_tag;
//     uint32 signer;
//     /* SignWithLabel(., "GroupInfoTBS", GroupInfoTBS) */
//     opaque signature<V>;
//   } GroupInfo;
import { encode, type Reader, type Writer } from '../../codec/index.js';
import { readExtensions, writeExtensions, type Extension } from './extension.js';
import { readGroupContext, writeGroupContext, type GroupContext } from './groupContext.js';

export interface GroupInfo {
  groupContext: GroupContext;
  extensions: Extension[];
  confirmationTag: Uint8Array;
  signer: number;
  signature: Uint8Array;
}

function writeBody(w: Writer, g: GroupInfo): void {
  writeGroupContext(w, g.groupContext);
  writeExtensions(w, g.extensions);
  w.varBytes(g.confirmationTag);
  w.u32(g.signer);
}
export function writeGroupInfo(w: Writer, g: GroupInfo): void {
  writeBody(w, g);
  w.varBytes(g.signature);
}
export function readGroupInfo(r: Reader): GroupInfo {
  return {
    groupContext: readGroupContext(r),
    extensions: readExtensions(r),
    confirmationTag: r.varBytes('confirmation_tag'),
    signer: r.u32('signer'),
    signature: r.varBytes('signature'),
  };
}
export function encodeGroupInfoTBS(g: GroupInfo): Uint8Array {
  return encode((w) => writeBody(w, g));
}
export function encodeGroupInfo(g: GroupInfo): Uint8Array {
  return encode((w) => writeGroupInfo(w, g));
}
