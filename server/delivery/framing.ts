// The only MLS parsing the Delivery Service does: the public header of an MLSMessage.
// It reads group id, epoch, content type and sender, and nothing secret (the DS holds no keys).
//
// RFC 9420 §6:
//   struct {
//     ProtocolVersion version = mls10;      // uint16, 1
//     WireFormat wire_format;               // uint16
//     select (wire_format) {
//       case mls_public_message:  PublicMessage;    // FramedContent first:
//         opaque group_id<V>; uint64 epoch; Sender sender; opaque authenticated_data<V>;
//         ContentType content_type; ...
//       case mls_private_message: PrivateMessage;
//         opaque group_id<V>; uint64 epoch; ContentType content_type; ...
//       case mls_welcome: Welcome;  case mls_group_info: GroupInfo;  case mls_key_package: KeyPackage;
//     };
//   } MLSMessage;
//   struct { SenderType sender_type;                       // uint8
//            select (sender_type) { case member: uint32 leaf_index;
//                                   case external: uint32 sender_index;
//                                   case new_member_commit, new_member_proposal: struct{}; } } Sender;
// RFC 9420 §12.4.3: GroupInfo { GroupContext group_context; ... }, and §8.1:
//   GroupContext { ProtocolVersion version; CipherSuite cipher_suite; opaque group_id<V>; uint64 epoch; ... }
import { CodecError, Reader } from '../../shared/codec/index.js';

export const MLS10 = 1;

/** RFC 9420 §6 WireFormat. */
export const WireFormat = {
  mls_public_message: 1,
  mls_private_message: 2,
  mls_welcome: 3,
  mls_group_info: 4,
  mls_key_package: 5,
} as const;

/** RFC 9420 §6 ContentType. */
export const ContentType = { application: 1, proposal: 2, commit: 3 } as const;

/** RFC 9420 §6 SenderType. */
export const SenderType = { member: 1, external: 2, new_member_proposal: 3, new_member_commit: 4 } as const;

export type HeaderSender =
  | { type: 'member'; leafIndex: number }
  | { type: 'external'; senderIndex: number }
  | { type: 'new_member_proposal' }
  | { type: 'new_member_commit' };

export type MlsHeader =
  | { wireFormat: 'public'; groupId: Uint8Array; epoch: bigint; sender: HeaderSender; contentType: 'application' | 'proposal' | 'commit' }
  | { wireFormat: 'private'; groupId: Uint8Array; epoch: bigint; contentType: 'application' | 'proposal' | 'commit' }
  | { wireFormat: 'group_info'; cipherSuite: number; groupId: Uint8Array; epoch: bigint }
  | { wireFormat: 'welcome'; cipherSuite: number }
  | { wireFormat: 'key_package' };

/** The bytes are not an MLSMessage header this DS accepts. */
export class FramingError extends Error {
  override readonly name = 'FramingError';
}

function contentType(v: number): 'application' | 'proposal' | 'commit' {
  if (v === ContentType.application) return 'application';
  if (v === ContentType.proposal) return 'proposal';
  if (v === ContentType.commit) return 'commit';
  throw new FramingError(`content_type ${v} is not defined (RFC 9420 §6)`);
}

function sender(r: Reader): HeaderSender {
  const t = r.u8('sender_type');
  switch (t) {
    case SenderType.member:
      return { type: 'member', leafIndex: r.u32('leaf_index') };
    case SenderType.external:
      return { type: 'external', senderIndex: r.u32('sender_index') };
    case SenderType.new_member_proposal:
      return { type: 'new_member_proposal' };
    case SenderType.new_member_commit:
      return { type: 'new_member_commit' };
    default:
      throw new FramingError(`sender_type ${t} is not defined (RFC 9420 §6)`);
  }
}

/**
 * Reads the public header of an MLSMessage. Throws FramingError for anything malformed
 * (CodecError from the reader is wrapped). Trailing content is not read (it is not the DS's).
 */
export function readMlsHeader(bytes: Uint8Array): MlsHeader {
  try {
    const r = new Reader(bytes);
    const version = r.u16('version');
    if (version !== MLS10) throw new FramingError(`version ${version} is not mls10 (RFC 9420 §6)`);
    const wf = r.u16('wire_format');
    switch (wf) {
      case WireFormat.mls_public_message: {
        const groupId = r.varBytes('group_id');
        const epoch = r.u64('epoch');
        const s = sender(r);
        r.varBytes('authenticated_data');
        const ct = contentType(r.u8('content_type'));
        return { wireFormat: 'public', groupId, epoch, sender: s, contentType: ct };
      }
      case WireFormat.mls_private_message: {
        const groupId = r.varBytes('group_id');
        const epoch = r.u64('epoch');
        const ct = contentType(r.u8('content_type'));
        return { wireFormat: 'private', groupId, epoch, contentType: ct };
      }
      case WireFormat.mls_group_info: {
        const ctxVersion = r.u16('group_context.version');
        if (ctxVersion !== MLS10) throw new FramingError(`group_context.version ${ctxVersion} is not mls10`);
        const cipherSuite = r.u16('cipher_suite');
        const groupId = r.varBytes('group_id');
        const epoch = r.u64('epoch');
        return { wireFormat: 'group_info', cipherSuite, groupId, epoch };
      }
      case WireFormat.mls_welcome:
        return { wireFormat: 'welcome', cipherSuite: r.u16('cipher_suite') };
      case WireFormat.mls_key_package:
        return { wireFormat: 'key_package' };
      default:
        throw new FramingError(`wire_format ${wf} is not defined (RFC 9420 §6)`);
    }
  } catch (e) {
    if (e instanceof FramingError) throw e;
    if (e instanceof CodecError) throw new FramingError(`malformed MLSMessage: ${e.message}`);
    throw e;
  }
}

/** RFC 9420 §12.1 ProposalType values the DS can read by value. */
const ProposalTypeCode = { add: 1, update: 2, remove: 3, psk: 4, reinit: 5, external_init: 6, group_context_extensions: 7 } as const;

export interface CommitSummary {
  /** Leaves removed by Remove proposals carried by value. */
  removesByValue: number[];
  /** ProposalRefs (hash references to proposals sent earlier in the epoch). */
  references: Uint8Array[];
  externalInit: boolean;
  /** False when a by-value proposal of a type the DS cannot skip (Add, Update, ...) was found: parsing stopped there. */
  complete: boolean;
  /** That proposal type, when complete is false. */
  stoppedAt?: number;
}

/**
 * Reads the proposal list of a commit in a PublicMessage (RFC 9420 §12.4):
 *   Commit { ProposalOrRef proposals<V>; optional<UpdatePath> path; }
 *   ProposalOrRef { uint8 type; select (type) { case proposal(1): Proposal; case reference(2): opaque ProposalRef<V>; } }
 *   Proposal { uint16 proposal_type; select { case remove: uint32 removed; case external_init: opaque kem_output<V>; ... } }
 * The DS uses it to learn which leaves a commit removes without trusting the committer.
 */
export function readCommitSummary(bytes: Uint8Array): CommitSummary {
  try {
    const r = new Reader(bytes);
    if (r.u16('version') !== MLS10 || r.u16('wire_format') !== WireFormat.mls_public_message) throw new FramingError('not a PublicMessage');
    r.varBytes('group_id');
    r.u64('epoch');
    sender(r);
    r.varBytes('authenticated_data');
    if (r.u8('content_type') !== ContentType.commit) throw new FramingError('not a commit');
    const list = new Reader(r.varBytes('proposals'));
    const out: CommitSummary = { removesByValue: [], references: [], externalInit: false, complete: true };
    while (list.remaining > 0) {
      const type = list.u8('ProposalOrRef.type');
      if (type === 2) {
        out.references.push(list.varBytes('reference'));
        continue;
      }
      if (type !== 1) throw new FramingError(`ProposalOrRef type ${type} is not defined (RFC 9420 §12.4)`);
      const pt = list.u16('proposal_type');
      if (pt === ProposalTypeCode.remove) out.removesByValue.push(list.u32('removed'));
      else if (pt === ProposalTypeCode.external_init) {
        list.varBytes('kem_output');
        out.externalInit = true;
      } else {
        out.complete = false;
        out.stoppedAt = pt;
        break;
      }
    }
    return out;
  } catch (e) {
    if (e instanceof FramingError) throw e;
    if (e instanceof CodecError) throw new FramingError(`malformed commit: ${e.message}`);
    throw e;
  }
}
