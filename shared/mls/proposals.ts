// Proposal list validation (RFC 9420 §12.2) and application (§12.3): GroupContextExtensions first,
// then Update, Remove, Add; PreSharedKey, ExternalInit and ReInit do not change the tree.
import { toHex } from '../bytes/index.js';
import type { CipherSuite } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import { addLeavesInPlace, leafAt, nonBlankLeaves, removeLeafInPlace, truncate, updateLeafInPlace, withNodes, type RatchetTree } from './ratchetTree.js';
import { keyString, MemberIndex, supportsExtension, validateKeyPackage, validateLeafNode } from './validate.js';
import { SenderType, type Sender } from './wire/framedContent.js';
import type { Extension } from './wire/extension.js';
import { decodeExternalSenders } from './wire/externalSenders.js';
import { ExtensionType } from './wire/extension.js';
import type { GroupContext } from './wire/groupContext.js';
import type { KeyPackage } from './wire/keyPackage.js';
import { LeafNodeSource, type LeafNode } from './wire/leafNode.js';
import { decodeRequiredCapabilities } from './wire/requiredCapabilities.js';
import type { PreSharedKeyID } from './wire/preSharedKeyId.js';
import { PSKType, ResumptionPSKUsage, writePreSharedKeyID } from './wire/preSharedKeyId.js';
import { encode } from '../codec/index.js';
import { ProposalType, type ExternalInit, type Proposal, type ReInit } from './wire/proposal.js';

export interface ProposalWithSender {
  proposal: Proposal;
  sender: Sender;
  ref?: Uint8Array; // set when included by reference
}

export interface Applied {
  tree: RatchetTree;
  extensions: Extension[];
  added: { leaf: number; keyPackage: KeyPackage }[];
  removed: number[];
  updated: number[];
  psks: PreSharedKeyID[];
  externalInit?: ExternalInit;
  reinit?: ReInit;
  /** §12.4: a path is required unless every proposal is Add, PreSharedKey or ReInit (and there is one). */
  pathRequired: boolean;
}

const PATH_NOT_REQUIRED: readonly number[] = [ProposalType.add, ProposalType.psk, ProposalType.reinit];

/** Proposal types an external sender may send (§12.1.8). */
export const EXTERNAL_SENDER_PROPOSALS: readonly number[] = [
  ProposalType.add,
  ProposalType.remove,
  ProposalType.psk,
  ProposalType.reinit,
  ProposalType.group_context_extensions,
];

/**
 * Validates `list` as the proposals of one commit from `committer` and applies them to the tree
 * (§12.2, §12.3). `external` marks an external commit (§12.4.3.2).
 */
export async function validateAndApply(
  suite: CipherSuite,
  tree: RatchetTree,
  gc: GroupContext,
  list: readonly ProposalWithSender[],
  committer: Sender,
  external: boolean,
  ignoreLifetime = false,
): Promise<Applied> {
  const committerLeaf = committer.senderType === SenderType.member ? committer.leafIndex : undefined;
  const byType = (t: number) => list.filter((p) => p.proposal.proposalType === t);
  // §12.2 list-level rules.
  const gces = byType(ProposalType.group_context_extensions);
  check(gces.length <= 1, 'multiple-gce', 'more than one GroupContextExtensions proposal (§12.2)');
  const reinits = byType(ProposalType.reinit);
  check(reinits.length === 0 || list.length === 1, 'reinit-not-alone', 'a ReInit proposal must be the only proposal (§12.2)');
  const externalInits = byType(ProposalType.external_init);
  if (external) {
    check(externalInits.length === 1, 'external-init-count', 'an external commit needs exactly one ExternalInit (§12.4.3.2)');
    for (const p of list) {
      const t = p.proposal.proposalType;
      check(t === ProposalType.external_init || t === ProposalType.remove || t === ProposalType.psk, 'external-commit-proposal', `proposal type ${t} not allowed in an external commit (§12.4.3.2)`);
    }
    check(byType(ProposalType.remove).length <= 1, 'external-commit-proposal', 'an external commit may remove at most one member (§12.4.3.2)');
  } else {
    check(externalInits.length === 0, 'external-init-in-member-commit', 'ExternalInit is only allowed in external commits (§12.2)');
  }
  const changed = new Set<number>();
  const pskIds = new Set<string>();
  for (const p of list) {
    const prop = p.proposal;
    if (prop.proposalType === ProposalType.update) {
      check(p.sender.senderType === SenderType.member, 'update-sender', 'Update proposals come only from members (§12.1.2)');
      const s = p.sender.leafIndex;
      check(s !== committerLeaf, 'committer-update', 'a commit must not include the committer’s own Update (§12.2)');
      check(!changed.has(s), 'duplicate-leaf-change', `leaf ${s} is updated or removed twice (§12.2)`);
      changed.add(s);
    } else if (prop.proposalType === ProposalType.remove) {
      const r = prop.remove.removed;
      check(leafAt(tree, r) !== undefined, 'remove-blank-leaf', `Remove of blank or missing leaf ${r} (§12.1.3)`);
      check(r !== committerLeaf, 'commit-removes-committer', 'a commit must not remove the committer (§12.2)');
      check(!changed.has(r), 'duplicate-leaf-change', `leaf ${r} is updated or removed twice (§12.2)`);
      changed.add(r);
    } else if (prop.proposalType === ProposalType.psk) {
      const id = toHex(encode((w) => writePreSharedKeyID(w, prop.psk.psk)));
      check(!pskIds.has(id), 'duplicate-psk', 'the same PreSharedKeyID appears twice (§12.2)');
      pskIds.add(id);
      check(prop.psk.psk.pskNonce.length === suite.kdf.Nh, 'psk-nonce-length', 'psk_nonce length must be KDF.Nh (§8.4)');
    }
  }
  // Adds: distinct clients (by signature key) (§12.2), one set lookup per Add.
  const adds = byType(ProposalType.add);
  const addedClients = new Set<string>();
  for (const a of adds) {
    const key = keyString((a.proposal as Extract<Proposal, { proposalType: 1 }>).add.keyPackage.leafNode.signatureKey);
    check(!addedClients.has(key), 'duplicate-add', 'two Adds for the same client (§12.2)');
    addedClients.add(key);
  }

  // §12.3 application order: GroupContextExtensions (checked against the current members), then
  // Update, Remove, Add.
  let extensions = gc.extensions;
  if (gces[0]) {
    const g = gces[0].proposal as Extract<Proposal, { proposalType: 7 }>;
    extensions = g.groupContextExtensions.extensions;
    const seen = new Set<number>();
    for (const e of extensions) {
      check(!seen.has(e.extensionType), 'duplicate-extension', `GroupContextExtensions repeats extension ${e.extensionType} (§13.4)`);
      seen.add(e.extensionType);
    }
    // Every member must support the new extensions and required capabilities (§12.1.7).
    const rc = extensions.find((e) => e.extensionType === ExtensionType.required_capabilities);
    const req = rc ? decodeRequiredCapabilities(rc.extensionData) : undefined;
    const es = extensions.find((e) => e.extensionType === ExtensionType.external_senders);
    if (es) decodeExternalSenders(es.extensionData);
    for (const l of nonBlankLeaves(tree)) {
      const leaf = leafAt(tree, l)!;
      for (const e of extensions) check(supportsExtension(leaf, e.extensionType), 'gce-unsupported', `member ${l} does not support extension ${e.extensionType} (§12.1.7)`);
      if (req) {
        for (const x of req.extensionTypes) check(supportsExtension(leaf, x), 'gce-unsupported', `member ${l} lacks required extension ${x} (§12.1.7)`);
        for (const x of req.proposalTypes) check(x <= 7 || leaf.capabilities.proposals.includes(x), 'gce-unsupported', `member ${l} lacks required proposal ${x}`);
        for (const x of req.credentialTypes) check(leaf.capabilities.credentials.includes(x), 'gce-unsupported', `member ${l} lacks required credential ${x}`);
      }
    }
  }
  const newGc: GroupContext = { ...gc, extensions };
  // Updates, Removes and Adds change one copy of the tree in place (O(n) once, O(log n) per
  // proposal) and are checked against one MemberIndex of the members (§7.3 uniqueness and
  // credential support in O(1) per leaf), so a commit with thousands of proposals stays linear.
  const updates = byType(ProposalType.update);
  const removes = byType(ProposalType.remove);
  if (updates.length + removes.length + adds.length === 0) {
    return finish(tree, extensions, [], [], [], list, externalInits, reinits, byType);
  }
  const t = withNodes(tree, []);
  const index = updates.length + adds.length > 0 ? MemberIndex.of(t) : undefined;
  const updated: number[] = [];
  for (const p of updates) {
    const prop = p.proposal as Extract<Proposal, { proposalType: 2 }>;
    const s = (p.sender as { leafIndex: number }).leafIndex;
    const old = leafAt(t, s);
    check(old !== undefined, 'update-blank-leaf', `Update from blank leaf ${s}`);
    index!.remove(old);
    await validateLeafNode(suite, prop.update.leafNode, t, newGc, { groupId: gc.groupId, leafIndex: s, source: LeafNodeSource.update, index: index! });
    index!.add(prop.update.leafNode, s);
    updateLeafInPlace(t, s, prop.update.leafNode);
    updated.push(s);
  }
  const removed: number[] = [];
  for (const p of removes) {
    const r = (p.proposal as Extract<Proposal, { proposalType: 3 }>).remove.removed;
    const leaf = leafAt(t, r);
    removeLeafInPlace(t, r);
    index?.remove(leaf!);
    removed.push(r);
  }
  // §12.3: truncate after removing (once for all Removes: Adds come after them).
  const afterRemoves = removes.length > 0 ? truncate(t) : t;
  const added: Applied['added'] = [];
  const newLeaves: LeafNode[] = [];
  for (const p of adds) {
    const kp = (p.proposal as Extract<Proposal, { proposalType: 1 }>).add.keyPackage;
    await validateKeyPackage(suite, kp, afterRemoves, newGc, ignoreLifetime, index!);
    index!.add(kp.leafNode, -1);
    newLeaves.push(kp.leafNode);
  }
  const placed = addLeavesInPlace(afterRemoves, newLeaves);
  adds.forEach((p, i) => added.push({ leaf: placed.leaves[i]!, keyPackage: (p.proposal as Extract<Proposal, { proposalType: 1 }>).add.keyPackage }));
  return finish(placed.tree, extensions, added, removed, updated, list, externalInits, reinits, byType);
}

function finish(
  tree: RatchetTree,
  extensions: Extension[],
  added: Applied['added'],
  removed: number[],
  updated: number[],
  list: readonly ProposalWithSender[],
  externalInits: readonly ProposalWithSender[],
  reinits: readonly ProposalWithSender[],
  byType: (t: number) => ProposalWithSender[],
): Applied {
  const psks = byType(ProposalType.psk).map((p) => (p.proposal as Extract<Proposal, { proposalType: 4 }>).psk.psk);
  const pathRequired = list.length === 0 || list.some((p) => !PATH_NOT_REQUIRED.includes(p.proposal.proposalType));
  const out: Applied = { tree, extensions, added, removed, updated, psks, pathRequired };
  if (externalInits[0]) out.externalInit = (externalInits[0].proposal as Extract<Proposal, { proposalType: 6 }>).externalInit;
  if (reinits[0]) out.reinit = (reinits[0].proposal as Extract<Proposal, { proposalType: 5 }>).reinit;
  return out;
}


/**
 * Checks one proposal when it arrives (§12.1), so an invalid proposal never waits in the pending
 * list to break the next commit: Add (KeyPackage, §10.1), Update (leaf node, §12.1.2), Remove
 * (non-blank leaf), PreSharedKey (nonce length), GroupContextExtensions (supported by all),
 * ExternalInit and ReInit only where allowed. `index` (MemberIndex.of(tree)) makes the §7.3
 * member checks O(1) when many proposals are checked against the same tree.
 */
export async function validateProposal(suite: CipherSuite, tree: RatchetTree, gc: GroupContext, proposal: Proposal, sender: Sender, index?: MemberIndex): Promise<void> {
  switch (proposal.proposalType) {
    case ProposalType.add:
      await validateKeyPackage(suite, proposal.add.keyPackage, tree, gc, false, index);
      return;
    case ProposalType.update: {
      check(sender.senderType === SenderType.member, 'update-sender', 'Update proposals come only from members (§12.1.2)');
      const ctx = { groupId: gc.groupId, leafIndex: sender.leafIndex, source: LeafNodeSource.update };
      const old = index ? leafAt(tree, sender.leafIndex) : undefined;
      if (!index || !old) {
        await validateLeafNode(suite, proposal.update.leafNode, tree, gc, ctx);
        return;
      }
      // The index holds every member; the Update is checked against the others.
      index.remove(old);
      try {
        await validateLeafNode(suite, proposal.update.leafNode, tree, gc, { ...ctx, index });
      } finally {
        index.add(old, sender.leafIndex);
      }
      return;
    }
    case ProposalType.remove:
      check(leafAt(tree, proposal.remove.removed) !== undefined, 'remove-blank-leaf', `Remove of blank or missing leaf ${proposal.remove.removed} (§12.1.3)`);
      return;
    case ProposalType.psk: {
      const id = proposal.psk.psk;
      check(id.pskNonce.length === suite.kdf.Nh, 'psk-nonce-length', 'psk_nonce length must be KDF.Nh (§8.4)');
      // §11.2, §11.3: a PreSharedKey proposal with a reinit or branch resumption PSK is invalid.
      check(id.pskType !== PSKType.resumption || id.usage === ResumptionPSKUsage.application, 'psk-usage', 'a PreSharedKey proposal may carry only an application resumption PSK (§11.2, §11.3)');
      return;
    }
    case ProposalType.external_init:
      throw new MlsError('external-init-proposal', 'ExternalInit is only valid inside an external commit (§12.1.6)');
    case ProposalType.group_context_extensions:
      // Same checks as at commit time, on a one-proposal list from a neutral committer.
      await validateAndApply(suite, tree, gc, [{ proposal, sender }], { senderType: SenderType.new_member_proposal }, false);
      return;
    case ProposalType.reinit:
      return;
  }
}
