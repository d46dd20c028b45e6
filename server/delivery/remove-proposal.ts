// The server's one MLS message: a Remove proposal sent as an external sender (RFC 9420
// §12.1.8.1), framed as a PublicMessage and signed with the server's Ed25519 key (suite 1).
// Written here (public framing + one signature) so the server needs no MLS library: it holds no
// key schedule, no exporter and no SFrame code (test/integration/server-imports.test.ts checks).
//
//   MLSMessage   = version(u16 = 1) || wire_format(u16 = 1, mls_public_message) || PublicMessage
//   PublicMessage (§6.2) = FramedContent || FramedContentAuthData        (external: no membership_tag)
//   FramedContent (§6)   = group_id<V> || epoch(u64) || Sender || authenticated_data<V>
//                          || content_type(u8 = 2, proposal) || Proposal
//   Sender               = sender_type(u8 = 2, external) || sender_index(u32)
//   Proposal (§12.1)     = proposal_type(u16 = 3, remove) || Remove { removed(u32) }
//   FramedContentAuthData (§6.1) = signature<V>                           (proposal: no confirmation_tag)
//   signature = SignWithLabel(sk, "FramedContentTBS", FramedContentTBS)   (§5.1.2)
//   FramedContentTBS (§6.1) = version(u16) || wire_format(u16) || FramedContent   (external: no context)
//   SignWithLabel = Ed25519.Sign(sk, SignContent{ label<V> = "MLS 1.0 FramedContentTBS", content<V> })
import { ed25519 } from '@noble/curves/ed25519.js';
import { assertBigInt, assertBytes, assertInt, utf8 } from '../../shared/bytes/index.js';
import { Writer } from '../../shared/codec/index.js';

const MLS10 = 1;
const WIRE_PUBLIC = 1;
const SENDER_EXTERNAL = 2;
const CONTENT_PROPOSAL = 2;
const PROPOSAL_REMOVE = 3;

export function externalRemoveProposal(o: {
  groupId: Uint8Array;
  epoch: bigint;
  removedLeaf: number;
  senderIndex: number;
  signaturePrivateKey: Uint8Array;
}): Uint8Array {
  assertBytes(o.groupId, 'groupId');
  assertBigInt(o.epoch, 'epoch');
  assertInt(o.removedLeaf, 'removedLeaf', 0, 0xffffffff);
  assertInt(o.senderIndex, 'senderIndex', 0, 0xffffffff);
  assertBytes(o.signaturePrivateKey, 'signaturePrivateKey', 32);

  const content = new Writer()
    .varBytes(o.groupId)
    .u64(o.epoch)
    .u8(SENDER_EXTERNAL)
    .u32(o.senderIndex)
    .varBytes(new Uint8Array(0))
    .u8(CONTENT_PROPOSAL)
    .u16(PROPOSAL_REMOVE)
    .u32(o.removedLeaf)
    .finish();
  const tbs = new Writer().u16(MLS10).u16(WIRE_PUBLIC).fixed(content).finish();
  const signContent = new Writer().varBytes(utf8('MLS 1.0 FramedContentTBS')).varBytes(tbs).finish();
  const signature = ed25519.sign(signContent, o.signaturePrivateKey);
  return new Writer().u16(MLS10).u16(WIRE_PUBLIC).fixed(content).varBytes(signature).finish();
}
