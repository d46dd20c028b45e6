// ProposalRef of a proposal the server sent (RFC 9420 §5.2):
//   ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)
//   RefHash(label, value) = Hash(RefHashInput { opaque label<V>; opaque value<V>; })
// For a PublicMessage from an external sender (no membership_tag), AuthenticatedContent
// { wire_format; FramedContent; FramedContentAuthData } is the MLSMessage without its version.
import { createHash } from 'node:crypto';
import { utf8 } from '../../shared/bytes/index.js';
import { Writer } from '../../shared/codec/index.js';

/** The hash of each cipher suite (RFC 9420 §17.1). */
function hashName(suite: number): string | undefined {
  if (suite >= 1 && suite <= 3) return 'sha256';
  if (suite >= 4 && suite <= 6) return 'sha512';
  if (suite === 7) return 'sha384';
  return undefined;
}

export function externalProposalRef(mlsMessage: Uint8Array, suite: number): Uint8Array | undefined {
  const name = hashName(suite);
  if (!name) return undefined;
  const input = new Writer().varBytes(utf8('MLS 1.0 Proposal Reference')).varBytes(mlsMessage.subarray(2)).finish();
  return new Uint8Array(createHash(name).update(input).digest());
}
