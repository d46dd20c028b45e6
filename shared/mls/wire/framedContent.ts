// Sender, FramedContent, FramedContentAuthData, FramedContentTBS, AuthenticatedContent
// (RFC 9420 §6, §6.1).
//   enum { reserved(0), application(1), proposal(2), commit(3), (255) } ContentType;
//   enum { reserved(0), member(1), external(2), new_member_proposal(3), new_member_commit(4), (255) } SenderType;
//   struct {
//     SenderType sender_type;
//     select (Sender.sender_type) {
//       case member: uint32 leaf_index; case external: uint32 sender_index;
//       case new_member_commit: case new_member_proposal: struct{};
//     };
//   } Sender;
//   struct {
//     opaque group_id<V>; uint64 epoch; Sender sender; opaque authenticated_data<V>;
//     ContentType content_type;
//     select (FramedContent.content_type) {
//       case application: opaque application_data<V>; case proposal: Proposal proposal; case commit: Commit commit;
//     };
//   } FramedContent;
//   struct {
//     opaque signature<V>;
//     select (FramedContent.content_type) { case commit: MAC confirmation_tag; case application: case proposal: struct{}; };
//   } FramedContentAuthData;
//   struct {
//     ProtocolVersion version = mls10; WireFormat wire_format; FramedContent content;
//     select (FramedContentTBS.content.sender.sender_type) {
//       case member: case new_member_commit: GroupContext context;
//       case external: case new_member_proposal: struct{};
//     };
//   } FramedContentTBS;
//   struct { WireFormat wire_format; FramedContent content; FramedContentAuthData auth; } AuthenticatedContent;
import { CodecError, encode, type Reader, type Writer } from '../../codec/index.js';
import { readCommit, writeCommit, type Commit } from './commit.js';
import { writeGroupContext, type GroupContext } from './groupContext.js';
import { ProtocolVersion } from './protocolVersion.js';
import { readProposal, writeProposal, type Proposal } from './proposal.js';

export const ContentType = { application: 1, proposal: 2, commit: 3 } as const;
export type ContentTypeValue = (typeof ContentType)[keyof typeof ContentType];
export const SenderType = { member: 1, external: 2, new_member_proposal: 3, new_member_commit: 4 } as const;

export type Sender =
  | { senderType: typeof SenderType.member; leafIndex: number }
  | { senderType: typeof SenderType.external; senderIndex: number }
  | { senderType: typeof SenderType.new_member_proposal }
  | { senderType: typeof SenderType.new_member_commit };

export type FramedContentBody =
  | { contentType: typeof ContentType.application; applicationData: Uint8Array }
  | { contentType: typeof ContentType.proposal; proposal: Proposal }
  | { contentType: typeof ContentType.commit; commit: Commit };

export type FramedContent = {
  groupId: Uint8Array;
  epoch: bigint;
  sender: Sender;
  authenticatedData: Uint8Array;
} & FramedContentBody;

export interface FramedContentAuthData {
  signature: Uint8Array;
  confirmationTag?: Uint8Array; // commit only
}

export interface AuthenticatedContent {
  wireFormat: number;
  content: FramedContent;
  auth: FramedContentAuthData;
}

export function writeSender(w: Writer, s: Sender): void {
  w.u8(s.senderType);
  if (s.senderType === SenderType.member) w.u32(s.leafIndex);
  else if (s.senderType === SenderType.external) w.u32(s.senderIndex);
}
export function readSender(r: Reader): Sender {
  const t = r.u8('sender_type');
  switch (t) {
    case SenderType.member:
      return { senderType: t, leafIndex: r.u32('leaf_index') };
    case SenderType.external:
      return { senderType: t, senderIndex: r.u32('sender_index') };
    case SenderType.new_member_proposal:
    case SenderType.new_member_commit:
      return { senderType: t };
    default:
      throw new CodecError('invalid-value', `sender_type ${t}`);
  }
}

/** The content-type-dependent body (shared by FramedContent and PrivateMessageContent). */
export function writeContentBody(w: Writer, c: FramedContentBody): void {
  if (c.contentType === ContentType.application) w.varBytes(c.applicationData);
  else if (c.contentType === ContentType.proposal) writeProposal(w, c.proposal);
  else writeCommit(w, c.commit);
}
export function readContentBody(r: Reader, contentType: number): FramedContentBody {
  switch (contentType) {
    case ContentType.application:
      return { contentType, applicationData: r.varBytes('application_data') };
    case ContentType.proposal:
      return { contentType, proposal: readProposal(r) };
    case ContentType.commit:
      return { contentType, commit: readCommit(r) };
    default:
      throw new CodecError('invalid-value', `content_type ${contentType}`);
  }
}

export function writeFramedContent(w: Writer, c: FramedContent): void {
  w.varBytes(c.groupId);
  w.u64(c.epoch);
  writeSender(w, c.sender);
  w.varBytes(c.authenticatedData);
  w.u8(c.contentType);
  writeContentBody(w, c);
}
export function readFramedContent(r: Reader): FramedContent {
  const groupId = r.varBytes('group_id');
  const epoch = r.u64('epoch');
  const sender = readSender(r);
  const authenticatedData = r.varBytes('authenticated_data');
  const body = readContentBody(r, r.u8('content_type'));
  return { groupId, epoch, sender, authenticatedData, ...body };
}

export function writeAuthData(w: Writer, a: FramedContentAuthData, contentType: number): void {
  w.varBytes(a.signature);
  if (contentType === ContentType.commit) {
    if (a.confirmationTag === undefined) throw new CodecError('invalid-value', 'commit without confirmation_tag');
    w.varBytes(a.confirmationTag);
  }
}
export function readAuthData(r: Reader, contentType: number): FramedContentAuthData {
  const signature = r.varBytes('signature');
  if (contentType === ContentType.commit) return { signature, confirmationTag: r.varBytes('confirmation_tag') };
  return { signature };
}

/** FramedContentTBS bytes: what SignWithLabel(., "FramedContentTBS", .) covers (§6.1). */
export function encodeFramedContentTBS(wireFormat: number, content: FramedContent, context?: GroupContext): Uint8Array {
  return encode((w) => writeFramedContentTBS(w, wireFormat, content, context));
}
export function writeFramedContentTBS(
  w: Writer,
  wireFormat: number,
  content: FramedContent,
  context?: GroupContext,
): void {
  w.u16(ProtocolVersion.mls10);
  w.u16(wireFormat);
  writeFramedContent(w, content);
  const t = content.sender.senderType;
  if (t === SenderType.member || t === SenderType.new_member_commit) {
    if (context === undefined) throw new TypeError('FramedContentTBS for a member sender needs the GroupContext');
    writeGroupContext(w, context);
  }
}

export function writeAuthenticatedContent(w: Writer, a: AuthenticatedContent): void {
  w.u16(a.wireFormat);
  writeFramedContent(w, a.content);
  writeAuthData(w, a.auth, a.content.contentType);
}
export function readAuthenticatedContent(r: Reader): AuthenticatedContent {
  const wireFormat = r.u16('wire_format');
  const content = readFramedContent(r);
  return { wireFormat, content, auth: readAuthData(r, content.contentType) };
}
export function encodeAuthenticatedContent(a: AuthenticatedContent): Uint8Array {
  return encode((w) => writeAuthenticatedContent(w, a));
}
