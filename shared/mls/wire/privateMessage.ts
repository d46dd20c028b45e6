// PrivateMessage and its inner structs (RFC 9420 §6.3).
//   struct {
//     opaque group_id<V>; uint64 epoch; ContentType content_type; opaque authenticated_data<V>;
//     opaque encrypted_sender_data<V>; opaque ciphertext<V>;
//   } PrivateMessage;
//   struct {
//     select (PrivateMessage.content_type) {
//       case application: opaque application_data<V>; case proposal: Proposal proposal; case commit: Commit commit;
//     };
//     FramedContentAuthData auth;
//     opaque padding[length_of_padding];
//   } PrivateMessageContent;
//   struct { opaque group_id<V>; uint64 epoch; ContentType content_type; opaque authenticated_data<V>; } PrivateContentAAD;
//   struct { uint32 leaf_index; uint32 generation; opaque reuse_guard[4]; } SenderData;
//   struct { opaque group_id<V>; uint64 epoch; ContentType content_type; } SenderDataAAD;
import { CodecError, Reader, encode, type Writer } from '../../codec/index.js';
import {
  readAuthData,
  readContentBody,
  writeAuthData,
  writeContentBody,
  type FramedContentAuthData,
  type FramedContentBody,
} from './framedContent.js';
import { ContentType } from './framedContent.js';
import { expectOneOf } from './util.js';

export interface PrivateMessage {
  groupId: Uint8Array;
  epoch: bigint;
  contentType: number;
  authenticatedData: Uint8Array;
  encryptedSenderData: Uint8Array;
  ciphertext: Uint8Array;
}

export function writePrivateMessage(w: Writer, m: PrivateMessage): void {
  w.varBytes(m.groupId);
  w.u64(m.epoch);
  w.u8(m.contentType);
  w.varBytes(m.authenticatedData);
  w.varBytes(m.encryptedSenderData);
  w.varBytes(m.ciphertext);
}
export function readPrivateMessage(r: Reader): PrivateMessage {
  return {
    groupId: r.varBytes('group_id'),
    epoch: r.u64('epoch'),
    contentType: expectOneOf(r.u8('content_type'), ContentType, 'content_type'),
    authenticatedData: r.varBytes('authenticated_data'),
    encryptedSenderData: r.varBytes('encrypted_sender_data'),
    ciphertext: r.varBytes('ciphertext'),
  };
}

export type PrivateMessageContent = FramedContentBody & { auth: FramedContentAuthData };

export function encodePrivateMessageContent(c: PrivateMessageContent, paddingLength: number): Uint8Array {
  return encode((w) => {
    writeContentBody(w, c);
    writeAuthData(w, c.auth, c.contentType);
    w.fixed(new Uint8Array(paddingLength));
  });
}

/** Decodes PrivateMessageContent; the padding must be all zero bytes (§6.3.1). */
export function decodePrivateMessageContent(bytes: Uint8Array, contentType: number): PrivateMessageContent {
  const r = new Reader(bytes);
  const body = readContentBody(r, contentType);
  const auth = readAuthData(r, contentType);
  for (let i = r.position; i < bytes.length; i++) {
    if (bytes[i] !== 0) throw new CodecError('invalid-value', 'PrivateMessageContent padding is not all zero');
  }
  return { ...body, auth };
}

export function encodePrivateContentAAD(
  groupId: Uint8Array,
  epoch: bigint,
  contentType: number,
  authenticatedData: Uint8Array,
): Uint8Array {
  return encode((w) => {
    w.varBytes(groupId);
    w.u64(epoch);
    w.u8(contentType);
    w.varBytes(authenticatedData);
  });
}

export interface SenderData {
  leafIndex: number;
  generation: number;
  reuseGuard: Uint8Array; // 4 bytes
}
export function encodeSenderData(s: SenderData): Uint8Array {
  return encode((w) => {
    w.u32(s.leafIndex);
    w.u32(s.generation);
    w.fixed(s.reuseGuard);
  });
}
export function readSenderData(r: Reader): SenderData {
  return { leafIndex: r.u32('leaf_index'), generation: r.u32('generation'), reuseGuard: r.fixed(4, 'reuse_guard') };
}
export function encodeSenderDataAAD(groupId: Uint8Array, epoch: bigint, contentType: number): Uint8Array {
  return encode((w) => {
    w.varBytes(groupId);
    w.u64(epoch);
    w.u8(contentType);
  });
}
