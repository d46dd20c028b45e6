// shared/mls: an RFC 9420 (MLS 1.0) client library: portable (Node, browsers, workers), plain-data
// state, every operation state-in/state-out.
//
// Usage (all async; see docs/interfaces.md):
//   const keys  = await generateSignatureKeyPair(1);
//   let alice   = await createGroup({ groupId, identity: utf8('alice'), signatureKeyPair: keys,
//                                    externalSenders: [{ signatureKey: serverPub, identity: utf8('ds') }] });
//   const gi    = await groupInfo(alice);                  // MLSMessage(GroupInfo) + ratchet_tree + external_pub
//   const { commit, pendingState } = await joinExternal({ groupInfo: gi, identity: utf8('bob') });
//   // the DS accepts the commit for this epoch and fans it out; then:
//   let bob     = pendingState;                            // the committer adopts its pendingState (§14)
//   alice       = (await processMessage(alice, commit)).newState;   // everyone else processes it
//   // server: createExternalRemoveProposal({ groupId, epoch, removedLeaf, senderIndex: 0, signaturePrivateKey })
//   // members: processMessage(proposal) -> kind 'proposal'; a member then createCommit(state) which
//   //          includes every pending proposal by reference.
//   const key   = await exporter(alice, 'SFrame 1.0 Base Key', new Uint8Array(0), 16);
// Rules: createCommit never changes `state`; adopt `pendingState` only when the DS confirms. Any
// invalid message throws MlsError (`code` names the rule, e.g. 'wrong-epoch', 'bad-signature',
// 'bad-membership-tag', 'bad-confirmation-tag', 'unknown-proposal-ref', 'commit-removes-committer',
// 'malformed-message') and the caller keeps its old state. Crypto: the backend passed as
// `crypto` (per call) or set once with setDefaultCryptoBackend (e.g. the node:crypto provider).
// Handshake messages are sent as PublicMessage, application data as PrivateMessage
// (createApplicationMessage). After adopting a new state, discardState(old, new) wipes the old
// epoch's secrets. Joining by Welcome: createKeyPackage -> (committer) createCommit({ add }) ->
// joinWelcome({ welcome, keyPackagePrivate }). serializeState/deserializeState hold secrets.
import { assertBigInt, assertBytes, assertInt } from '../bytes/index.js';
import { getCipherSuite, isSuiteId, type CryptoBackend, type SuiteId } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import {
  createApplicationMessageState,
  createCommitState,
  createGroupState,
  createProposal as createProposalState,
  createUpdateProposal,
  decodeMessage,
  externalRemoveProposal,
  joinExternalState,
  joinWelcomeState,
  makeGroupInfo,
  makeKeyPackage,
  processMessageState,
  reinitGroupState,
  branchGroupState,
  type KeyPackagePrivate,
  type ProcessResult,
} from './group.js';
import { mlsExporter } from './keySchedule.js';
import { leafAt, leafCount, nonBlankLeaves } from './ratchetTree.js';
import { stateSecrets, type CryptoOption, type GroupState } from './state.js';
import { deserializeGroupState, serializeGroupState } from './stateCodec.js';
import { CredentialType, type Credential } from './wire/credential.js';
import { ExtensionType, type Extension } from './wire/extension.js';
import { encodeExternalSenders } from './wire/externalSenders.js';
import { decodeRatchetTree, encodeRatchetTree } from './wire/node.js';
import { encodeMLSMessage } from './wire/mlsMessage.js';
import { ProposalType, type Proposal } from './wire/proposal.js';
import { ProtocolVersion } from './wire/protocolVersion.js';
import { WireFormat } from './wire/wireFormat.js';
import type { VerifiedLeaves } from './validate.js';
import type { KeyPackage } from './wire/keyPackage.js';

export { MlsError } from './errors.js';
export { setDefaultCryptoBackend } from '../crypto/index.js';
export { setPublicValueSharing, sharedValueCounts } from './intern.js';
export { VerifiedLeaves } from './validate.js';
export type { GroupState } from './state.js';
export type { Sender } from './wire/framedContent.js';
export type { SuiteId, CryptoBackend } from '../crypto/index.js';

const DEFAULT_SUITE: SuiteId = 1;

export interface SignatureKeyPair {
  publicKey: Uint8Array;
  privateKey: Uint8Array;
}

function basic(identity: Uint8Array): Credential {
  assertBytes(identity, 'identity');
  return { credentialType: CredentialType.basic, identity: identity.slice() };
}

function suiteArg(suite: unknown): SuiteId {
  if (suite === undefined) return DEFAULT_SUITE;
  assertInt(suite, 'suite', 1, 7);
  return suite as SuiteId;
}

export async function generateSignatureKeyPair(suite?: SuiteId, o?: CryptoOption): Promise<SignatureKeyPair> {
  return getCipherSuite(suiteArg(suite), o?.crypto).signature.generateKeyPair();
}

export async function createGroup(o: {
  groupId: Uint8Array;
  identity: Uint8Array;
  suite?: SuiteId;
  signatureKeyPair?: SignatureKeyPair;
  externalSenders?: { signatureKey: Uint8Array; identity: Uint8Array }[];
  crypto?: CryptoBackend;
}): Promise<GroupState> {
  assertBytes(o.groupId, 'groupId');
  const suite = suiteArg(o.suite);
  const signatureKeyPair = o.signatureKeyPair ?? (await generateSignatureKeyPair(suite, o));
  const extensions: Extension[] = [];
  if (o.externalSenders && o.externalSenders.length > 0) {
    for (const [i, s] of o.externalSenders.entries()) assertBytes(s.signatureKey, `externalSenders[${i}].signatureKey`);
    extensions.push({
      extensionType: ExtensionType.external_senders,
      extensionData: encodeExternalSenders(o.externalSenders.map((s) => ({ signatureKey: s.signatureKey, credential: basic(s.identity) }))),
    });
  }
  const opts: Parameters<typeof createGroupState>[0] = { groupId: o.groupId, suite, credential: basic(o.identity), signatureKeyPair, extensions };
  if (o.crypto !== undefined) opts.crypto = o.crypto;
  return createGroupState(opts);
}

/** MLSMessage(GroupInfo) with the ratchet_tree and external_pub extensions (§12.4.3). */
export async function groupInfo(state: GroupState, o?: CryptoOption): Promise<Uint8Array> {
  const gi = await makeGroupInfo(getCipherSuite(state.suite, o?.crypto), state, true, true);
  return encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo: gi });
}

export async function joinExternal(o: {
  groupInfo: Uint8Array;
  identity: Uint8Array;
  signatureKeyPair?: SignatureKeyPair;
  /** Leaf of this client's earlier incarnation to remove in the same commit (rejoin after a crash). */
  removeLeaf?: number;
  /** Keep one across the attempts of one join: leaves already verified are not verified again. */
  verifiedLeaves?: VerifiedLeaves;
  crypto?: CryptoBackend;
}): Promise<{ commit: Uint8Array; pendingState: GroupState }> {
  assertBytes(o.groupInfo, 'groupInfo');
  const msg = decodeMessage(o.groupInfo);
  check(msg.wireFormat === WireFormat.mls_group_info, 'wrong-wire-format', 'groupInfo is not an MLSMessage(GroupInfo)');
  const suite = msg.groupInfo.groupContext.cipherSuite;
  // §17.1: only the seven registered suites are implemented; say so before any key is made.
  check(isSuiteId(suite), 'unsupported-cipher-suite', `GroupInfo uses cipher suite ${suite}, not one of 1..7`);
  const signatureKeyPair = o.signatureKeyPair ?? (await generateSignatureKeyPair(suite, o));
  const opts: Parameters<typeof joinExternalState>[0] = { groupInfo: msg, credential: basic(o.identity), signatureKeyPair };
  if (o.removeLeaf !== undefined) opts.removeLeaf = o.removeLeaf;
  if (o.verifiedLeaves !== undefined) opts.verifiedLeaves = o.verifiedLeaves;
  if (o.crypto !== undefined) opts.crypto = o.crypto;
  return asMlsError(() => joinExternalState(opts));
}

/**
 * A commit covering every pending proposal (by reference) plus Adds for `add` (KeyPackage
 * MLSMessages) and Removes for `remove` (leaf indices). `state` is untouched: adopt
 * `pendingState` when the DS confirms the commit (§14).
 */
export async function createCommit(
  state: GroupState,
  o: { add?: Uint8Array[]; remove?: number[]; reinit?: { groupId: Uint8Array; suite?: SuiteId }; ratchetTreeInWelcome?: boolean; crypto?: CryptoBackend } = {},
): Promise<{ commit: Uint8Array; welcome?: Uint8Array; pendingState: GroupState; addedLeaves: number[]; removedLeaves: number[] }> {
  const proposals: Proposal[] = [];
  if (o.reinit !== undefined) {
    // §12.1.5: ReInit alone in the commit; same extensions as now, this or another cipher suite.
    assertBytes(o.reinit.groupId, 'reinit.groupId');
    check(!o.add?.length && !o.remove?.length, 'reinit-not-alone', 'a ReInit proposal must be the only proposal (§12.2)');
    const cipherSuite = o.reinit.suite === undefined ? state.suite : suiteArg(o.reinit.suite);
    proposals.push({ proposalType: ProposalType.reinit, reinit: { groupId: o.reinit.groupId.slice(), version: ProtocolVersion.mls10, cipherSuite, extensions: state.groupContext.extensions } });
  }
  for (const [i, kpBytes] of (o.add ?? []).entries()) {
    assertBytes(kpBytes, `add[${i}]`);
    const m = decodeMessage(kpBytes);
    check(m.wireFormat === WireFormat.mls_key_package, 'wrong-wire-format', `add[${i}] is not an MLSMessage(KeyPackage)`);
    proposals.push({ proposalType: ProposalType.add, add: { keyPackage: m.keyPackage } });
  }
  for (const [i, leaf] of (o.remove ?? []).entries()) {
    assertInt(leaf, `remove[${i}]`, 0, 0xffffffff);
    proposals.push({ proposalType: ProposalType.remove, remove: { removed: leaf } });
  }
  const opts: Parameters<typeof createCommitState>[1] = { proposals };
  if (o.ratchetTreeInWelcome === false) opts.ratchetTreeInWelcome = false;
  if (o.crypto !== undefined) opts.crypto = o.crypto;
  return createCommitState(state, opts);
}

/** Processes a PublicMessage or PrivateMessage for the current epoch. Throws MlsError; `state` is untouched. */
export async function processMessage(state: GroupState, message: Uint8Array, o?: CryptoOption): Promise<ProcessResult> {
  assertBytes(message, 'message');
  return asMlsError(() => processMessageState(state, message, o));
}

/**
 * Message-driven failures surface as MlsError: a CodecError as 'malformed-message', a
 * CryptoError (e.g. a malformed public key inside the message) as 'crypto-error', anything
 * else thrown while processing input as 'invalid-message'. The original error is the `cause`.
 */
async function asMlsError<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof MlsError) throw e;
    const name = (e as Error)?.name;
    const code = name === 'CodecError' ? 'malformed-message' : name === 'CryptoError' ? 'crypto-error' : 'invalid-message';
    const err = new MlsError(code, (e as Error)?.message ?? String(e));
    (err as { cause?: unknown }).cause = e;
    throw err;
  }
}

/** Application data as a PrivateMessage (§6.3, §15). */
export async function createApplicationMessage(state: GroupState, data: Uint8Array, o?: CryptoOption): Promise<{ message: Uint8Array; newState: GroupState }> {
  assertBytes(data, 'data');
  return createApplicationMessageState(state, data, o);
}

/** A proposal from this member (e.g. Remove of another leaf), as a PublicMessage. */
export async function proposeRemove(state: GroupState, removedLeaf: number, o?: CryptoOption): Promise<{ message: Uint8Array; newState: GroupState }> {
  assertInt(removedLeaf, 'removedLeaf', 0, 0xffffffff);
  return createProposalState(state, { proposalType: ProposalType.remove, remove: { removed: removedLeaf } }, o);
}

/** An Update proposal refreshing this member's leaf key (§12.1.2), as a PublicMessage. */
export async function proposeUpdate(state: GroupState, o?: CryptoOption): Promise<{ message: Uint8Array; newState: GroupState }> {
  return createUpdateProposal(state, o);
}

/** Private part of a KeyPackage: keep it secret until joinWelcome uses it. */
export interface KeyPackageSecrets extends KeyPackagePrivate {
  /** The KeyPackage (MLSMessage bytes) these keys belong to. */
  keyPackage: Uint8Array;
}

export async function createKeyPackage(o: { identity: Uint8Array; suite?: SuiteId; signatureKeyPair?: SignatureKeyPair; crypto?: CryptoBackend }): Promise<{ keyPackage: Uint8Array; private: KeyPackageSecrets }> {
  const suiteId = suiteArg(o.suite);
  const suite = getCipherSuite(suiteId, o.crypto);
  const sig = o.signatureKeyPair ?? (await suite.signature.generateKeyPair());
  const r = await makeKeyPackage(suite, basic(o.identity), sig);
  const keyPackage = encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_key_package, keyPackage: r.keyPackage });
  return { keyPackage, private: { ...r.private, keyPackage } };
}

/**
 * Joins from a Welcome. `resumptionStates`: this client's states in the groups whose resumption PSKs
 * the Welcome may name, e.g. its state in the old group of a reinitialization or branch (§11.2,
 * §11.3); the new group is then checked against the old one.
 */
export async function joinWelcome(o: { welcome: Uint8Array; keyPackagePrivate: KeyPackageSecrets; ratchetTree?: Uint8Array; resumptionStates?: GroupState[]; crypto?: CryptoBackend }): Promise<GroupState> {
  assertBytes(o.welcome, 'welcome');
  const kpMsg = decodeMessage(o.keyPackagePrivate.keyPackage);
  check(kpMsg.wireFormat === WireFormat.mls_key_package, 'wrong-wire-format', 'keyPackagePrivate.keyPackage is not a KeyPackage');
  const opts: Parameters<typeof joinWelcomeState>[0] = { welcome: o.welcome, keyPackage: kpMsg.keyPackage, private: o.keyPackagePrivate };
  if (o.ratchetTree) opts.ratchetTree = decodeRatchetTree(o.ratchetTree);
  if (o.resumptionStates) opts.resumptionStates = o.resumptionStates;
  if (o.crypto !== undefined) opts.crypto = o.crypto;
  return asMlsError(() => joinWelcomeState(opts));
}

function keyPackagesArg(list: Uint8Array[]): KeyPackage[] {
  return list.map((kpBytes, i) => {
    assertBytes(kpBytes, `keyPackages[${i}]`);
    const m = decodeMessage(kpBytes);
    check(m.wireFormat === WireFormat.mls_key_package, 'wrong-wire-format', `keyPackages[${i}] is not an MLSMessage(KeyPackage)`);
    return m.keyPackage;
  });
}

/**
 * §11.2: after a commit covering a ReInit (`state.reinit` set, e.g. by createCommit({ reinit })),
 * creates the new group it describes, adds the members by KeyPackage (in the new cipher suite) and
 * links it with a reinit resumption PSK; the members join with joinWelcome({ ..., resumptionStates:
 * [their old state] }). Returns the new group's epoch-1 state and the Welcome.
 */
export async function reinitGroup(
  state: GroupState,
  o: { keyPackages: Uint8Array[]; signatureKeyPair?: SignatureKeyPair; crypto?: CryptoBackend },
): Promise<{ welcome?: Uint8Array; pendingState: GroupState; addedLeaves: number[] }> {
  const r = await reinitGroupState(state, { keyPackages: keyPackagesArg(o.keyPackages), ...(o.signatureKeyPair ? { signatureKeyPair: o.signatureKeyPair } : {}), ...(o.crypto !== undefined ? { crypto: o.crypto } : {}) });
  return { ...(r.welcome ? { welcome: r.welcome } : {}), pendingState: r.pendingState, addedLeaves: r.addedLeaves };
}

/**
 * §11.3: a new group `groupId` of some of this group's members (their fresh KeyPackages), same
 * version, cipher suite and extensions, linked by a branch resumption PSK of the current epoch.
 */
export async function branchGroup(
  state: GroupState,
  o: { groupId: Uint8Array; keyPackages: Uint8Array[]; crypto?: CryptoBackend },
): Promise<{ welcome?: Uint8Array; pendingState: GroupState; addedLeaves: number[] }> {
  assertBytes(o.groupId, 'groupId');
  const r = await branchGroupState(state, { groupId: o.groupId.slice(), keyPackages: keyPackagesArg(o.keyPackages), ...(o.crypto !== undefined ? { crypto: o.crypto } : {}) });
  return { ...(r.welcome ? { welcome: r.welcome } : {}), pendingState: r.pendingState, addedLeaves: r.addedLeaves };
}

/** Server side: a Remove proposal signed as external sender `senderIndex` (§12.1.8.1). */
export async function createExternalRemoveProposal(o: {
  groupId: Uint8Array;
  epoch: bigint;
  removedLeaf: number;
  senderIndex: number;
  signaturePrivateKey: Uint8Array;
  suite?: SuiteId;
  crypto?: CryptoBackend;
}): Promise<Uint8Array> {
  assertBytes(o.groupId, 'groupId');
  assertBigInt(o.epoch, 'epoch');
  assertInt(o.removedLeaf, 'removedLeaf', 0, 0xffffffff);
  assertInt(o.senderIndex, 'senderIndex', 0, 0xffffffff);
  assertBytes(o.signaturePrivateKey, 'signaturePrivateKey');
  return externalRemoveProposal({ ...o, suite: getCipherSuite(suiteArg(o.suite), o.crypto) });
}

/** The ratchet_tree extension value (optional<Node> ratchet_tree<V>) for joiners who get the tree out of band. */
export function ratchetTree(state: GroupState): Uint8Array {
  return encodeRatchetTree(state.tree.nodes);
}

export function epoch(state: GroupState): bigint {
  return state.groupContext.epoch;
}
export function epochAuthenticator(state: GroupState): Uint8Array {
  return state.secrets.epochAuthenticator.slice();
}
/** MLS-Exporter(label, context, length) of the current epoch (§8.5). */
export function exporter(state: GroupState, label: string, context: Uint8Array, length: number, o?: CryptoOption): Promise<Uint8Array> {
  if (typeof label !== 'string') throw new TypeError('label must be a string');
  assertBytes(context, 'context');
  assertInt(length, 'length', 1, 0xffff);
  return mlsExporter(getCipherSuite(state.suite, o?.crypto), state.secrets.exporterSecret, label, context, length);
}
export function roster(state: GroupState): { leafIndex: number; identity: Uint8Array }[] {
  return nonBlankLeaves(state.tree).map((l) => {
    const c = leafAt(state.tree, l)!.credential;
    return { leafIndex: l, identity: c.credentialType === CredentialType.basic ? c.identity : new Uint8Array(0) };
  });
}
/** Number of members (non-blank leaves), without building the roster. */
export function memberCount(state: GroupState): number {
  const nodes = state.tree.nodes;
  let n = 0;
  for (let i = 0; i < nodes.length; i += 2) if (nodes[i]) n++;
  return n;
}
/** Members on leaves below `leaf` (a committer's rank among the members), without building the roster. */
export function membersBelow(state: GroupState, leaf: number): number {
  const nodes = state.tree.nodes;
  const end = Math.min(nodes.length, 2 * leaf);
  let n = 0;
  for (let i = 0; i < end; i += 2) if (nodes[i]) n++;
  return n;
}
/** Leaf count of the (full, left-balanced) tree: the SFrame sender-index space. */
export function treeSize(state: GroupState): number {
  return leafCount(state.tree);
}
export function ownLeafIndex(state: GroupState): number {
  return state.ownLeaf;
}
export function groupId(state: GroupState): Uint8Array {
  return state.groupContext.groupId.slice();
}
export function suiteOf(state: GroupState): SuiteId {
  return state.suite;
}
export function pendingProposalCount(state: GroupState): number {
  return state.pendingProposals.length;
}
/**
 * Wipes (fills with zeros) every secret of `old` that `current` does not share: call it after
 * adopting a new state (processMessage result, confirmed pendingState) to delete the previous
 * epoch's keys (RFC 9420 §9.2 deletion schedule, forward secrecy). `old` is unusable afterwards.
 */
export function discardState(old: GroupState, current?: GroupState): void {
  const keep = new Set(current ? stateSecrets(current) : []);
  for (const s of stateSecrets(old)) if (!keep.has(s)) s.fill(0);
}

export function serializeState(state: GroupState): Uint8Array {
  return serializeGroupState(state);
}
export function deserializeState(bytes: Uint8Array): GroupState {
  assertBytes(bytes, 'bytes');
  try {
    return deserializeGroupState(bytes);
  } catch (e) {
    if (e instanceof MlsError) throw e;
    throw new MlsError('bad-state', (e as Error).message);
  }
}

export type { ProcessResult };
