// Proposal and every proposal body (RFC 9420 §12.1).
//   struct { KeyPackage key_package; } Add;                         (§12.1.1)
//   struct { LeafNode leaf_node; } Update;                          (§12.1.2)
//   struct { uint32 removed; } Remove;                              (§12.1.3)
//   struct { PreSharedKeyID psk; } PreSharedKey;                    (§12.1.4)
//   struct { opaque group_id<V>; ProtocolVersion version;
//            CipherSuite cipher_suite; Extension extensions<V>; } ReInit;   (§12.1.5)
//   struct { opaque kem_output<V>; } ExternalInit;                  (§12.1.6)
//   struct { Extension extensions<V>; } GroupContextExtensions;     (§12.1.7)
//   struct {
//     ProposalType proposal_type;
//     select (Proposal.proposal_type) { case add: Add; case update: Update; ... };
//   } Proposal;
import { CodecError, encode, type Reader, type Writer } from '../../codec/index.js';
import { readExtensions, writeExtensions, type Extension } from './extension.js';
import { readKeyPackage, writeKeyPackage, type KeyPackage } from './keyPackage.js';
import { readLeafNode, writeLeafNode, type LeafNode } from './leafNode.js';
import { readPreSharedKeyID, writePreSharedKeyID, type PreSharedKeyID } from './preSharedKeyId.js';

/** ProposalType code points (RFC 9420 §17.4). */
export const ProposalType = {
  add: 1,
  update: 2,
  remove: 3,
  psk: 4,
  reinit: 5,
  external_init: 6,
  group_context_extensions: 7,
} as const;

export interface Add { keyPackage: KeyPackage }
export interface Update { leafNode: LeafNode }
export interface Remove { removed: number }
export interface PreSharedKey { psk: PreSharedKeyID }
export interface ReInit { groupId: Uint8Array; version: number; cipherSuite: number; extensions: Extension[] }
export interface ExternalInit { kemOutput: Uint8Array }
export interface GroupContextExtensions { extensions: Extension[] }

export type Proposal =
  | { proposalType: typeof ProposalType.add; add: Add }
  | { proposalType: typeof ProposalType.update; update: Update }
  | { proposalType: typeof ProposalType.remove; remove: Remove }
  | { proposalType: typeof ProposalType.psk; psk: PreSharedKey }
  | { proposalType: typeof ProposalType.reinit; reinit: ReInit }
  | { proposalType: typeof ProposalType.external_init; externalInit: ExternalInit }
  | { proposalType: typeof ProposalType.group_context_extensions; groupContextExtensions: GroupContextExtensions };

export function writeProposal(w: Writer, p: Proposal): void {
  w.u16(p.proposalType);
  switch (p.proposalType) {
    case ProposalType.add:
      writeKeyPackage(w, p.add.keyPackage);
      break;
    case ProposalType.update:
      writeLeafNode(w, p.update.leafNode);
      break;
    case ProposalType.remove:
      w.u32(p.remove.removed);
      break;
    case ProposalType.psk:
      writePreSharedKeyID(w, p.psk.psk);
      break;
    case ProposalType.reinit:
      w.varBytes(p.reinit.groupId);
      w.u16(p.reinit.version);
      w.u16(p.reinit.cipherSuite);
      writeExtensions(w, p.reinit.extensions);
      break;
    case ProposalType.external_init:
      w.varBytes(p.externalInit.kemOutput);
      break;
    case ProposalType.group_context_extensions:
      writeExtensions(w, p.groupContextExtensions.extensions);
      break;
  }
}

export function readProposal(r: Reader): Proposal {
  const t = r.u16('proposal_type');
  switch (t) {
    case ProposalType.add:
      return { proposalType: t, add: { keyPackage: readKeyPackage(r) } };
    case ProposalType.update:
      return { proposalType: t, update: { leafNode: readLeafNode(r) } };
    case ProposalType.remove:
      return { proposalType: t, remove: { removed: r.u32('removed') } };
    case ProposalType.psk:
      return { proposalType: t, psk: { psk: readPreSharedKeyID(r) } };
    case ProposalType.reinit: {
      const groupId = r.varBytes('group_id');
      const version = r.u16('version');
      const cipherSuite = r.u16('cipher_suite');
      return { proposalType: t, reinit: { groupId, version, cipherSuite, extensions: readExtensions(r) } };
    }
    case ProposalType.external_init:
      return { proposalType: t, externalInit: { kemOutput: r.varBytes('kem_output') } };
    case ProposalType.group_context_extensions:
      return { proposalType: t, groupContextExtensions: { extensions: readExtensions(r) } };
    default:
      throw new CodecError('invalid-value', `proposal_type ${t} is not supported`);
  }
}

export function encodeProposal(p: Proposal): Uint8Array {
  return encode((w) => writeProposal(w, p));
}

/** Name of a proposal type as the RFC spells it (for the facade and errors). */
export function proposalTypeName(t: number): string {
  for (const [k, v] of Object.entries(ProposalType)) if (v === t) return k;
  return `unknown(${t})`;
}

// Proposal bodies on their own (the messages vectors serialize them without proposal_type).
export const writeAdd = (w: Writer, a: Add): void => writeKeyPackage(w, a.keyPackage);
export const readAdd = (r: Reader): Add => ({ keyPackage: readKeyPackage(r) });
export const writeUpdate = (w: Writer, u: Update): void => writeLeafNode(w, u.leafNode);
export const readUpdate = (r: Reader): Update => ({ leafNode: readLeafNode(r) });
export const writeRemove = (w: Writer, x: Remove): void => void w.u32(x.removed);
export const readRemove = (r: Reader): Remove => ({ removed: r.u32('removed') });
export const writePreSharedKey = (w: Writer, p: PreSharedKey): void => writePreSharedKeyID(w, p.psk);
export const readPreSharedKey = (r: Reader): PreSharedKey => ({ psk: readPreSharedKeyID(r) });
export function writeReInit(w: Writer, p: ReInit): void {
  w.varBytes(p.groupId);
  w.u16(p.version);
  w.u16(p.cipherSuite);
  writeExtensions(w, p.extensions);
}
export function readReInit(r: Reader): ReInit {
  const groupId = r.varBytes('group_id');
  const version = r.u16('version');
  const cipherSuite = r.u16('cipher_suite');
  return { groupId, version, cipherSuite, extensions: readExtensions(r) };
}
export const writeExternalInit = (w: Writer, p: ExternalInit): void => void w.varBytes(p.kemOutput);
export const readExternalInit = (r: Reader): ExternalInit => ({ kemOutput: r.varBytes('kem_output') });
export const writeGroupContextExtensions = (w: Writer, p: GroupContextExtensions): void =>
  writeExtensions(w, p.extensions);
export const readGroupContextExtensions = (r: Reader): GroupContextExtensions => ({ extensions: readExtensions(r) });
