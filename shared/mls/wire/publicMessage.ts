// PublicMessage and AuthenticatedContentTBM (RFC 9420 §6.2).
//   struct {
//     FramedContent content;
//     FramedContentAuthData auth;
//     select (PublicMessage.content.sender.sender_type) {
//       case member: MAC membership_tag;
//       case external: case new_member_commit: case new_member_proposal: struct{};
//     };
//   } PublicMessage;
//   struct { FramedContentTBS content_tbs; FramedContentAuthData auth; } AuthenticatedContentTBM;
import { CodecError, encode, type Reader, type Writer } from '../../codec/index.js';
import {
  readAuthData,
  readFramedContent,
  SenderType,
  writeAuthData,
  writeFramedContent,
  writeFramedContentTBS,
  type FramedContent,
  type FramedContentAuthData,
} from './framedContent.js';
import type { GroupContext } from './groupContext.js';
import { WireFormat } from './wireFormat.js';

export interface PublicMessage {
  content: FramedContent;
  auth: FramedContentAuthData;
  membershipTag?: Uint8Array; // member senders only
}

export function writePublicMessage(w: Writer, m: PublicMessage): void {
  writeFramedContent(w, m.content);
  writeAuthData(w, m.auth, m.content.contentType);
  if (m.content.sender.senderType === SenderType.member) {
    if (m.membershipTag === undefined) throw new CodecError('invalid-value', 'member PublicMessage without membership_tag');
    w.varBytes(m.membershipTag);
  }
}

export function readPublicMessage(r: Reader): PublicMessage {
  const content = readFramedContent(r);
  const auth = readAuthData(r, content.contentType);
  if (content.sender.senderType === SenderType.member) {
    return { content, auth, membershipTag: r.varBytes('membership_tag') };
  }
  return { content, auth };
}

/** AuthenticatedContentTBM bytes, the input of the membership tag MAC (§6.2). */
export function encodeAuthenticatedContentTBM(
  content: FramedContent,
  auth: FramedContentAuthData,
  context: GroupContext,
): Uint8Array {
  return encode((w) => {
    writeFramedContentTBS(w, WireFormat.mls_public_message, content, context);
    writeAuthData(w, auth, content.contentType);
  });
}
