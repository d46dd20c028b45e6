// One commit adding thousands of members (RFC 9420 §12.1.1, §12.2, §12.3): the Adds are placed at
// the leftmost blank leaves exactly as one-by-one addition would place them, duplicate clients are
// refused, and after a 2000-Add commit the committer, an existing member and the newcomers all
// reach the same epoch. No timing assertions (bench/mls.ts prints figures).
// Crypto: the WebCrypto backend (native Ed25519/X25519, fast enough for 2000 KeyPackages).
// Run: npx tsx --test test/unit/mls-large-commit.test.ts
import { prng } from '../support/prng.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import { decryptWithLabel, getCipherSuite, makeKeyPackageRef, signWithLabel } from '../../shared/crypto/index.js';
import { decode } from '../../shared/codec/index.js';
import * as mls from '../../shared/mls/index.js';
import { validateAndApply, validateProposal } from '../../shared/mls/proposals.js';
import * as rt from '../../shared/mls/ratchetTree.js';
import * as tm from '../../shared/mls/treeMath.js';
import { nodeKeyPairFromPathSecret } from '../../shared/mls/treekem.js';
import { CredentialType } from '../../shared/mls/wire/credential.js';
import { readGroupSecrets } from '../../shared/mls/wire/groupSecrets.js';
import { encodeKeyPackage } from '../../shared/mls/wire/keyPackage.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from '../../shared/mls/wire/leafNode.js';
import { decodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { NodeType, type Node } from '../../shared/mls/wire/node.js';
import { ProposalType, type Proposal } from '../../shared/mls/wire/proposal.js';
import { MemberIndex } from '../../shared/mls/validate.js';

const crypto = 'webcrypto' as const;
const suite = getCipherSuite(1, crypto);

function isMls(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof mls.MlsError, `expected MlsError ${code}, got ${String(e)}`);
    assert.equal((e as mls.MlsError).code, code, (e as Error).message);
    return true;
  };
}


function fakeLeaf(i: number): LeafNode {
  return {
    encryptionKey: new Uint8Array(32).fill(i & 0xff),
    signatureKey: new Uint8Array(32).fill((i >> 8) & 0xff),
    credential: { credentialType: CredentialType.basic, identity: utf8(`l${i}`) },
    capabilities: { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] },
    leafNodeSource: LeafNodeSource.key_package,
    lifetime: { notBefore: 0n, notAfter: 1n },
    extensions: [],
    signature: new Uint8Array(64),
  };
}

/** The §7.7 / §12.1.1 rule applied one leaf at a time, written plainly as the reference. */
function addOneByOne(nodes: (Node | null)[], leaf: LeafNode): (Node | null)[] {
  let out = nodes.slice();
  let n = (out.length + 1) / 2;
  let l = 0;
  while (l < n && out[2 * l]) l++;
  if (l === n) {
    out = out.concat(new Array(out.length + 1).fill(null));
    n *= 2;
  }
  out[2 * l] = { nodeType: NodeType.leaf, leaf };
  for (const p of tm.directPath(2 * l, n)) {
    const pn = out[p];
    if (pn && pn.nodeType === NodeType.parent) out[p] = { nodeType: NodeType.parent, parent: { ...pn.parent, unmergedLeaves: [...pn.parent.unmergedLeaves, l].sort((a, b) => a - b) } };
  }
  return out;
}

test('batched Adds land where one-by-one Adds would: leftmost blanks first, then a doubled tree, unmerged lists merged', async () => {
  const rand = prng(9420);
  for (let round = 0; round < 60; round++) {
    const leaves = 1 << Math.floor(rand() * 5); // 1..16 leaves
    const nodes: (Node | null)[] = new Array(2 * leaves - 1).fill(null);
    let id = 1000 * round;
    for (let l = 0; l < leaves; l++) if (l === 0 || rand() < 0.6) nodes[2 * l] = { nodeType: NodeType.leaf, leaf: fakeLeaf(id++) };
    for (let p = 1; p < nodes.length; p += 2) {
      if (rand() < 0.5) {
        const [lo, hi] = tm.leafRange(p);
        const unmerged: number[] = [];
        for (let l = lo; l <= hi; l++) if (nodes[2 * l] && rand() < 0.3) unmerged.push(l);
        nodes[p] = { nodeType: NodeType.parent, parent: { encryptionKey: new Uint8Array(32).fill(p), parentHash: new Uint8Array(0), unmergedLeaves: unmerged } };
      }
    }
    const adds = Array.from({ length: 1 + Math.floor(rand() * 20) }, () => fakeLeaf(id++));
    let expected = nodes;
    for (const a of adds) expected = addOneByOne(expected, a);
    const tree = rt.treeFromNodeList(nodes);
    await rt.treeHash(suite, tree); // a filled hash cache must be invalidated where the adds land
    const got = rt.addLeavesInPlace(rt.withNodes(tree, []), adds);
    assert.deepEqual(got.tree.nodes, expected, `round ${round}`);
    const fresh = rt.treeFromNodeList(expected);
    assert.equal(toHex(await rt.treeHash(suite, got.tree)), toHex(await rt.treeHash(suite, fresh)), `round ${round}: tree hash`);
    assert.equal(toHex(await rt.treeHash(suite, tree)), toHex(await rt.treeHash(suite, rt.treeFromNodeList(nodes))), `round ${round}: input tree untouched`);
  }
});

test('one commit with 2000 Adds: committer, existing member and newcomers agree; duplicates refused', async () => {
  let alice = await mls.createGroup({ groupId: utf8('large-commit'), identity: utf8('alice'), crypto });
  const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice, { crypto }), identity: utf8('bob'), crypto });
  alice = (await mls.processMessage(alice, j.commit, { crypto })).newState;
  const bob = j.pendingState;
  const N = 2000;
  const kps: Awaited<ReturnType<typeof mls.createKeyPackage>>[] = [];
  for (let i = 0; i < N; i++) kps.push(await mls.createKeyPackage({ identity: utf8(`m${i}`), crypto }));

  // The same client twice, or a newcomer reusing a member's signature key: refused.
  await assert.rejects(mls.createCommit(alice, { add: [kps[0]!.keyPackage, kps[1]!.keyPackage, kps[0]!.keyPackage], crypto }), isMls('duplicate-add'));
  const bobKey = { publicKey: rt.leafAt(bob.tree, 1)!.signatureKey, privateKey: bob.signaturePrivateKey };
  const clash = await mls.createKeyPackage({ identity: utf8('bob-again'), signatureKeyPair: bobKey, crypto });
  await assert.rejects(mls.createCommit(alice, { add: [kps[0]!.keyPackage, clash.keyPackage], crypto }), isMls('duplicate-signature-key'));

  const c = await mls.createCommit(alice, { add: kps.map((k) => k.keyPackage), crypto });
  assert.deepEqual(c.addedLeaves, Array.from({ length: N }, (_, i) => i + 2));
  const next = c.pendingState;
  assert.equal(mls.roster(next).length, N + 2);
  assert.equal(mls.treeSize(next), 2048);
  const ea = toHex(mls.epochAuthenticator(next));

  // The existing member processes the commit (validating all 2000 KeyPackages) to the same epoch.
  const b = await mls.processMessage(bob, c.commit, { crypto });
  assert.equal(b.kind, 'commit');
  assert.equal(toHex(mls.epochAuthenticator(b.newState)), ea);
  assert.deepEqual(b.kind === 'commit' ? b.addedLeaves : [], c.addedLeaves);

  // Newcomers join by the Welcome (full §12.4.3.1 join, tree of 2002 leaves validated): first,
  // middle, one at leaf 1500 and the last.
  const joined = new Map<number, mls.GroupState>();
  for (const i of [0, N / 2, 1498, N - 1]) {
    const s = await mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kps[i]!.private, crypto });
    assert.equal(toHex(mls.epochAuthenticator(s)), ea, `newcomer ${i}`);
    assert.equal(mls.ownLeafIndex(s), i + 2);
    assert.equal(toHex(await mls.exporter(s, 'SFrame 1.0 Base Key', new Uint8Array(0), 16, { crypto })), toHex(await mls.exporter(next, 'SFrame 1.0 Base Key', new Uint8Array(0), 16, { crypto })));
    joined.set(i + 2, s);
  }
  // The last newcomer (leaf 2001) commits: the right half has only blank parents, so one copath
  // node resolves to the 512 leaves 1024..1535 (path secrets encrypted in several batches, order
  // kept). Leaf 1500 decrypts from the middle of that list, Bob from Alice's node.
  const last = await mls.createCommit(joined.get(N + 1)!, { crypto });
  const lastEa = toHex(mls.epochAuthenticator(last.pendingState));
  assert.equal(toHex(mls.epochAuthenticator((await mls.processMessage(joined.get(1500)!, last.commit, { crypto })).newState)), lastEa);
  assert.equal(toHex(mls.epochAuthenticator((await mls.processMessage(b.newState, last.commit, { crypto })).newState)), lastEa);
  assert.equal(toHex(mls.epochAuthenticator((await mls.processMessage(next, last.commit, { crypto })).newState)), lastEa);
  // Every newcomer: exactly one EncryptedGroupSecrets under its KeyPackageRef, opening to the same
  // joiner_secret (the three full joins above show that secret yields the epoch), with a path
  // secret that derives the public key the tree holds at its lowest common ancestor with Alice.
  const w = decodeMLSMessage(c.welcome!);
  assert.equal(w.wireFormat, 3);
  const welcome = (w as Extract<typeof w, { wireFormat: 3 }>).welcome;
  assert.equal(welcome.secrets.length, N);
  const byRef = new Map(welcome.secrets.map((s) => [toHex(s.newMember), s.encryptedGroupSecrets]));
  assert.equal(byRef.size, N);
  let joinerSecret: string | undefined;
  for (let i = 0; i < N; i++) {
    const kpMsg = decodeMLSMessage(kps[i]!.keyPackage) as Extract<ReturnType<typeof decodeMLSMessage>, { wireFormat: 5 }>;
    const egs = byRef.get(toHex(await makeKeyPackageRef(suite, encodeKeyPackage(kpMsg.keyPackage))));
    assert.ok(egs, `newcomer ${i} has group secrets`);
    const gs = decode(await decryptWithLabel(suite, kps[i]!.private.initPrivateKey, 'Welcome', welcome.encryptedGroupInfo, egs.kemOutput, egs.ciphertext), readGroupSecrets);
    joinerSecret ??= toHex(gs.joinerSecret);
    assert.equal(toHex(gs.joinerSecret), joinerSecret, `newcomer ${i} joiner_secret`);
    assert.ok(gs.pathSecret, `newcomer ${i} path_secret`);
    const lca = tm.commonAncestor(0, 2 * (i + 2));
    const kp = await nodeKeyPairFromPathSecret(suite, gs.pathSecret);
    assert.equal(toHex(kp.publicKey), toHex(rt.publicKeyAt(next.tree, lca)!), `newcomer ${i} path key at node ${lca}`);
  }
});

test('a commit removing and adding reuses the freed leaf; an Update may not keep its encryption key', async () => {
  let alice = await mls.createGroup({ groupId: utf8('reuse'), identity: utf8('alice'), crypto });
  const states: mls.GroupState[] = [];
  for (const name of ['bob', 'carol']) {
    const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice, { crypto }), identity: utf8(name), crypto });
    alice = (await mls.processMessage(alice, j.commit, { crypto })).newState;
    for (let k = 0; k < states.length; k++) states[k] = (await mls.processMessage(states[k]!, j.commit, { crypto })).newState;
    states.push(j.pendingState);
  }
  const dave = await mls.createKeyPackage({ identity: utf8('dave'), crypto });
  const erin = await mls.createKeyPackage({ identity: utf8('erin'), crypto });
  const c = await mls.createCommit(alice, { remove: [1], add: [dave.keyPackage, erin.keyPackage], crypto });
  assert.deepEqual(c.removedLeaves, [1]);
  assert.deepEqual(c.addedLeaves, [1, 3]);
  const carol = await mls.processMessage(states[1]!, c.commit, { crypto });
  assert.equal(toHex(mls.epochAuthenticator(carol.newState)), toHex(mls.epochAuthenticator(c.pendingState)));

  // An Update whose leaf keeps the old encryption key is refused (§7.3): on arrival (with and
  // without a MemberIndex) and inside a commit's proposal list. A fresh key is accepted.
  const bobState = states[0]!;
  const old = rt.leafAt(bobState.tree, 1)!;
  const updateWith = async (encryptionKey: Uint8Array): Promise<Proposal> => {
    const unsigned: LeafNode = { ...old, encryptionKey, leafNodeSource: LeafNodeSource.update, signature: new Uint8Array(0) };
    delete unsigned.parentHash;
    const signature = await signWithLabel(suite, bobState.signaturePrivateKey, 'LeafNodeTBS', encodeLeafNodeTBS(unsigned, bobState.groupContext.groupId, 1));
    return { proposalType: ProposalType.update, update: { leafNode: { ...unsigned, signature } } };
  };
  const same = await updateWith(old.encryptionKey);
  const fresh = await updateWith((await suite.hpke.generateKeyPair()).publicKey);
  const fromBob = { senderType: 1, leafIndex: 1 } as const;
  const fromAlice = { senderType: 1, leafIndex: 0 } as const;
  await assert.rejects(validateProposal(suite, alice.tree, alice.groupContext, same, fromBob), isMls('update-same-encryption-key'));
  await assert.rejects(validateProposal(suite, alice.tree, alice.groupContext, same, fromBob, MemberIndex.of(alice.tree)), isMls('update-same-encryption-key'));
  await assert.rejects(validateAndApply(suite, alice.tree, alice.groupContext, [{ proposal: same, sender: fromBob }], fromAlice, false), isMls('update-same-encryption-key'));
  const index = MemberIndex.of(alice.tree);
  await validateProposal(suite, alice.tree, alice.groupContext, fresh, fromBob, index);
  assert.equal(index.size, 3, 'the index is restored after checking an Update');
  const applied = await validateAndApply(suite, alice.tree, alice.groupContext, [{ proposal: fresh, sender: fromBob }], fromAlice, false);
  assert.deepEqual(applied.updated, [1]);
});
