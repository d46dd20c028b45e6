// Public value sharing (shared/mls/intern.ts): members of one group hosted in one process share
// their decoded leaf and parent nodes and tree hashes, frozen, while every check still runs per
// member; and byte input of any Uint8Array subclass (Node's Buffer) decodes to owned copies.
// Run: npx tsx --test test/unit/mls-sharing.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { encodeRatchetTree, decodeRatchetTree } from '../../shared/mls/wire/node.js';
import type { GroupState } from '../../shared/mls/state.js';

async function threeMembers(): Promise<[GroupState, GroupState, GroupState]> {
  let a = await mls.createGroup({ groupId: utf8('sharing-test-group'), identity: utf8('a') });
  const { commit: c1, pendingState: b0 } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8('b') });
  a = (await mls.processMessage(a, c1)).newState;
  const { commit: c2, pendingState: c } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8('c') });
  a = (await mls.processMessage(a, c2)).newState;
  const b = (await mls.processMessage(b0, c2)).newState;
  return [a, b, c];
}

test('with sharing on, members hold the same frozen leaf nodes, parent nodes and hashes, and still agree', async (t) => {
  mls.setPublicValueSharing(true);
  t.after(() => mls.setPublicValueSharing(false));
  const [a, b, c] = await threeMembers();
  // c's leaf reached a and b in the same commit bytes: one object for both.
  const leafC = b.tree.nodes[4];
  assert.ok(leafC && leafC.nodeType === 1);
  assert.equal(a.tree.nodes[4], leafC);
  assert.ok(Object.isFrozen(leafC.leaf) && Object.isFrozen(leafC.leaf.capabilities));
  assert.throws(() => {
    (leafC.leaf as { signature: Uint8Array }).signature = new Uint8Array(64);
  }, TypeError);
  // The root parent node and the root tree hash are shared too.
  assert.equal(a.tree.nodes[3], b.tree.nodes[3]);
  assert.equal(a.tree.hashes[3], b.tree.hashes[3]);
  assert.ok(a.tree.hashes[3] instanceof Uint8Array);
  // Sharing changes memory only: all three are in the same epoch with the same authenticator.
  assert.deepEqual(mls.epochAuthenticator(a), mls.epochAuthenticator(c));
  assert.deepEqual(mls.epochAuthenticator(b), mls.epochAuthenticator(c));
  assert.ok(mls.sharedValueCounts().leaves >= 1);
  // The members go on working: a removes b, the others follow.
  const { commit } = await mls.createCommit(a, { remove: [mls.ownLeafIndex(b)] });
  const c2 = (await mls.processMessage(c, commit)).newState;
  assert.equal(mls.epoch(c2), mls.epoch(a) + 1n);
});

test('a leaf with any byte changed is a different object (the pool matches exact bytes)', async (t) => {
  mls.setPublicValueSharing(true);
  t.after(() => mls.setPublicValueSharing(false));
  const [a] = await threeMembers();
  const treeBytes = encodeRatchetTree(a.tree.nodes);
  const one = decodeRatchetTree(treeBytes);
  const two = decodeRatchetTree(treeBytes.slice());
  assert.equal(one[0], two[0]);
  // Flip the last byte of the first leaf's signature: it decodes (a signature is opaque) but differs.
  const tampered = treeBytes.slice();
  const first = one[0]!;
  assert.equal(first.nodeType, 1);
  const sig = first.leaf.signature;
  const at = indexOf(tampered, sig);
  assert.ok(at > 0);
  tampered[at + sig.length - 1]! ^= 1;
  const three = decodeRatchetTree(tampered);
  assert.notEqual(three[0], one[0]);
  assert.notDeepEqual((three[0] as typeof first).leaf.signature, sig);
});

test('with sharing off, every member decodes its own objects', async () => {
  mls.setPublicValueSharing(false);
  const [a, b] = await threeMembers();
  assert.notEqual(a.tree.nodes[4], b.tree.nodes[4]);
  assert.deepEqual(a.tree.nodes[4], b.tree.nodes[4]);
  assert.ok(!Object.isFrozen(a.tree.nodes[4]));
});

test("a Node Buffer decodes to copies: changing the Buffer afterwards changes nothing decoded", async () => {
  const [a] = await threeMembers();
  const bytes = mls.serializeState(a);
  const buf = Buffer.from(bytes);
  const restored = mls.deserializeState(buf);
  assert.deepEqual(mls.serializeState(restored), bytes);
  const treeBuf = Buffer.from(encodeRatchetTree(a.tree.nodes));
  const nodes = decodeRatchetTree(treeBuf);
  const leaf = nodes[0]!;
  assert.equal(leaf.nodeType, 1);
  const before = leaf.leaf.encryptionKey.slice();
  treeBuf.fill(0);
  assert.deepEqual(leaf.leaf.encryptionKey, before);
});

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

test('memberCount and membersBelow agree with the roster, also after a removal leaves a blank leaf', async () => {
  const [a, b, c] = await threeMembers();
  const { commit, pendingState } = await mls.createCommit(a, { remove: [mls.ownLeafIndex(b)] });
  const c2 = (await mls.processMessage(c, commit)).newState;
  for (const s of [a, pendingState, c2]) {
    const leaves = mls.roster(s).map((m) => m.leafIndex);
    assert.equal(mls.memberCount(s), leaves.length);
    for (let l = 0; l <= mls.treeSize(s); l++) assert.equal(mls.membersBelow(s, l), leaves.filter((x) => x < l).length, `below leaf ${l}`);
  }
  assert.equal(mls.memberCount(c2), 2);
  assert.equal(mls.membersBelow(c2, mls.ownLeafIndex(c2)), 1); // leaf 1 (b) is blank now
});

test('§7.3 scan with leaf prints: duplicates are caught whether or not the printed bits differ', async () => {
  const { validateLeafAgainstGroup } = await import('../../shared/mls/validate.js');
  const { LEAF_PRINT } = await import('../../shared/mls/intern.js');
  const [a] = await threeMembers();
  const nodes = a.tree.nodes;
  const leafOf = (i: number) => {
    const n = nodes[2 * i];
    assert.ok(n && n.nodeType === 1);
    assert.ok(LEAF_PRINT in n, 'tree nodes carry a print');
    return n.leaf;
  };
  const b = leafOf(1);
  const c = leafOf(2);
  const ctx = { groupId: a.groupContext.groupId, leafIndex: 2 };
  const run = (leaf: typeof c) => validateLeafAgainstGroup(leaf, a.tree, a.groupContext, ctx);
  run(c);
  const withKey = (field: 'signatureKey' | 'encryptionKey', key: Uint8Array) => ({ ...c, [field]: key });
  for (const field of ['signatureKey', 'encryptionKey'] as const) {
    const code = field === 'signatureKey' ? 'duplicate-signature-key' : 'duplicate-encryption-key';
    assert.throws(() => run(withKey(field, b[field].slice())), (e: Error & { code?: string }) => e.code === code, `${field}: exact duplicate`);
    const firstByte = b[field].slice();
    firstByte[0]! ^= 1; // same printed bits (the last two bytes), different key: the full compare clears it
    run(withKey(field, firstByte));
    const lastByte = b[field].slice();
    lastByte[lastByte.length - 1]! ^= 1; // printed bits differ
    run(withKey(field, lastByte));
  }
});
