// GroupState: everything one member knows about one epoch of one group, as plain data (no class
// instances, no hidden fields), so it can be copied, compared, serialized and handed between
// threads. Operations take a state and return a new one; the input is never changed.
import { getCipherSuite, type CipherSuite, type CryptoBackend, type SuiteId } from '../crypto/index.js';
import type { EpochSecrets } from './keySchedule.js';
import type { RatchetTree } from './ratchetTree.js';
import type { SecretTree } from './secretTree.js';
import type { PathKeys } from './treekem.js';
import type { Sender } from './wire/framedContent.js';
import type { GroupContext } from './wire/groupContext.js';
import type { Proposal, ReInit } from './wire/proposal.js';

/** A proposal received (or sent) in this epoch, kept until a commit covers it (§12.4). */
export interface PendingProposal {
  ref: Uint8Array; // ProposalRef = RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)
  proposal: Proposal;
  sender: Sender;
}

/** Most previous epochs whose resumption_psk is kept (§8.6). */
export const MAX_RESUMPTION_PSKS = 8;

export interface GroupState {
  suite: SuiteId;
  groupContext: GroupContext;
  tree: RatchetTree;
  ownLeaf: number;
  signaturePrivateKey: Uint8Array;
  /** HPKE private keys for the own leaf and the nodes above it that this member knows. */
  keys: PathKeys;
  secrets: EpochSecrets;
  interimTranscriptHash: Uint8Array;
  confirmationTag: Uint8Array;
  secretTree: SecretTree;
  pendingProposals: PendingProposal[];
  resumptionPsks: { epoch: bigint; psk: Uint8Array }[];
  /** External PSKs this member may use (hex psk_id -> psk), §8.4. */
  externalPsks: Record<string, Uint8Array>;
  /** Leaf key pairs of this member's own Update proposals in this epoch (§12.1.2). */
  pendingUpdateKeys?: { publicKey: Uint8Array; privateKey: Uint8Array }[];
  /** Set when the last commit carried a ReInit (§11.2): this group takes no further messages. */
  reinit?: ReInit;
}

export interface CryptoOption {
  /** Crypto backend for this call; default: shared/crypto's default backend. */
  crypto?: CryptoBackend;
}

export function suiteFor(id: SuiteId, o?: CryptoOption): CipherSuite {
  return getCipherSuite(id, o?.crypto);
}

/** Every secret a state holds (private keys, epoch secrets, secret-tree and PSK material). */
export function stateSecrets(s: GroupState): Uint8Array[] {
  const out: Uint8Array[] = [s.signaturePrivateKey];
  for (const k of s.keys) out.push(k.privateKey);
  out.push(...Object.values(s.secrets));
  out.push(...Object.values(s.secretTree.nodes));
  for (const r of [...Object.values(s.secretTree.handshake), ...Object.values(s.secretTree.application)]) {
    out.push(r.secret);
    for (const kn of Object.values(r.skipped)) out.push(kn.key, kn.nonce);
  }
  for (const r of s.resumptionPsks) out.push(r.psk);
  out.push(...Object.values(s.externalPsks));
  for (const k of s.pendingUpdateKeys ?? []) out.push(k.privateKey);
  return out;
}
