// Group operations (RFC 9420 §11-§12): creating a group, KeyPackages, proposals, commits (by
// reference and by value, with an UpdatePath), processing handshake and application messages,
// Welcome, GroupInfo and external commits. Every function takes a GroupState and returns a new
// one; on any rule violation it throws MlsError and the caller's state is unchanged.
import { equal, toHex, wipe } from '../bytes/index.js';
import { CodecError, decode, encode } from '../codec/index.js';
import {
  decryptWithLabel,
  deriveSecret,
  isSuiteId,
  encryptWithLabel,
  makeKeyPackageRef,
  makeProposalRef,
  signWithLabel,
  verifyWithLabel,
  type CipherSuite,
  type SuiteId,
} from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import { protectPrivate, protectPublic, signFramedContent, unprotectPrivate, verifyFramedContent, verifyMembershipTag } from './framing.js';
import * as ks from './keySchedule.js';
import { validateAndApply, validateProposal, EXTERNAL_SENDER_PROPOSALS, type Applied, type ProposalWithSender } from './proposals.js';
import { addLeaf, leafAt, leafCount, treeFromNodeList, treeHash, type RatchetTree } from './ratchetTree.js';
import { randomBytes } from './random.js';
import { createSecretTree } from './secretTree.js';
import { MAX_RESUMPTION_PSKS, suiteFor, type CryptoOption, type GroupState, type PendingProposal } from './state.js';
import { confirmedTranscriptHash, interimTranscriptHash } from './transcript.js';
import * as tm from './treeMath.js';
import { applyUpdatePath, createUpdatePath, decryptUpdatePath, keysFromPathSecret, pruneKeys, withKeys, type LeafTemplate, type PathKeys } from './treekem.js';
import { MemberIndex, startTreeValidation, validateLeafNode, validateTree } from './validate.js';
import type { VerifiedLeaves } from './validate.js';
import { ProposalOrRefType, type Commit, type ProposalOrRef } from './wire/commit.js';
import { CredentialType, type Credential } from './wire/credential.js';
import { ExtensionType, type Extension } from './wire/extension.js';
import { decodeExternalPub, encodeExternalPub } from './wire/externalPub.js';
import { decodeExternalSenders } from './wire/externalSenders.js';
import {
  ContentType,
  encodeAuthenticatedContent,
  SenderType,
  type AuthenticatedContent,
  type FramedContent,
  type Sender,
} from './wire/framedContent.js';
import { encodeGroupContext, type GroupContext } from './wire/groupContext.js';
import { encodeGroupInfo, encodeGroupInfoTBS, readGroupInfo, type GroupInfo } from './wire/groupInfo.js';
import { encodeGroupSecrets, readGroupSecrets, type GroupSecrets } from './wire/groupSecrets.js';
import { encodeKeyPackage, encodeKeyPackageTBS, type KeyPackage } from './wire/keyPackage.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from './wire/leafNode.js';
import { decodeMLSMessage, encodeMLSMessage, type MLSMessage } from './wire/mlsMessage.js';
import type { Welcome } from './wire/welcome.js';
import { decodeRatchetTree, encodeRatchetTree, type NodeList } from './wire/node.js';
import { leafTreeNode } from './intern.js';
import { PSKType, ResumptionPSKUsage, type PreSharedKeyID } from './wire/preSharedKeyId.js';
import { writeCredential } from './wire/credential.js';
import { writeExtensions } from './wire/extension.js';
import { ProposalType, proposalTypeName, type Proposal, type ReInit } from './wire/proposal.js';
import type { PublicMessage } from './wire/publicMessage.js';
import { ProtocolVersion } from './wire/protocolVersion.js';
import { WireFormat } from './wire/wireFormat.js';
import type { Capabilities } from './wire/capabilities.js';

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Leaf nodes and KeyPackages (§7.2, §10)

export function defaultCapabilities(suite: SuiteId): Capabilities {
  return { versions: [ProtocolVersion.mls10], cipherSuites: [suite], extensions: [], proposals: [], credentials: [CredentialType.basic] };
}

/** Lifetime of KeyPackages we make: from an hour ago (clock skew) to 90 days ahead. */
export const KEY_PACKAGE_LIFETIME_SECONDS = 90n * 24n * 3600n;

function lifetimeNow() {
  const now = BigInt(Math.floor(Date.now() / 1000));
  return { notBefore: now - 3600n, notAfter: now + KEY_PACKAGE_LIFETIME_SECONDS };
}

export interface KeyPackagePrivate {
  initPrivateKey: Uint8Array;
  encryptionPrivateKey: Uint8Array;
  signaturePrivateKey: Uint8Array;
}

/** A KeyPackage (§10) for `credential`; returns the MLSMessage bytes and the private keys. */
export async function makeKeyPackage(
  suite: CipherSuite,
  credential: Credential,
  signature: { publicKey: Uint8Array; privateKey: Uint8Array },
): Promise<{ keyPackage: KeyPackage; private: KeyPackagePrivate }> {
  const init = await suite.hpke.generateKeyPair();
  const enc = await suite.hpke.generateKeyPair();
  const unsignedLeaf: LeafNode = {
    encryptionKey: enc.publicKey,
    signatureKey: signature.publicKey,
    credential,
    capabilities: defaultCapabilities(suite.id),
    leafNodeSource: LeafNodeSource.key_package,
    lifetime: lifetimeNow(),
    extensions: [],
    signature: EMPTY,
  };
  const leafSig = await signWithLabel(suite, signature.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(unsignedLeaf));
  const leafNode = { ...unsignedLeaf, signature: leafSig };
  const unsigned: KeyPackage = { version: ProtocolVersion.mls10, cipherSuite: suite.id, initKey: init.publicKey, leafNode, extensions: [], signature: EMPTY };
  const kpSig = await signWithLabel(suite, signature.privateKey, 'KeyPackageTBS', encodeKeyPackageTBS(unsigned));
  return {
    keyPackage: { ...unsigned, signature: kpSig },
    private: { initPrivateKey: init.privateKey, encryptionPrivateKey: enc.privateKey, signaturePrivateKey: signature.privateKey },
  };
}

// ---------------------------------------------------------------------------------------------
// Epoch transitions (§8)

function epochGroupContext(gc: GroupContext, treeHashValue: Uint8Array, confirmed: Uint8Array, extensions: Extension[]): GroupContext {
  return { ...gc, epoch: gc.epoch + 1n, treeHash: treeHashValue, confirmedTranscriptHash: confirmed, extensions };
}

/** Resolves PSK ids to values (§8.4): external from the state's store, resumption from kept epochs. */
export function resolvePsks(state: GroupState, ids: readonly PreSharedKeyID[], link?: ResumptionLink): { id: PreSharedKeyID; psk: Uint8Array }[] {
  return ids.map((id) => {
    if (link && id === link.id) return { id, psk: link.psk }; // the new group's own reinit/branch PSK (§11.2, §11.3)
    if (id.pskType === PSKType.external) {
      const psk = state.externalPsks[toHex(id.pskId)];
      if (!psk) throw new MlsError('unknown-psk', 'external PSK not known to this member (§8.4)');
      return { id, psk };
    }
    check(id.usage === ResumptionPSKUsage.application, 'psk-usage', 'only application resumption PSKs are allowed in a commit (§8.6)');
    check(equal(id.pskGroupId, state.groupContext.groupId), 'unknown-psk', 'resumption PSK from another group');
    if (id.pskEpoch === state.groupContext.epoch) return { id, psk: state.secrets.resumptionPsk };
    const r = state.resumptionPsks.find((x) => x.epoch === id.pskEpoch);
    if (!r) throw new MlsError('unknown-psk', `resumption PSK for epoch ${id.pskEpoch} not kept (§8.6)`);
    return { id, psk: r.psk };
  });
}

interface NextEpoch {
  state: GroupState;
  joinerSecret: Uint8Array;
  welcomeSecret: Uint8Array;
  pskSecret: Uint8Array;
}

/** Builds the state of the next epoch once the commit's confirmed transcript hash is known. */
async function nextEpoch(
  suite: CipherSuite,
  prev: GroupState,
  p: {
    tree: RatchetTree;
    extensions: Extension[];
    commitSecret: Uint8Array;
    initSecret: Uint8Array;
    psks: { id: PreSharedKeyID; psk: Uint8Array }[];
    confirmed: Uint8Array;
    ownLeaf: number;
    keys: PathKeys;
    signaturePrivateKey: Uint8Array;
    reinit?: ReInit;
  },
): Promise<NextEpoch & { confirmationTag: Uint8Array }> {
  const th = await treeHash(suite, p.tree);
  const gc = epochGroupContext(prev.groupContext, th, p.confirmed, p.extensions);
  const gcBytes = encodeGroupContext(gc);
  const joinerSecret = await ks.deriveJoinerSecret(suite, p.initSecret, p.commitSecret, gcBytes);
  const pskSecret = await ks.pskSecret(suite, p.psks);
  const { welcomeSecret, secrets } = await ks.deriveEpoch(suite, joinerSecret, pskSecret, gcBytes);
  const confirmationTag = await suite.hmac(secrets.confirmationKey, p.confirmed);
  const interim = await interimTranscriptHash(suite, p.confirmed, confirmationTag);
  const resumptionPsks = [{ epoch: prev.groupContext.epoch, psk: prev.secrets.resumptionPsk }, ...prev.resumptionPsks].slice(0, MAX_RESUMPTION_PSKS);
  const state: GroupState = {
    suite: prev.suite,
    groupContext: gc,
    tree: p.tree,
    ownLeaf: p.ownLeaf,
    signaturePrivateKey: p.signaturePrivateKey,
    keys: pruneKeys(p.tree, p.keys),
    secrets,
    interimTranscriptHash: interim,
    confirmationTag,
    secretTree: createSecretTree(secrets.encryptionSecret, leafCount(p.tree)),
    pendingProposals: [],
    resumptionPsks,
    externalPsks: prev.externalPsks,
  };
  if (p.reinit) state.reinit = p.reinit;
  return { state, joinerSecret, welcomeSecret, pskSecret, confirmationTag };
}

// ---------------------------------------------------------------------------------------------
// Group creation (§11)

export interface CreateGroupOptions extends CryptoOption {
  groupId: Uint8Array;
  suite: SuiteId;
  credential: Credential;
  signatureKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
  extensions?: Extension[];
  externalPsks?: { pskId: Uint8Array; psk: Uint8Array }[];
}

export async function createGroupState(o: CreateGroupOptions): Promise<GroupState> {
  const suite = suiteFor(o.suite, o);
  const enc = await suite.hpke.generateKeyPair();
  const caps = defaultCapabilities(o.suite);
  const extensions = o.extensions ?? [];
  const unsigned: LeafNode = {
    encryptionKey: enc.publicKey,
    signatureKey: o.signatureKeyPair.publicKey,
    credential: o.credential,
    capabilities: caps,
    leafNodeSource: LeafNodeSource.key_package,
    lifetime: lifetimeNow(),
    extensions: [],
    signature: EMPTY,
  };
  const leaf: LeafNode = { ...unsigned, signature: await signWithLabel(suite, o.signatureKeyPair.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(unsigned)) };
  const tree = treeFromNodeList([leafTreeNode(leaf)]);
  const gc: GroupContext = {
    version: ProtocolVersion.mls10,
    cipherSuite: o.suite,
    groupId: o.groupId.slice(),
    epoch: 0n,
    treeHash: await treeHash(suite, tree),
    confirmedTranscriptHash: EMPTY,
    extensions,
  };
  if (extensions.some((e) => e.extensionType === ExtensionType.external_senders)) {
    decodeExternalSenders(extensions.find((e) => e.extensionType === ExtensionType.external_senders)!.extensionData);
  }
  const gcBytes = encodeGroupContext(gc);
  // §11: fresh init_secret, all-zero commit_secret, no PSKs.
  const initSecret = randomBytes(suite.kdf.Nh);
  const joinerSecret = await ks.deriveJoinerSecret(suite, initSecret, ks.zeros(suite.kdf.Nh), gcBytes);
  const { welcomeSecret, secrets } = await ks.deriveEpoch(suite, joinerSecret, ks.zeros(suite.kdf.Nh), gcBytes);
  wipe(initSecret, joinerSecret, welcomeSecret);
  const confirmationTag = await suite.hmac(secrets.confirmationKey, EMPTY);
  const interim = await interimTranscriptHash(suite, EMPTY, confirmationTag);
  return {
    suite: o.suite,
    groupContext: gc,
    tree,
    ownLeaf: 0,
    signaturePrivateKey: o.signatureKeyPair.privateKey,
    keys: [{ node: 0, privateKey: enc.privateKey, publicKey: enc.publicKey }],
    secrets,
    interimTranscriptHash: interim,
    confirmationTag,
    secretTree: createSecretTree(secrets.encryptionSecret, 1),
    pendingProposals: [],
    resumptionPsks: [],
    externalPsks: Object.fromEntries((o.externalPsks ?? []).map((p) => [toHex(p.pskId), p.psk])),
  };
}

// ---------------------------------------------------------------------------------------------
// GroupInfo (§12.4.3)

export async function makeGroupInfo(suite: CipherSuite, state: GroupState, withTree: boolean, withExternalPub: boolean): Promise<GroupInfo> {
  const extensions: Extension[] = [];
  if (withTree) extensions.push({ extensionType: ExtensionType.ratchet_tree, extensionData: encodeRatchetTree(state.tree.nodes) });
  if (withExternalPub) {
    const kp = await ks.externalKeyPair(suite, state.secrets.externalSecret);
    wipe(kp.privateKey);
    extensions.push({ extensionType: ExtensionType.external_pub, extensionData: encodeExternalPub(kp.publicKey) });
  }
  const unsigned: GroupInfo = { groupContext: state.groupContext, extensions, confirmationTag: state.confirmationTag, signer: state.ownLeaf, signature: EMPTY };
  const signature = await signWithLabel(suite, state.signaturePrivateKey, 'GroupInfoTBS', encodeGroupInfoTBS(unsigned));
  return { ...unsigned, signature };
}

/** Tree for a GroupInfo: its ratchet_tree extension or the one given out of band (§12.4.3.3). */
function treeForGroupInfo(gi: GroupInfo, ratchetTree?: NodeList): RatchetTree {
  const ext = gi.extensions.find((e) => e.extensionType === ExtensionType.ratchet_tree);
  let nodes: NodeList | undefined = ratchetTree;
  if (ext) nodes = wrapCodec(() => decodeRatchetTree(ext.extensionData), 'ratchet_tree');
  check(nodes !== undefined, 'missing-ratchet-tree', 'no ratchet tree in the GroupInfo and none given (§12.4.3.3)');
  return treeFromNodeList(nodes);
}

async function verifyGroupInfoSignature(suite: CipherSuite, gi: GroupInfo, tree: RatchetTree): Promise<void> {
  const signer = leafAt(tree, gi.signer);
  check(signer !== undefined, 'group-info-signer', `GroupInfo signer ${gi.signer} is not a member (§12.4.3)`);
  const ok = await verifyWithLabel(suite, signer.signatureKey, 'GroupInfoTBS', encodeGroupInfoTBS(gi), gi.signature);
  check(ok, 'group-info-signature', 'GroupInfo signature does not verify (§12.4.3)');
}

function wrapCodec<T>(f: () => T, what: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof CodecError) throw new MlsError('malformed-message', `${what}: ${e.message}`);
    throw e;
  }
}

export function decodeMessage(bytes: Uint8Array): MLSMessage {
  return wrapCodec(() => decodeMLSMessage(bytes), 'MLSMessage');
}

// ---------------------------------------------------------------------------------------------
// Proposals (§12.1)

/** ProposalRef of a proposal carried in `ac` (§5.2). */
export function proposalRef(suite: CipherSuite, ac: AuthenticatedContent): Promise<Uint8Array> {
  return makeProposalRef(suite, encodeAuthenticatedContent(ac));
}

/** A proposal from this member as a PublicMessage; the returned state lists it as pending. */
export async function createProposal(state: GroupState, proposal: Proposal, o?: CryptoOption): Promise<{ message: Uint8Array; newState: GroupState }> {
  checkNotReinitialized(state);
  const suite = suiteFor(state.suite, o);
  const content: FramedContent = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: { senderType: SenderType.member, leafIndex: state.ownLeaf },
    authenticatedData: EMPTY,
    contentType: ContentType.proposal,
    proposal,
  };
  const pm = await protectPublic(suite, content, state.signaturePrivateKey, state.groupContext, state.secrets.membershipKey);
  const ref = await proposalRef(suite, { wireFormat: WireFormat.mls_public_message, content, auth: pm.auth });
  const message = encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: pm });
  return { message, newState: { ...state, pendingProposals: [...state.pendingProposals, { ref, proposal, sender: content.sender }] } };
}

/** An Update proposal (§12.1.2) with a fresh leaf key; the key pair waits in the state until committed. */
export async function createUpdateProposal(state: GroupState, o?: CryptoOption): Promise<{ message: Uint8Array; newState: GroupState }> {
  const suite = suiteFor(state.suite, o);
  const old = leafAt(state.tree, state.ownLeaf)!;
  const kp = await suite.hpke.generateKeyPair();
  const unsigned: LeafNode = {
    encryptionKey: kp.publicKey,
    signatureKey: old.signatureKey,
    credential: old.credential,
    capabilities: old.capabilities,
    leafNodeSource: LeafNodeSource.update,
    extensions: old.extensions,
    signature: EMPTY,
  };
  const signature = await signWithLabel(suite, state.signaturePrivateKey, 'LeafNodeTBS', encodeLeafNodeTBS(unsigned, state.groupContext.groupId, state.ownLeaf));
  const r = await createProposal(state, { proposalType: ProposalType.update, update: { leafNode: { ...unsigned, signature } } }, o);
  return { message: r.message, newState: { ...r.newState, pendingUpdateKeys: [...(state.pendingUpdateKeys ?? []), kp] } };
}

/** A Remove proposal signed by an external sender (§12.1.8): the DS/server side. */
export async function externalRemoveProposal(o: {
  suite: CipherSuite;
  groupId: Uint8Array;
  epoch: bigint;
  removedLeaf: number;
  senderIndex: number;
  signaturePrivateKey: Uint8Array;
}): Promise<Uint8Array> {
  const content: FramedContent = {
    groupId: o.groupId,
    epoch: o.epoch,
    sender: { senderType: SenderType.external, senderIndex: o.senderIndex },
    authenticatedData: EMPTY,
    contentType: ContentType.proposal,
    proposal: { proposalType: ProposalType.remove, remove: { removed: o.removedLeaf } },
  };
  const pm = await protectPublic(o.suite, content, o.signaturePrivateKey, undefined, undefined);
  return encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: pm });
}

// ---------------------------------------------------------------------------------------------
// Commits (§12.4)

export interface CommitResult {
  commit: Uint8Array;
  welcome?: Uint8Array;
  pendingState: GroupState;
  addedLeaves: number[];
  removedLeaves: number[];
}

export interface CommitOptions extends CryptoOption {
  /** Proposals by value (in addition to every pending proposal, included by reference). */
  proposals?: Proposal[];
  /** Include the ratchet tree in the Welcome's GroupInfo (default true). */
  ratchetTreeInWelcome?: boolean;
  /** Always send an UpdatePath (default true: fresh keys every epoch). */
  forcePath?: boolean;
  authenticatedData?: Uint8Array;
  /**
   * The first commit of a group made by reinitReinitializedGroup / branchGroup: injects the
   * resumption PSK (usage reinit or branch) that links it to the old group (§11.2, §11.3).
   */
  resumption?: ResumptionLink;
}

/** A resumption PSK with usage reinit or branch and its value, taken from the old group's state. */
export interface ResumptionLink {
  id: PreSharedKeyID;
  psk: Uint8Array;
}

function checkNotReinitialized(state: GroupState): void {
  check(state.reinit === undefined, 'group-reinitialized', 'the group was reinitialized by a ReInit commit; use the new group (§11.2)');
}

export async function createCommitState(state: GroupState, o: CommitOptions = {}): Promise<CommitResult> {
  checkNotReinitialized(state);
  const suite = suiteFor(state.suite, o);
  const self: Sender = { senderType: SenderType.member, leafIndex: state.ownLeaf };
  const byRef: ProposalWithSender[] = state.pendingProposals.map((p) => ({ proposal: p.proposal, sender: p.sender, ref: p.ref }));
  // §12.2: proposals that would make the commit invalid are dropped rather than committed
  // (e.g. a pending Remove of ourselves, or of a leaf also removed by value).
  const byValue: ProposalWithSender[] = (o.proposals ?? []).map((proposal) => ({ proposal, sender: self }));
  if (o.resumption) {
    check(state.groupContext.epoch === 0n, 'resumption-psk-usage', 'a reinit/branch PSK goes only into the first commit of the new group (§11.2, §11.3)');
    byValue.unshift({ proposal: { proposalType: ProposalType.psk, psk: { psk: o.resumption.id } }, sender: self });
  }
  const removedByValue = new Set(byValue.flatMap((p) => (p.proposal.proposalType === ProposalType.remove ? [p.proposal.remove.removed] : [])));
  const seenRemoved = new Set<number>(removedByValue);
  const afterRemoves = byRef.filter((p) => {
    if (p.proposal.proposalType !== ProposalType.remove) return true;
    const r = p.proposal.remove.removed;
    if (r === state.ownLeaf || seenRemoved.has(r) || !leafAt(state.tree, r)) return false;
    seenRemoved.add(r);
    return true;
  });
  const seenUpdated = new Set<number>();
  const candidates = afterRemoves.filter((p) => {
    if (p.proposal.proposalType !== ProposalType.update || p.sender.senderType !== SenderType.member) return true;
    const s = p.sender.leafIndex;
    if (s === state.ownLeaf || seenRemoved.has(s) || seenUpdated.has(s)) return false;
    seenUpdated.add(s);
    return true;
  });
  // Pending proposals that are no longer valid (e.g. an Add for a client that joined meanwhile) are
  // left out rather than making the whole commit invalid (§12.2).
  const usable: ProposalWithSender[] = [];
  const memberIndex = candidates.length > 1 ? MemberIndex.of(state.tree) : undefined;
  for (const p of candidates) {
    try {
      await validateProposal(suite, state.tree, state.groupContext, p.proposal, p.sender, memberIndex);
      usable.push(p);
    } catch (e) {
      if (!(e instanceof MlsError)) throw e;
    }
  }
  const list = [...usable, ...byValue];
  const applied = await validateAndApply(suite, state.tree, state.groupContext, list, self, false);
  const psks = resolvePsks(state, applied.psks, o.resumption);
  const ownLeafNode = leafAt(state.tree, state.ownLeaf)!;
  let tree = applied.tree;
  let commitSecret = ks.zeros(suite.kdf.Nh);
  let keys: PathKeys = state.keys;
  let pathSecrets = new Map<number, Uint8Array>();
  let path: Commit['path'];
  const confirmedPlaceholder = state.groupContext.confirmedTranscriptHash;
  if (applied.pathRequired || o.forcePath !== false) {
    const template: LeafTemplate = { signatureKey: ownLeafNode.signatureKey, credential: ownLeafNode.credential, capabilities: ownLeafNode.capabilities, extensions: ownLeafNode.extensions };
    const created = await createUpdatePath(
      suite,
      tree,
      state.ownLeaf,
      state.groupContext.groupId,
      state.signaturePrivateKey,
      template,
      applied.added.map((a) => a.leaf),
      async (t) => encodeGroupContext(epochGroupContext(state.groupContext, await treeHash(suite, t), confirmedPlaceholder, applied.extensions)),
    );
    tree = created.tree;
    commitSecret = created.commitSecret;
    keys = withKeys(pruneKeys(tree, state.keys), created.keys);
    pathSecrets = created.pathSecrets;
    path = created.updatePath;
  }
  const proposalsOrRefs: ProposalOrRef[] = list.map((p) =>
    p.ref ? { type: ProposalOrRefType.reference, reference: p.ref } : { type: ProposalOrRefType.proposal, proposal: p.proposal },
  );
  const commit: Commit = path ? { proposals: proposalsOrRefs, path } : { proposals: proposalsOrRefs };
  const content: FramedContent = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: self,
    authenticatedData: o.authenticatedData ?? EMPTY,
    contentType: ContentType.commit,
    commit,
  };
  const signature = await signFramedContent(suite, state.signaturePrivateKey, WireFormat.mls_public_message, content, state.groupContext);
  const confirmed = await confirmedTranscriptHash(suite, state.interimTranscriptHash, WireFormat.mls_public_message, content, signature);
  const next = await nextEpoch(suite, state, {
    tree,
    extensions: applied.extensions,
    commitSecret,
    initSecret: state.secrets.initSecret,
    psks,
    confirmed,
    ownLeaf: state.ownLeaf,
    keys,
    signaturePrivateKey: state.signaturePrivateKey,
    ...(applied.reinit ? { reinit: applied.reinit } : {}),
  });
  const pm = await protectPublic(suite, content, state.signaturePrivateKey, state.groupContext, state.secrets.membershipKey, next.confirmationTag, signature);
  const commitBytes = encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: pm });
  let welcome: Uint8Array | undefined;
  if (applied.added.length > 0) {
    welcome = await makeWelcome(suite, next.state, next, applied, pathSecrets, psks.map((p) => p.id), o.ratchetTreeInWelcome !== false);
  }
  wipe(commitSecret, next.joinerSecret, next.welcomeSecret, next.pskSecret, ...pathSecrets.values());
  const result: CommitResult = { commit: commitBytes, pendingState: next.state, addedLeaves: applied.added.map((a) => a.leaf), removedLeaves: applied.removed };
  if (welcome) result.welcome = welcome;
  return result;
}

async function makeWelcome(
  suite: CipherSuite,
  newState: GroupState,
  next: NextEpoch,
  applied: Applied,
  pathSecrets: Map<number, Uint8Array>,
  pskIds: PreSharedKeyID[],
  withTree: boolean,
): Promise<Uint8Array> {
  const gi = await makeGroupInfo(suite, newState, withTree, true);
  const { key, nonce } = await ks.welcomeKeyNonce(suite, next.welcomeSecret);
  const encryptedGroupInfo = await suite.aead.seal(key, nonce, EMPTY, encodeGroupInfo(gi));
  wipe(key, nonce);
  const secrets = [];
  for (const a of applied.added) {
    const gs: GroupSecrets = { joinerSecret: next.joinerSecret, psks: pskIds };
    if (pathSecrets.size > 0) {
      const lca = tm.commonAncestor(2 * newState.ownLeaf, 2 * a.leaf);
      const ps = pathSecrets.get(lca);
      if (ps) gs.pathSecret = ps;
    }
    const ref = await makeKeyPackageRef(suite, encodeKeyPackage(a.keyPackage));
    const ct = await encryptWithLabel(suite, a.keyPackage.initKey, 'Welcome', encryptedGroupInfo, encodeGroupSecrets(gs));
    secrets.push({ newMember: ref, encryptedGroupSecrets: ct });
  }
  return encodeMLSMessage({
    version: ProtocolVersion.mls10,
    wireFormat: WireFormat.mls_welcome,
    welcome: { cipherSuite: suite.id, secrets, encryptedGroupInfo },
  });
}

// ---------------------------------------------------------------------------------------------
// Processing messages (§6, §12.4.2)

export type ProcessResult =
  | { kind: 'commit'; newState: GroupState; removedLeaves: number[]; addedLeaves: number[]; selfRemoved: boolean; sender: Sender }
  | { kind: 'proposal'; newState: GroupState; proposalType: string; removedLeaf?: number; sender: Sender; proposal: Proposal }
  | { kind: 'application'; newState: GroupState; data: Uint8Array; sender: Sender };

export async function processMessageState(state: GroupState, bytes: Uint8Array, o?: CryptoOption): Promise<ProcessResult> {
  checkNotReinitialized(state);
  const suite = suiteFor(state.suite, o);
  const msg = decodeMessage(bytes);
  let ac: AuthenticatedContent;
  let st = state;
  const gc = state.groupContext;
  if (msg.wireFormat === WireFormat.mls_public_message) {
    const pm = msg.publicMessage;
    checkHeader(state, pm.content.groupId, pm.content.epoch);
    ac = { wireFormat: WireFormat.mls_public_message, content: pm.content, auth: pm.auth };
    await verifyPublic(suite, state, pm);
    if (pm.content.contentType === ContentType.application) throw new MlsError('application-as-public', 'application data in a PublicMessage (§6.2)');
  } else if (msg.wireFormat === WireFormat.mls_private_message) {
    const m = msg.privateMessage;
    checkHeader(state, m.groupId, m.epoch);
    const r = await unprotectPrivate(suite, state.secretTree, state.secrets.senderDataSecret, m);
    const sender = r.content.sender as { leafIndex: number };
    const leaf = leafAt(state.tree, sender.leafIndex);
    check(leaf !== undefined, 'unknown-sender', `sender leaf ${sender.leafIndex} is blank (§6.3.2)`);
    await verifyFramedContent(suite, leaf.signatureKey, WireFormat.mls_private_message, r.content, r.auth, gc);
    ac = { wireFormat: WireFormat.mls_private_message, content: r.content, auth: r.auth };
    st = { ...state, secretTree: r.secretTree };
  } else {
    throw new MlsError('wrong-wire-format', `wire format ${msg.wireFormat} is not a group message`);
  }
  const c = ac.content;
  if (c.contentType === ContentType.application) {
    return { kind: 'application', newState: st, data: c.applicationData, sender: c.sender };
  }
  if (c.contentType === ContentType.proposal) {
    await validateProposal(suite, state.tree, state.groupContext, c.proposal, c.sender);
    const ref = await proposalRef(suite, ac);
    const pending: PendingProposal = { ref, proposal: c.proposal, sender: c.sender };
    // The same proposal delivered twice (e.g. echoed back by the DS) is kept once.
    const known = st.pendingProposals.some((p) => equal(p.ref, ref));
    const out: ProcessResult = {
      kind: 'proposal',
      newState: known ? st : { ...st, pendingProposals: [...st.pendingProposals, pending] },
      proposalType: proposalTypeName(c.proposal.proposalType),
      sender: c.sender,
      proposal: c.proposal,
    };
    if (c.proposal.proposalType === ProposalType.remove) out.removedLeaf = c.proposal.remove.removed;
    return out;
  }
  return processCommit(suite, st, ac);
}

function checkHeader(state: GroupState, groupId: Uint8Array, epoch: bigint): void {
  check(equal(groupId, state.groupContext.groupId), 'wrong-group', 'message is for another group (§6)');
  check(epoch === state.groupContext.epoch, 'wrong-epoch', `message epoch ${epoch}, group epoch ${state.groupContext.epoch} (§6)`);
}

/** Signature (and membership tag) checks for a PublicMessage by sender type (§6.1, §6.2). */
async function verifyPublic(suite: CipherSuite, state: GroupState, pm: PublicMessage): Promise<void> {
  const c = pm.content;
  const gc = state.groupContext;
  switch (c.sender.senderType) {
    case SenderType.member: {
      const leaf = leafAt(state.tree, c.sender.leafIndex);
      check(leaf !== undefined, 'unknown-sender', `sender leaf ${c.sender.leafIndex} is blank (§6)`);
      await verifyMembershipTag(suite, pm, state.secrets.membershipKey, gc);
      await verifyFramedContent(suite, leaf.signatureKey, WireFormat.mls_public_message, c, pm.auth, gc);
      return;
    }
    case SenderType.external: {
      const ext = gc.extensions.find((e) => e.extensionType === ExtensionType.external_senders);
      check(ext !== undefined, 'unknown-external-sender', 'group has no external_senders extension (§12.1.8.1)');
      const senders = wrapCodec(() => decodeExternalSenders(ext.extensionData), 'external_senders');
      const s = senders[c.sender.senderIndex];
      check(s !== undefined, 'unknown-external-sender', `external sender index ${c.sender.senderIndex} out of range (§12.1.8.1)`);
      check(c.contentType === ContentType.proposal, 'external-sender-content', 'external senders may only send proposals (§12.1.8)');
      check(EXTERNAL_SENDER_PROPOSALS.includes(c.proposal.proposalType), 'external-sender-proposal', `proposal type ${c.proposal.proposalType} not allowed from an external sender (§12.1.8)`);
      await verifyFramedContent(suite, s.signatureKey, WireFormat.mls_public_message, c, pm.auth);
      return;
    }
    case SenderType.new_member_proposal: {
      check(c.contentType === ContentType.proposal && c.proposal.proposalType === ProposalType.add, 'new-member-proposal', 'new_member_proposal must carry an Add (§12.1.8)');
      await verifyFramedContent(suite, c.proposal.add.keyPackage.leafNode.signatureKey, WireFormat.mls_public_message, c, pm.auth);
      return;
    }
    case SenderType.new_member_commit: {
      check(c.contentType === ContentType.commit && c.commit.path !== undefined, 'external-commit-path', 'external commit needs a path (§12.4.3.2)');
      await verifyFramedContent(suite, c.commit.path.leafNode.signatureKey, WireFormat.mls_public_message, c, pm.auth, gc);
      return;
    }
  }
}

async function processCommit(suite: CipherSuite, state: GroupState, ac: AuthenticatedContent): Promise<ProcessResult> {
  const c = ac.content as Extract<FramedContent, { contentType: 3 }>;
  const commit = c.commit;
  const sender = c.sender;
  const external = sender.senderType === SenderType.new_member_commit;
  check(sender.senderType === SenderType.member || external, 'commit-sender', 'commits come from members or new members (§12.4)');
  if (sender.senderType === SenderType.member) {
    check(sender.leafIndex !== state.ownLeaf, 'own-commit', 'this is our own commit: adopt the pendingState from createCommit instead (§14)');
  }
  // Resolve proposals (§12.4.2); pending proposals looked up by reference in a map.
  const list: ProposalWithSender[] = [];
  const pendingByRef = new Map(state.pendingProposals.map((x) => [toHex(x.ref), x]));
  for (const p of commit.proposals) {
    if (p.type === ProposalOrRefType.proposal) list.push({ proposal: p.proposal, sender });
    else {
      check(!external, 'external-commit-reference', 'external commits carry proposals by value (§12.4.3.2)');
      const found = pendingByRef.get(toHex(p.reference));
      check(found !== undefined, 'unknown-proposal-ref', 'commit references a proposal this member has not received (§12.4.2)');
      list.push({ proposal: found.proposal, sender: found.sender, ref: found.ref });
    }
  }
  const applied = await validateAndApply(suite, state.tree, state.groupContext, list, sender, external);
  check(!applied.pathRequired || commit.path !== undefined, 'path-required', 'commit without path covers proposals that require one (§12.4)');
  const removedSelf = applied.removed.includes(state.ownLeaf);
  let tree = applied.tree;
  let senderLeaf: number;
  if (external) {
    const r = addLeaf(tree, commit.path!.leafNode);
    tree = r.tree;
    senderLeaf = r.leaf;
  } else {
    senderLeaf = (sender as { leafIndex: number }).leafIndex;
  }
  if (removedSelf) {
    // §12.4.2: a removed member cannot follow the group further; report it and keep the old state.
    return { kind: 'commit', newState: state, removedLeaves: applied.removed, addedLeaves: applied.added.map((a) => a.leaf), selfRemoved: true, sender };
  }
  let commitSecret = ks.zeros(suite.kdf.Nh);
  let keys = state.keys;
  if (applied.updated.includes(state.ownLeaf)) {
    // Our own Update proposal was committed: its leaf private key becomes our leaf key (§12.1.2).
    const leaf = leafAt(tree, state.ownLeaf)!;
    const kp = (state.pendingUpdateKeys ?? []).find((k) => equal(k.publicKey, leaf.encryptionKey));
    check(kp !== undefined, 'unknown-own-update', 'commit applies an Update for our leaf that we did not propose');
    keys = withKeys(keys, [{ node: 2 * state.ownLeaf, privateKey: kp.privateKey, publicKey: kp.publicKey }]);
  }
  if (commit.path) {
    await validateLeafNode(suite, commit.path.leafNode, tree, { ...state.groupContext, extensions: applied.extensions }, {
      groupId: state.groupContext.groupId,
      leafIndex: senderLeaf,
      source: LeafNodeSource.commit,
    });
    // validateLeafNode just verified the leaf's LeafNodeTBS signature for (group_id, senderLeaf):
    // applyUpdatePath does not verify the same signature a second time.
    // A tree other than the state's is this commit's own copy (proposals applied or a leaf added).
    tree = await applyUpdatePath(suite, tree, senderLeaf, commit.path, state.groupContext.groupId, true, tree !== state.tree);
    const exclude = applied.added.map((a) => a.leaf);
    const context = encodeGroupContext(epochGroupContext(state.groupContext, await treeHash(suite, tree), state.groupContext.confirmedTranscriptHash, applied.extensions));
    const r = await decryptUpdatePath(suite, tree, state.ownLeaf, senderLeaf, commit.path, pruneKeys(tree, keys), exclude, context);
    commitSecret = r.commitSecret;
    keys = r.keys;
    wipe(r.pathSecret);
  }
  let initSecret = state.secrets.initSecret;
  if (external) {
    const ext = await ks.externalKeyPair(suite, state.secrets.externalSecret);
    try {
      initSecret = await suite.hpke.exportReceiver(ext.privateKey, applied.externalInit!.kemOutput, EMPTY, ks.EXTERNAL_INIT_LABEL, suite.kdf.Nh);
    } catch {
      throw new MlsError('external-init', 'ExternalInit kem_output does not decapsulate (§8.3)');
    } finally {
      wipe(ext.privateKey);
    }
  }
  const psks = resolvePsks(state, applied.psks);
  const confirmed = await confirmedTranscriptHash(suite, state.interimTranscriptHash, ac.wireFormat, c, ac.auth.signature);
  const next = await nextEpoch(suite, state, {
    tree,
    extensions: applied.extensions,
    commitSecret,
    initSecret,
    psks,
    confirmed,
    ownLeaf: state.ownLeaf,
    keys,
    signaturePrivateKey: state.signaturePrivateKey,
    ...(applied.reinit ? { reinit: applied.reinit } : {}),
  });
  check(ac.auth.confirmationTag !== undefined && equal(next.confirmationTag, ac.auth.confirmationTag), 'bad-confirmation-tag', 'confirmation tag does not verify (§8.1)');
  wipe(commitSecret, next.joinerSecret, next.welcomeSecret, next.pskSecret);
  const addedLeaves = applied.added.map((a) => a.leaf);
  if (external) addedLeaves.push(senderLeaf);
  return { kind: 'commit', newState: next.state, removedLeaves: applied.removed, addedLeaves, selfRemoved: false, sender };
}

// ---------------------------------------------------------------------------------------------
// Application messages (§15)

export async function createApplicationMessageState(state: GroupState, data: Uint8Array, o?: CryptoOption & { authenticatedData?: Uint8Array; paddingLength?: number }): Promise<{ message: Uint8Array; newState: GroupState }> {
  checkNotReinitialized(state);
  const suite = suiteFor(state.suite, o);
  const content: FramedContent = {
    groupId: state.groupContext.groupId,
    epoch: state.groupContext.epoch,
    sender: { senderType: SenderType.member, leafIndex: state.ownLeaf },
    authenticatedData: o?.authenticatedData ?? EMPTY,
    contentType: ContentType.application,
    applicationData: data,
  };
  const signature = await signFramedContent(suite, state.signaturePrivateKey, WireFormat.mls_private_message, content, state.groupContext);
  const r = await protectPrivate(suite, state.secretTree, state.secrets.senderDataSecret, content.groupId, content.epoch, state.ownLeaf, content.authenticatedData, content, { signature }, o?.paddingLength ?? 0);
  const message = encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_private_message, privateMessage: r.message });
  return { message, newState: { ...state, secretTree: r.secretTree } };
}

// ---------------------------------------------------------------------------------------------
// Joining by Welcome (§12.4.3.1)

export interface JoinWelcomeOptions extends CryptoOption {
  welcome: Uint8Array | MLSMessage;
  keyPackage: KeyPackage;
  private: KeyPackagePrivate;
  ratchetTree?: NodeList;
  externalPsks?: { pskId: Uint8Array; psk: Uint8Array }[];
  /**
   * This client's states in other groups (or earlier in the same group), for resumption PSKs the
   * Welcome names (§8.6): the old group of a reinitialization (§11.2) or branch (§11.3).
   */
  resumptionStates?: GroupState[];
}

/** The resumption_psk of `id`'s group and epoch from the states given (current or kept epochs, §8.6). */
function resumptionPskFrom(states: readonly GroupState[], id: Extract<PreSharedKeyID, { pskType: 2 }>): { state: GroupState; psk: Uint8Array } | undefined {
  for (const st of states) {
    if (!equal(st.groupContext.groupId, id.pskGroupId)) continue;
    if (st.groupContext.epoch === id.pskEpoch) return { state: st, psk: st.secrets.resumptionPsk };
    const kept = st.resumptionPsks.find((r) => r.epoch === id.pskEpoch);
    if (kept) return { state: st, psk: kept.psk };
  }
  return undefined;
}

/**
 * §11.2 / §11.3 checks on a new group linked to an old one by a reinit or branch resumption PSK,
 * once the GroupInfo is known: epoch 1; reinit: group id, version, cipher suite and extensions as
 * the ReInit proposal the old group committed, the PSK from the epoch that commit created; branch:
 * version and cipher suite of the old group, every member of the new group matching a member of
 * the old one (same credential).
 */
function checkResumptionLink(id: Extract<PreSharedKeyID, { pskType: 2 }>, old: GroupState, gc: GroupContext, tree: RatchetTree): void {
  check(gc.epoch === 1n, 'resumption-epoch', `a group created by ${id.usage === ResumptionPSKUsage.reinit ? 'reinit' : 'branch'} starts at epoch 1, this Welcome is for epoch ${gc.epoch} (§11.2, §11.3)`);
  if (id.usage === ResumptionPSKUsage.reinit) {
    const r = old.reinit;
    check(r !== undefined && old.groupContext.epoch === id.pskEpoch, 'reinit-mismatch', 'the reinit PSK must come from the epoch created by the commit covering the ReInit (§11.2)');
    check(
      equal(gc.groupId, r.groupId) && gc.version === r.version && gc.cipherSuite === r.cipherSuite && equal(encode((w) => writeExtensions(w, gc.extensions)), encode((w) => writeExtensions(w, r.extensions))),
      'reinit-mismatch',
      'the new group differs from the ReInit proposal (group id, version, cipher suite or extensions, §11.2)',
    );
    return;
  }
  check(gc.version === old.groupContext.version && gc.cipherSuite === old.groupContext.cipherSuite, 'branch-mismatch', 'a branch keeps the version and cipher suite of the old group (§11.3)');
  const oldMembers = new Set<string>();
  for (let l = 0; l < leafCount(old.tree); l++) {
    const leaf = leafAt(old.tree, l);
    if (leaf) oldMembers.add(toHex(encode((w) => writeCredential(w, leaf.credential))));
  }
  for (let l = 0; l < leafCount(tree); l++) {
    const leaf = leafAt(tree, l);
    if (leaf) check(oldMembers.has(toHex(encode((w) => writeCredential(w, leaf.credential)))), 'branch-member-mismatch', `member ${l} of the branch has no matching member in the old group (§11.3)`);
  }
}

/**
 * Opens a Welcome (§12.4.3.1): finds our EncryptedGroupSecrets by KeyPackageRef, decrypts the
 * GroupSecrets with the init key, derives psk_secret and welcome_secret, decrypts the GroupInfo.
 */
export async function openWelcome(
  suite: CipherSuite,
  w: Welcome,
  keyPackage: KeyPackage,
  initPrivateKey: Uint8Array,
  externalPsks: Record<string, Uint8Array>,
  resumptionPsk?: (id: Extract<PreSharedKeyID, { pskType: 2 }>) => Uint8Array | undefined,
): Promise<{ groupSecrets: GroupSecrets; groupInfo: GroupInfo; pskSecret: Uint8Array }> {
  check(w.cipherSuite === keyPackage.cipherSuite, 'welcome-suite', 'Welcome cipher suite differs from the KeyPackage (§12.4.3.1)');
  const ref = await makeKeyPackageRef(suite, encodeKeyPackage(keyPackage));
  const entry = w.secrets.find((s) => equal(s.newMember, ref));
  check(entry !== undefined, 'welcome-not-for-us', 'no EncryptedGroupSecrets for this KeyPackage (§12.4.3.1)');
  let gsBytes: Uint8Array;
  try {
    gsBytes = await decryptWithLabel(suite, initPrivateKey, 'Welcome', w.encryptedGroupInfo, entry.encryptedGroupSecrets.kemOutput, entry.encryptedGroupSecrets.ciphertext);
  } catch {
    throw new MlsError('welcome-decrypt', 'GroupSecrets do not decrypt (§12.4.3.1)');
  }
  const gs = wrapCodec(() => decode(gsBytes, readGroupSecrets, 'GroupSecrets'), 'GroupSecrets');
  wipe(gsBytes);
  // §12.4.3.1: at most one resumption PSK with usage reinit or branch.
  const links = gs.psks.filter((id) => id.pskType === PSKType.resumption && (id.usage === ResumptionPSKUsage.reinit || id.usage === ResumptionPSKUsage.branch));
  check(links.length <= 1, 'psk-resumption-count', 'a Welcome may carry only one reinit/branch resumption PSK (§12.4.3.1)');
  const psks = gs.psks.map((id) => {
    if (id.pskType === PSKType.external) {
      const psk = externalPsks[toHex(id.pskId)];
      if (!psk) throw new MlsError('unknown-psk', 'Welcome needs an external PSK this client lacks (§12.4.3.1)');
      return { id, psk };
    }
    const psk = resumptionPsk?.(id);
    if (!psk) throw new MlsError('unknown-psk', `Welcome needs the resumption PSK of epoch ${id.pskEpoch} of a group this client has no state for (§12.4.3.1, §8.6)`);
    return { id, psk };
  });
  const pskSecret = await ks.pskSecret(suite, psks);
  const prk = await suite.kdf.extract(gs.joinerSecret, pskSecret);
  const welcomeSecret = await deriveSecret(suite, prk, 'welcome');
  wipe(prk);
  const { key, nonce } = await ks.welcomeKeyNonce(suite, welcomeSecret);
  let giBytes: Uint8Array;
  try {
    giBytes = await suite.aead.open(key, nonce, EMPTY, w.encryptedGroupInfo);
  } catch {
    throw new MlsError('welcome-decrypt', 'GroupInfo does not decrypt (§12.4.3.1)');
  } finally {
    wipe(key, nonce, welcomeSecret);
  }
  const gi = wrapCodec(() => decode(giBytes, readGroupInfo, 'GroupInfo'), 'GroupInfo');
  return { groupSecrets: gs, groupInfo: gi, pskSecret };
}

export async function joinWelcomeState(o: JoinWelcomeOptions): Promise<GroupState> {
  const msg = o.welcome instanceof Uint8Array ? decodeMessage(o.welcome) : o.welcome;
  check(msg.wireFormat === WireFormat.mls_welcome, 'wrong-wire-format', 'not a Welcome');
  const w = msg.welcome;
  check(w.cipherSuite === o.keyPackage.cipherSuite, 'welcome-suite', 'Welcome cipher suite differs from the KeyPackage (§12.4.3.1)');
  const suite = suiteFor(w.cipherSuite as SuiteId, o);
  const externalPsks: Record<string, Uint8Array> = Object.fromEntries((o.externalPsks ?? []).map((p) => [toHex(p.pskId), p.psk]));
  const resumptionStates = o.resumptionStates ?? [];
  let link: { id: Extract<PreSharedKeyID, { pskType: 2 }>; old: GroupState } | undefined;
  const { groupSecrets: gs, groupInfo: gi, pskSecret } = await openWelcome(suite, w, o.keyPackage, o.private.initPrivateKey, externalPsks, (id) => {
    const found = resumptionPskFrom(resumptionStates, id);
    if (found && (id.usage === ResumptionPSKUsage.reinit || id.usage === ResumptionPSKUsage.branch)) link = { id, old: found.state };
    return found?.psk;
  });
  const gc = gi.groupContext;
  check(gc.cipherSuite === w.cipherSuite, 'welcome-suite', 'GroupInfo cipher suite differs from the Welcome (§12.4.3.1)');
  const tree = treeForGroupInfo(gi, o.ratchetTree);
  await verifyGroupInfoSignature(suite, gi, tree);
  await validateTree(suite, tree, gc);
  if (link) checkResumptionLink(link.id, link.old, gc, tree);
  // Find our leaf (§12.4.3.1: the leaf equal to our KeyPackage's leaf node).
  let own = -1;
  for (let l = 0; l < leafCount(tree); l++) {
    const leaf = leafAt(tree, l);
    if (leaf && equal(leaf.signatureKey, o.keyPackage.leafNode.signatureKey) && equal(leaf.encryptionKey, o.keyPackage.leafNode.encryptionKey)) {
      own = l;
      break;
    }
  }
  check(own >= 0, 'welcome-no-own-leaf', 'our KeyPackage leaf is not in the tree (§12.4.3.1)');
  let keys: PathKeys = [{ node: 2 * own, privateKey: o.private.encryptionPrivateKey, publicKey: o.keyPackage.leafNode.encryptionKey }];
  if (gs.pathSecret) {
    const node = tm.commonAncestor(2 * own, 2 * gi.signer);
    keys = withKeys(keys, await keysFromPathSecret(suite, tree, own, node, gs.pathSecret));
  }
  const gcBytes = encodeGroupContext(gc);
  const { welcomeSecret: ws2, secrets } = await ks.deriveEpoch(suite, gs.joinerSecret, pskSecret, gcBytes);
  wipe(ws2, pskSecret);
  const tag = await suite.hmac(secrets.confirmationKey, gc.confirmedTranscriptHash);
  check(equal(tag, gi.confirmationTag), 'bad-confirmation-tag', 'GroupInfo confirmation tag does not verify (§12.4.3.1)');
  const interim = await interimTranscriptHash(suite, gc.confirmedTranscriptHash, gi.confirmationTag);
  return {
    suite: w.cipherSuite as SuiteId,
    groupContext: gc,
    tree,
    ownLeaf: own,
    signaturePrivateKey: o.private.signaturePrivateKey,
    keys,
    secrets,
    interimTranscriptHash: interim,
    confirmationTag: gi.confirmationTag,
    secretTree: createSecretTree(secrets.encryptionSecret, leafCount(tree)),
    pendingProposals: [],
    resumptionPsks: [],
    externalPsks,
  };
}

// ---------------------------------------------------------------------------------------------
// Reinitialization (§11.2) and subgroup branching (§11.3): a new group whose first commit injects
// the old group's resumption_psk (usage reinit / branch) and adds the members by Welcome.

export interface NewGroupFromOldOptions extends CryptoOption {
  /** KeyPackages of the members to add (for reinit: in the new cipher suite). */
  keyPackages: KeyPackage[];
  /** This member's signature key pair in the new group (default: the one it has in the old group; required when the signature scheme changes). */
  signatureKeyPair?: { publicKey: Uint8Array; privateKey: Uint8Array };
  ratchetTreeInWelcome?: boolean;
}

/** §11.2 step 3: the new group a committed ReInit asks for, with the reinit PSK of the old group's current epoch. */
export async function reinitGroupState(old: GroupState, o: NewGroupFromOldOptions): Promise<CommitResult> {
  const r = old.reinit;
  check(r !== undefined, 'not-reinitialized', 'the old group has not committed a ReInit proposal (§11.2)');
  check(r.version === ProtocolVersion.mls10, 'reinit-version', `ReInit asks for protocol version ${r.version}, only mls10 is supported`);
  check(isSuiteId(r.cipherSuite), 'unsupported-cipher-suite', `ReInit asks for cipher suite ${r.cipherSuite}, not one of RFC 9420 §17.1`);
  return newGroupFromOld(old, ResumptionPSKUsage.reinit, { groupId: r.groupId, suite: r.cipherSuite as SuiteId, extensions: r.extensions }, o);
}

/** §11.3: a subgroup of the old group's members, same version, cipher suite and extensions, linked by a branch PSK. */
export async function branchGroupState(old: GroupState, o: NewGroupFromOldOptions & { groupId: Uint8Array }): Promise<CommitResult> {
  checkNotReinitialized(old);
  return newGroupFromOld(old, ResumptionPSKUsage.branch, { groupId: o.groupId, suite: old.suite, extensions: old.groupContext.extensions }, o);
}

async function newGroupFromOld(
  old: GroupState,
  usage: number,
  params: { groupId: Uint8Array; suite: SuiteId; extensions: Extension[] },
  o: NewGroupFromOldOptions,
): Promise<CommitResult> {
  const oldSuite = suiteFor(old.suite, o);
  const newSuite = suiteFor(params.suite, o);
  const ownLeaf = leafAt(old.tree, old.ownLeaf)!;
  let signatureKeyPair = o.signatureKeyPair;
  if (!signatureKeyPair) {
    check(oldSuite.signature.name === newSuite.signature.name, 'signature-key-required', 'the new cipher suite uses another signature scheme: pass signatureKeyPair');
    signatureKeyPair = { publicKey: ownLeaf.signatureKey, privateKey: old.signaturePrivateKey };
  }
  const fresh = await createGroupState({
    groupId: params.groupId,
    suite: params.suite,
    credential: ownLeaf.credential,
    signatureKeyPair,
    extensions: params.extensions,
    ...(o.crypto !== undefined ? { crypto: o.crypto } : {}),
  });
  const resumption: ResumptionLink = {
    id: { pskType: PSKType.resumption, usage, pskGroupId: old.groupContext.groupId.slice(), pskEpoch: old.groupContext.epoch, pskNonce: randomBytes(newSuite.kdf.Nh) },
    psk: old.secrets.resumptionPsk.slice(),
  };
  try {
    const commitOptions: CommitOptions = {
      proposals: o.keyPackages.map((keyPackage) => ({ proposalType: ProposalType.add, add: { keyPackage } })),
      resumption,
      ...(o.crypto !== undefined ? { crypto: o.crypto } : {}),
      ...(o.ratchetTreeInWelcome === false ? { ratchetTreeInWelcome: false } : {}),
    };
    return await createCommitState(fresh, commitOptions);
  } finally {
    wipe(resumption.psk);
  }
}

// ---------------------------------------------------------------------------------------------
// Joining by external commit (§12.4.3.2)

export interface JoinExternalOptions extends CryptoOption {
  groupInfo: Uint8Array | MLSMessage;
  credential: Credential;
  signatureKeyPair: { publicKey: Uint8Array; privateKey: Uint8Array };
  ratchetTree?: NodeList;
  /** Leaf of an earlier incarnation of this client to remove in the same commit (resync). */
  removeLeaf?: number;
  authenticatedData?: Uint8Array;
  /** Leaf signatures this joiner verified on an earlier attempt (validate.ts VerifiedLeaves). */
  verifiedLeaves?: VerifiedLeaves;
}

export async function joinExternalState(o: JoinExternalOptions): Promise<{ commit: Uint8Array; pendingState: GroupState }> {
  const msg = o.groupInfo instanceof Uint8Array ? decodeMessage(o.groupInfo) : o.groupInfo;
  check(msg.wireFormat === WireFormat.mls_group_info, 'wrong-wire-format', 'not a GroupInfo');
  const gi = msg.groupInfo;
  const gc = gi.groupContext;
  const suite = suiteFor(gc.cipherSuite as SuiteId, o);
  const tree0 = treeForGroupInfo(gi, o.ratchetTree);
  await verifyGroupInfoSignature(suite, gi, tree0);
  // The leaf signatures (§12.4.3.1) are verified while the UpdatePath is built: on a tree with
  // blank parents that path is encrypted to thousands of leaves on this thread, while the
  // signatures are verified on the thread pool. Nothing is returned before they have all
  // verified, and a failure in between waits for them first, so a bad signature is still the
  // error reported (as when validateTree ran first); on a bad signature the new secrets are wiped.
  const { signatures } = await startTreeValidation(suite, tree0, gc, o.verifiedLeaves);
  let built: Awaited<ReturnType<typeof buildExternalPath>>;
  try {
    built = await buildExternalPath(suite, o, gi, tree0);
  } catch (e) {
    await signatures;
    throw e;
  }
  const { initSecret, proposals, self, applied, own, created } = built;
  try {
    await signatures;
  } catch (e) {
    wipe(initSecret, created.commitSecret, ...created.pathSecrets.values(), ...created.keys.map((k) => k.privateKey));
    throw e;
  }
  const commit: Commit = { proposals: proposals.map((proposal) => ({ type: ProposalOrRefType.proposal, proposal })), path: created.updatePath };
  const content: FramedContent = {
    groupId: gc.groupId,
    epoch: gc.epoch,
    sender: self,
    authenticatedData: o.authenticatedData ?? EMPTY,
    contentType: ContentType.commit,
    commit,
  };
  const signature = await signFramedContent(suite, o.signatureKeyPair.privateKey, WireFormat.mls_public_message, content, gc);
  const interimBefore = await interimTranscriptHash(suite, gc.confirmedTranscriptHash, gi.confirmationTag);
  const confirmed = await confirmedTranscriptHash(suite, interimBefore, WireFormat.mls_public_message, content, signature);
  // A minimal "previous" state so nextEpoch can carry the fields it copies.
  const prev: GroupState = {
    suite: gc.cipherSuite as SuiteId,
    groupContext: gc,
    tree: tree0,
    ownLeaf: own,
    signaturePrivateKey: o.signatureKeyPair.privateKey,
    keys: [],
    secrets: { ...emptySecrets(), resumptionPsk: EMPTY },
    interimTranscriptHash: interimBefore,
    confirmationTag: gi.confirmationTag,
    secretTree: createSecretTree(ks.zeros(suite.kdf.Nh), 1),
    pendingProposals: [],
    resumptionPsks: [],
    externalPsks: {},
  };
  const next = await nextEpoch(suite, prev, {
    tree: created.tree,
    extensions: applied.extensions,
    commitSecret: created.commitSecret,
    initSecret,
    psks: [],
    confirmed,
    ownLeaf: own,
    keys: created.keys,
    signaturePrivateKey: o.signatureKeyPair.privateKey,
  });
  const pm = await protectPublic(suite, content, o.signatureKeyPair.privateKey, gc, undefined, next.confirmationTag, signature);
  wipe(initSecret, created.commitSecret, next.joinerSecret, next.welcomeSecret, next.pskSecret, ...created.pathSecrets.values());
  const pendingState: GroupState = { ...next.state, resumptionPsks: [] };
  return { commit: encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_public_message, publicMessage: pm }), pendingState };
}

/**
 * The external joiner's ExternalInit (and optional Remove), provisional tree and UpdatePath
 * (§12.4.3.2), built on the GroupInfo's tree while its leaf signatures may still be verifying.
 */
async function buildExternalPath(suite: CipherSuite, o: JoinExternalOptions, gi: GroupInfo, tree0: RatchetTree) {
  const gc = gi.groupContext;
  const epExt = gi.extensions.find((e) => e.extensionType === ExtensionType.external_pub);
  check(epExt !== undefined, 'missing-external-pub', 'GroupInfo has no external_pub (§12.4.3.2)');
  const externalPub = wrapCodec(() => decodeExternalPub(epExt.extensionData), 'external_pub');
  const { kemOutput, secret: initSecret } = await suite.hpke.exportSender(externalPub, EMPTY, ks.EXTERNAL_INIT_LABEL, suite.kdf.Nh);
  const self: Sender = { senderType: SenderType.new_member_commit };
  const proposals: Proposal[] = [{ proposalType: ProposalType.external_init, externalInit: { kemOutput } }];
  if (o.removeLeaf !== undefined) proposals.push({ proposalType: ProposalType.remove, remove: { removed: o.removeLeaf } });
  const list = proposals.map((proposal) => ({ proposal, sender: self }));
  const applied = await validateAndApply(suite, tree0, gc, list, self, true);
  // Our leaf goes where an Add would put it; the UpdatePath then fills it in (§12.4.3.2).
  const placeholder: LeafNode = {
    encryptionKey: EMPTY,
    signatureKey: o.signatureKeyPair.publicKey,
    credential: o.credential,
    capabilities: defaultCapabilities(gc.cipherSuite as SuiteId),
    leafNodeSource: LeafNodeSource.commit,
    parentHash: EMPTY,
    extensions: [],
    signature: EMPTY,
  };
  const { tree: withLeaf, leaf: own } = addLeaf(applied.tree, placeholder);
  const created = await createUpdatePath(
    suite,
    withLeaf,
    own,
    gc.groupId,
    o.signatureKeyPair.privateKey,
    { signatureKey: o.signatureKeyPair.publicKey, credential: o.credential, capabilities: placeholder.capabilities, extensions: [] },
    [],
    async (t) => encodeGroupContext(epochGroupContext(gc, await treeHash(suite, t), gc.confirmedTranscriptHash, applied.extensions)),
  );
  return { initSecret, proposals, self, applied, own, created };
}

function emptySecrets(): ks.EpochSecrets {
  return {
    senderDataSecret: EMPTY,
    encryptionSecret: EMPTY,
    exporterSecret: EMPTY,
    epochAuthenticator: EMPTY,
    externalSecret: EMPTY,
    confirmationKey: EMPTY,
    membershipKey: EMPTY,
    resumptionPsk: EMPTY,
    initSecret: EMPTY,
  };
}

