// Ratchet-tree validation on join (RFC 9420 §12.4.3.1, §7.3, §7.9.2) and the codec paths the join
// leans on: every rule rejects a tree that breaks it (with the rule's MlsError code) and accepts the
// same tree unbroken. Run: npx tsx --test test/unit/mls-tree-validation.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, utf8 } from '../../shared/bytes/index.js';
import { CodecError, decode, encode, Reader, Writer } from '../../shared/codec/index.js';
import { getCipherSuite, signWithLabel } from '../../shared/crypto/index.js';
import * as mls from '../../shared/mls/index.js';
import { createCommitState, makeGroupInfo } from '../../shared/mls/group.js';
import * as rt from '../../shared/mls/ratchetTree.js';
import type { GroupState } from '../../shared/mls/state.js';
import * as tm from '../../shared/mls/treeMath.js';
import { validateTree } from '../../shared/mls/validate.js';
import { CredentialType } from '../../shared/mls/wire/credential.js';
import { ExtensionType } from '../../shared/mls/wire/extension.js';
import type { GroupContext } from '../../shared/mls/wire/groupContext.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from '../../shared/mls/wire/leafNode.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { ProtocolVersion } from '../../shared/mls/wire/protocolVersion.js';
import { WireFormat } from '../../shared/mls/wire/wireFormat.js';
import { NodeType, type Node } from '../../shared/mls/wire/node.js';
import { ProposalType } from '../../shared/mls/wire/proposal.js';
import { encodeRequiredCapabilities } from '../../shared/mls/wire/requiredCapabilities.js';

const suite = getCipherSuite(1);

function isMls(code: string, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof mls.MlsError, `expected MlsError ${code}, got ${String(e)}`);
    assert.equal((e as mls.MlsError).code, code, (e as Error).message);
    if (message) assert.match((e as Error).message, message);
    return true;
  };
}

/** A copy of a state's tree with its hash cache cleared, and a GroupContext whose tree_hash matches it. */
async function rehashed(tree: rt.RatchetTree, gc: GroupContext): Promise<{ tree: rt.RatchetTree; gc: GroupContext }> {
  const t: rt.RatchetTree = { nodes: tree.nodes.slice(), hashes: new Array(tree.nodes.length).fill(null) };
  return { tree: t, gc: { ...gc, treeHash: await rt.treeHash(suite, t) } };
}

/** Alice and Bob (Bob joined by external commit, so Bob's leaf carries the root's parent-hash chain). */
async function pair(): Promise<{ alice: GroupState; bob: GroupState }> {
  let alice = await mls.createGroup({ groupId: utf8('tree-validation'), identity: utf8('alice') });
  const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('bob') });
  alice = (await mls.processMessage(alice, j.commit)).newState;
  return { alice, bob: j.pendingState };
}

/** Re-signs a member's own leaf after a change (commit-source LeafNodeTBS with group id and index). */
async function resignedLeaf(state: GroupState, leafIndex: number, change: (l: LeafNode) => LeafNode): Promise<Node> {
  const leaf = change(rt.leafAt(state.tree, leafIndex)!);
  assert.equal(leaf.leafNodeSource, LeafNodeSource.commit);
  const signature = await signWithLabel(suite, state.signaturePrivateKey, 'LeafNodeTBS', encodeLeafNodeTBS(leaf, state.groupContext.groupId, leafIndex));
  return { nodeType: NodeType.leaf, leaf: { ...leaf, signature } };
}

test('codec: in-place vectors get the right varint prefix at every size boundary, nested too', () => {
  for (const n of [0, 1, 63, 64, 65, 16383, 16384, 16385, 70000]) {
    const items = Array.from({ length: n }, (_, i) => i & 0xff);
    const bytes = encode((w) => w.u8(0xaa).varVector(items, (x, v) => x.u8(v)).u8(0xbb));
    const prefix = n < 64 ? 1 : n < 16384 ? 2 : 4;
    assert.equal(bytes.length, 2 + prefix + n, `length for ${n} items`);
    // Same bytes as writing the body separately and prefixing it with varBytes.
    const body = new Uint8Array(items);
    assert.equal(toHex(bytes), toHex(encode((w) => w.u8(0xaa).varBytes(body).u8(0xbb))), `bytes for ${n} items`);
    const back = decode(bytes, (r) => {
      assert.equal(r.u8(), 0xaa);
      const v = r.varVector((x) => x.u8());
      assert.equal(r.u8(), 0xbb);
      return v;
    });
    assert.deepEqual(back, items);
  }
  // Nested vectors whose inner bodies cross the 1->2 byte boundary while the outer one does too.
  const outer = [new Uint8Array(10), new Uint8Array(70), new Uint8Array(0), new Uint8Array(16400)];
  const nested = encode((w) => w.varVector(outer, (x, inner) => x.varVector([...inner], (y, b) => y.u8(b))));
  assert.equal(toHex(nested), toHex(encode((w) => w.varBytes(encode((x) => { for (const b of outer) x.varBytes(b); })))));
  assert.deepEqual(decode(nested, (r) => r.varVector((x) => x.varVector((y) => y.u8()).length)), [10, 70, 0, 16400]);
});

test('codec: encode returns exact-size copies that later and nested encodes leave alone', () => {
  const a = encode((w) => w.u32(0x01020304));
  assert.equal(a.byteLength, 4);
  assert.equal(a.buffer.byteLength, 4, 'an exact-size buffer, not a view into the scratch writer');
  const b = encode((w) => {
    w.u8(9);
    // encode called while another encode is writing: must not share the outer writer's buffer.
    const inner = encode((x) => x.u16(0xbeef));
    w.varBytes(inner);
    w.u8(7);
  });
  assert.equal(toHex(b), '0902beef07');
  assert.equal(toHex(a), '01020304', 'earlier result unchanged');
  // A throwing writer leaves the scratch usable and clean.
  assert.throws(() => encode((w) => w.u8(1).u8(300)), CodecError);
  assert.equal(toHex(encode((w) => w.u8(5))), '05');
  // Large outputs are fine and do not linger as the scratch buffer.
  const big = encode((w) => w.fixed(new Uint8Array(200_000).fill(3)));
  assert.equal(big.length, 200_000);
  assert.equal(toHex(encode((w) => w.u16(1))), '0001');
});

test('codec: a vector item cannot read past the vector, and the reader limit is restored after it', () => {
  // varVector of u16 items with a 3-byte body: the second item would straddle the vector's end.
  assert.throws(() => decode(fromHex('03000102ff'), (r) => r.varVector((x) => x.u16())), (e: unknown) => e instanceof CodecError && e.code === 'truncated');
  const r = new Reader(fromHex('0200010203'));
  assert.deepEqual(r.varVector((x) => x.u16()), [1]);
  assert.equal(r.remaining, 2);
  assert.equal(r.u16(), 0x0203);
  r.end();
  // An item reading past the end inside a caught error still leaves the outer limit intact.
  const r2 = new Reader(fromHex('0100ff'));
  assert.throws(() => r2.varVector((x) => x.u16()), CodecError);
  assert.equal(r2.remaining, 2, 'limit back at the end of the input (a narrowed limit would leave 1)');
});

test('validateTree accepts a valid tree, then rejects each broken unmerged_leaves rule (§7.1, §12.4.3.1)', async () => {
  // Five members by external joins (leaves 0..4 of an 8-leaf tree; the last joiner's filtered
  // direct path is just the root 7, so nodes 9, 11, 13 are blank), then Alice adds two members
  // (leaves 5, 6) without an UpdatePath: they become unmerged at the root.
  let alice = await mls.createGroup({ groupId: utf8('unmerged'), identity: utf8('alice') });
  for (const name of ['bob', 'carol', 'dave', 'erin']) {
    const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8(name) });
    alice = (await mls.processMessage(alice, j.commit)).newState;
  }
  const kps = [await mls.createKeyPackage({ identity: utf8('frank') }), await mls.createKeyPackage({ identity: utf8('grace') })];
  const adds = kps.map((k) => {
    const m = decodeMLSMessage(k.keyPackage) as Extract<ReturnType<typeof decodeMLSMessage>, { wireFormat: 5 }>;
    return { proposalType: ProposalType.add, add: { keyPackage: m.keyPackage } } as const;
  });
  const c = await createCommitState(alice, { proposals: adds, forcePath: false });
  const state = c.pendingState;
  assert.deepEqual(c.addedLeaves, [5, 6]);
  const root = tm.root(rt.leafCount(state.tree));
  assert.equal(root, 7);
  const rootNode = rt.parentAt(state.tree, root)!;
  assert.deepEqual(rootNode.unmergedLeaves, [5, 6]);
  for (const blankParent of [9, 11, 13]) assert.equal(rt.parentAt(state.tree, blankParent), undefined);
  await validateTree(suite, state.tree, state.groupContext); // the unbroken tree is valid
  // A newcomer joins by the Welcome: the whole join path accepts this tree.
  const frank = await mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kps[0]!.private });
  assert.equal(toHex(mls.epochAuthenticator(frank)), toHex(mls.epochAuthenticator(state)));

  const withRoot = (unmergedLeaves: number[]) => rehashed(rt.withNodes(state.tree, [[root, { nodeType: NodeType.parent, parent: { ...rootNode, unmergedLeaves } }]]), state.groupContext);
  const unsorted = await withRoot([6, 5]);
  await assert.rejects(validateTree(suite, unsorted.tree, unsorted.gc), isMls('unmerged-leaves-unsorted'));
  const dup = await withRoot([5, 5, 6]);
  await assert.rejects(validateTree(suite, dup.tree, dup.gc), isMls('unmerged-leaves-unsorted'));
  const blank = await withRoot([5, 6, 7]);
  await assert.rejects(validateTree(suite, blank.tree, blank.gc), isMls('unmerged-leaf-invalid', /unmerged leaf 7 that is blank or not below/));
  // A key at node 11 (between leaves 5, 6 and the root) listing 5 but not 6, while the root lists both.
  const key = (await suite.hpke.generateKeyPair()).publicKey;
  const parentWith = (unmergedLeaves: number[]): Node => ({ nodeType: NodeType.parent, parent: { encryptionKey: key, parentHash: new Uint8Array(0), unmergedLeaves } });
  const missing = await rehashed(rt.withNodes(state.tree, [[11, parentWith([5])]]), state.groupContext);
  await assert.rejects(validateTree(suite, missing.tree, missing.gc), isMls('unmerged-leaf-invalid', /unmerged leaf 6 but node 11 between them does not/));
  // A key at node 13 (between leaf 6 and the root) listing nothing: same rule.
  const empty13 = await rehashed(rt.withNodes(state.tree, [[13, parentWith([])]]), state.groupContext);
  await assert.rejects(validateTree(suite, empty13.tree, empty13.gc), isMls('unmerged-leaf-invalid', /node 13 between them does not/));
  // Node 13 listing leaf 6 satisfies that rule; it then fails a later check (no parent-hash chain).
  const listed13 = await rehashed(rt.withNodes(state.tree, [[13, parentWith([6])]]), state.groupContext);
  await assert.rejects(validateTree(suite, listed13.tree, listed13.gc), isMls('parent-hash-invalid'));
});

test('validateTree checks every leaf against the group (§7.3): credential types in use, required capabilities', async () => {
  const { bob } = await pair();
  await validateTree(suite, bob.tree, bob.groupContext);
  // Bob (the root's parent-hash chain ends at his leaf, so changing it keeps parent hashes valid)
  // switches to an x509 credential he lists; Alice lists only basic: she does not support a type in use.
  const x509 = await resignedLeaf(bob, 1, (l) => ({
    ...l,
    credential: { credentialType: CredentialType.x509, certificates: [utf8('cert')] },
    capabilities: { ...l.capabilities, credentials: [CredentialType.basic, CredentialType.x509] },
  }));
  const mixed = await rehashed(rt.withNodes(bob.tree, [[2, x509]]), bob.groupContext);
  await assert.rejects(validateTree(suite, mixed.tree, mixed.gc), isMls('leaf-credential', /leaf 0 does not support credential type 2/));
  // Bob listing a credential type but not his own.
  const notOwn = await resignedLeaf(bob, 1, (l) => ({ ...l, credential: { credentialType: CredentialType.x509, certificates: [utf8('cert')] } }));
  const t2 = await rehashed(rt.withNodes(bob.tree, [[2, notOwn]]), bob.groupContext);
  await assert.rejects(validateTree(suite, t2.tree, t2.gc), isMls('leaf-credential', /own credential type/));
  // A leaf extension missing from the leaf's own capabilities.
  const ext = await resignedLeaf(bob, 1, (l) => ({ ...l, extensions: [{ extensionType: 0xff01, extensionData: new Uint8Array(1) }] }));
  const t3 = await rehashed(rt.withNodes(bob.tree, [[2, ext]]), bob.groupContext);
  await assert.rejects(validateTree(suite, t3.tree, t3.gc), isMls('leaf-capabilities', /extension 65281 not in its capabilities/));
  // The group requires an extension type no member lists (required_capabilities, §11.1).
  const rc = { extensionType: ExtensionType.required_capabilities, extensionData: encodeRequiredCapabilities({ extensionTypes: [0xff02], proposalTypes: [], credentialTypes: [] }) };
  await assert.rejects(validateTree(suite, bob.tree, { ...bob.groupContext, extensions: [rc] }), isMls('leaf-capabilities', /required extension 65282/));
  // A forged leaf signature is still caught (after the cheap checks pass).
  const forged = rt.leafAt(bob.tree, 1)!;
  const sig = forged.signature.slice();
  sig[0]! ^= 1;
  const t4 = await rehashed(rt.withNodes(bob.tree, [[2, { nodeType: NodeType.leaf, leaf: { ...forged, signature: sig } }]]), bob.groupContext);
  await assert.rejects(validateTree(suite, t4.tree, t4.gc), isMls('leaf-signature'));
  // A tree that also does not match the GroupContext's tree_hash: the hash failure is reported
  // (the signatures are checked concurrently with the hashes, hashes win).
  // Also with WebCrypto, whose verifications and digests complete on other threads (a signature
  // failure arriving while the hashes run must not surface as an unhandled rejection).
  const wrongHash = { ...t4.gc, treeHash: bob.groupContext.treeHash };
  for (const s of [suite, getCipherSuite(1, 'webcrypto')]) {
    await assert.rejects(validateTree(s, { nodes: t4.tree.nodes, hashes: new Array(t4.tree.nodes.length).fill(null) }, wrongHash), isMls('tree-hash-mismatch'));
    await assert.rejects(validateTree(s, { nodes: t4.tree.nodes, hashes: new Array(t4.tree.nodes.length).fill(null) }, t4.gc), isMls('leaf-signature'));
  }
  const th = bob.groupContext.treeHash.slice();
  th[0]! ^= 1;
  await assert.rejects(validateTree(suite, bob.tree, { ...bob.groupContext, treeHash: th }), isMls('tree-hash-mismatch'));
});

test('parent hashes: a parent whose children resolve to many commit leaves has no valid chain (bounded check, §7.9.2)', async () => {
  // 64 commit-source leaves with arbitrary parent_hash fields under a non-blank root whose other
  // parents are blank: each child of the root resolves to 32 leaves, so no single descendant can
  // carry the root's chain. The check walks each resolution only as far as it needs.
  const n = 64;
  const nodes: (Node | null)[] = new Array(2 * n - 1).fill(null);
  for (let l = 0; l < n; l++) {
    nodes[2 * l] = {
      nodeType: NodeType.leaf,
      leaf: {
        encryptionKey: new Uint8Array(32).fill(l + 1),
        signatureKey: new Uint8Array(32).fill(l + 1),
        credential: { credentialType: CredentialType.basic, identity: utf8(`m${l}`) },
        capabilities: { versions: [1], cipherSuites: [1], extensions: [], proposals: [], credentials: [1] },
        leafNodeSource: LeafNodeSource.commit,
        parentHash: new Uint8Array(32),
        extensions: [],
        signature: new Uint8Array(64),
      },
    };
  }
  const root = tm.root(n);
  nodes[root] = { nodeType: NodeType.parent, parent: { encryptionKey: new Uint8Array(32).fill(200), parentHash: new Uint8Array(0), unmergedLeaves: [] } };
  const tree = rt.treeFromNodeList(nodes);
  await assert.rejects(rt.verifyParentHashes(suite, tree), isMls('parent-hash-invalid', /0 chains/));
  // The real chain from a valid tree verifies (positive control on the same code path).
  const { bob } = await pair();
  await rt.verifyParentHashes(suite, bob.tree);
});

test('joining by external commit: a forged leaf signature in the GroupInfo tree is reported, also over a later failure (§12.4.3.1)', async () => {
  // joinExternal builds its UpdatePath while the leaf signatures verify; nothing may come out of a
  // tree with a bad one, and the error is the one validateTree gives, before later checks.
  const { bob } = await pair();
  const forged = rt.leafAt(bob.tree, 1)!;
  const sig = forged.signature.slice();
  sig[0]! ^= 1;
  const t = await rehashed(rt.withNodes(bob.tree, [[2, { nodeType: NodeType.leaf, leaf: { ...forged, signature: sig } }]]), bob.groupContext);
  const bad: GroupState = { ...bob, tree: t.tree, groupContext: t.gc };
  const giBytes = (withExternalPub: boolean) =>
    makeGroupInfo(suite, bad, true, withExternalPub).then((groupInfo) => encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo }));
  for (const crypto of ['noble', 'webcrypto'] as const) {
    await assert.rejects(mls.joinExternal({ groupInfo: await giBytes(true), identity: utf8('carol'), crypto }), isMls('leaf-signature', /leaf 1 /));
    // Without external_pub (checked after the tree): still the signature failure.
    await assert.rejects(mls.joinExternal({ groupInfo: await giBytes(false), identity: utf8('carol'), crypto }), isMls('leaf-signature'));
  }
  // Positive control: the unforged tree is joined.
  const ok = await mls.joinExternal({ groupInfo: await mls.groupInfo(bob), identity: utf8('carol') });
  assert.equal(mls.treeSize(ok.pendingState) >= 3, true);
  // A joiner retrying with the leaves it verified on an earlier attempt: leaf 1 verified then, but
  // its bytes (the signature) differ now, so it is verified again and refused.
  const verifiedLeaves = new mls.VerifiedLeaves();
  await mls.joinExternal({ groupInfo: await mls.groupInfo(bob), identity: utf8('carol'), verifiedLeaves });
  assert.equal(verifiedLeaves.size, 2);
  await assert.rejects(mls.joinExternal({ groupInfo: await giBytes(true), identity: utf8('carol'), verifiedLeaves }), isMls('leaf-signature', /leaf 1 /));
  assert.equal(verifiedLeaves.size, 2, 'the forged leaf was not recorded');
  // And the missing external_pub alone is reported as such.
  const noPub = await makeGroupInfo(suite, bob, true, false);
  await assert.rejects(
    mls.joinExternal({ groupInfo: encodeMLSMessage({ version: ProtocolVersion.mls10, wireFormat: WireFormat.mls_group_info, groupInfo: noPub }), identity: utf8('carol') }),
    isMls('missing-external-pub'),
  );
});
