// ProposalOrRef and Commit (RFC 9420 §12.4).
//   enum { reserved(0), proposal(1), reference(2), (255) } ProposalOrRefType;
//   struct {
//     ProposalOrRefType type;
//     select (ProposalOrRef.type) { case proposal: Proposal proposal; case reference: ProposalRef reference; };
//   } ProposalOrRef;
//   struct { ProposalOrRef proposals<V>; optional<UpdatePath> path; } Commit;
import { CodecError, type Reader, type Writer } from '../../codec/index.js';
import { readProposal, writeProposal, type Proposal } from './proposal.js';
import { readUpdatePath, writeUpdatePath, type UpdatePath } from './updatePath.js';

export const ProposalOrRefType = { proposal: 1, reference: 2 } as const;

export type ProposalOrRef =
  | { type: typeof ProposalOrRefType.proposal; proposal: Proposal }
  | { type: typeof ProposalOrRefType.reference; reference: Uint8Array };

export interface Commit {
  proposals: ProposalOrRef[];
  path?: UpdatePath;
}

export function writeProposalOrRef(w: Writer, p: ProposalOrRef): void {
  w.u8(p.type);
  if (p.type === ProposalOrRefType.proposal) writeProposal(w, p.proposal);
  else w.varBytes(p.reference);
}
export function readProposalOrRef(r: Reader): ProposalOrRef {
  const type = r.u8('ProposalOrRefType');
  if (type === ProposalOrRefType.proposal) return { type, proposal: readProposal(r) };
  if (type === ProposalOrRefType.reference) return { type, reference: r.varBytes('reference') };
  throw new CodecError('invalid-value', `ProposalOrRefType ${type}`);
}

export function writeCommit(w: Writer, c: Commit): void {
  w.varVector(c.proposals, writeProposalOrRef);
  w.optional(c.path, writeUpdatePath);
}
export function readCommit(r: Reader): Commit {
  const proposals = r.varVector(readProposalOrRef, 'proposals');
  const path = r.optional(readUpdatePath, 'path');
  return path === undefined ? { proposals } : { proposals, path };
}
