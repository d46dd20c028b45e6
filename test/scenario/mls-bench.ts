// MLS benchmark (prints figures, asserts nothing): `npx tsx test/scenario/mls-bench.ts [members...]`
//   - join of an N-member group by external commit (GroupInfo parse + tree validation + commit)
//   - processing that external commit by a member
//   - steady-state commit create / process at N members
// The N-member group is synthesized: leaf i "commits" after adding leaf i+1 (as in the
// tree-validation vectors' get_tree(n)), so every parent node is populated and parent hashes are
// valid; path secrets are not encrypted during synthesis (no one needs them).
// Crypto backend: $MLS_BENCH_BACKEND = node (default) | noble | webcrypto.
import { toHex, utf8 } from '../../shared/bytes/index.js';
import { getCipherSuite, signWithLabel, type CipherSuite, type CryptoBackend } from '../../shared/crypto/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import * as mls from '../../shared/mls/index.js';
import { createGroupState, defaultCapabilities } from '../../shared/mls/group.js';
import * as rt from '../../shared/mls/ratchetTree.js';
import { nodeKeyPairFromPathSecret } from '../../shared/mls/treekem.js';
import * as tm from '../../shared/mls/treeMath.js';
import { CredentialType } from '../../shared/mls/wire/credential.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from '../../shared/mls/wire/leafNode.js';
import { NodeType, type Node } from '../../shared/mls/wire/node.js';
import type { GroupState } from '../../shared/mls/state.js';
import { randomBytes } from '../../shared/mls/random.js';

const backendName = process.env.MLS_BENCH_BACKEND ?? 'node';
const backend: CryptoBackend = backendName === 'noble' || backendName === 'webcrypto' ? backendName : nodeCryptoProvider;
mls.setDefaultCryptoBackend(backend);

interface Member {
  sig: { publicKey: Uint8Array; privateKey: Uint8Array };
  enc: { publicKey: Uint8Array; privateKey: Uint8Array };
}

/** A tree of n leaves where leaf i committed (full path) right after adding leaf i+1. */
export async function synthesizeTree(suite: CipherSuite, groupId: Uint8Array, n: number): Promise<{ tree: rt.RatchetTree; members: Member[]; parentKeys: Map<number, Member['enc']> }> {
  const parentKeys = new Map<number, Member['enc']>();
  const members: Member[] = [];
  for (let i = 0; i < n; i++) members.push({ sig: await suite.signature.generateKeyPair(), enc: await suite.hpke.generateKeyPair() });
  const caps = defaultCapabilities(suite.id);
  const now = BigInt(Math.floor(Date.now() / 1000));
  async function kpLeaf(m: Member, i: number): Promise<LeafNode> {
    const u: LeafNode = {
      encryptionKey: m.enc.publicKey, signatureKey: m.sig.publicKey, credential: { credentialType: CredentialType.basic, identity: utf8(`m${i}`) },
      capabilities: caps, leafNodeSource: LeafNodeSource.key_package, lifetime: { notBefore: now - 3600n, notAfter: now + 86400n }, extensions: [], signature: new Uint8Array(0),
    };
    return { ...u, signature: await signWithLabel(suite, m.sig.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(u)) };
  }
  // Built in place (the synthesizer owns its arrays): full size up front, hashes invalidated by path.
  let leaves = 1;
  while (leaves < n) leaves *= 2;
  const tree: rt.RatchetTree = { nodes: new Array(2 * leaves - 1).fill(null), hashes: new Array(2 * leaves - 1).fill(null) };
  const r = tm.root(leaves);
  const set = (x: number, node: Node | null) => {
    tree.nodes[x] = node;
    for (let y = x; ; y = tm.parent(y, leaves)) {
      tree.hashes[y] = null;
      if (y === r) break;
    }
  };
  set(0, { nodeType: NodeType.leaf, leaf: await kpLeaf(members[0]!, 0) });
  for (let i = 0; i + 1 < n; i++) {
    // add leaf i+1 (leftmost blank = i+1 here), marking it unmerged in non-blank ancestors
    set(2 * (i + 1), { nodeType: NodeType.leaf, leaf: await kpLeaf(members[i + 1]!, i + 1) });
    for (const p of tm.directPath(2 * (i + 1), leaves)) {
      const pn = rt.parentAt(tree, p);
      if (pn) set(p, { nodeType: NodeType.parent, parent: { ...pn, unmergedLeaves: [...pn.unmergedLeaves, i + 1] } });
    }
    // leaf i commits: new path keys, parent hashes top-down, re-signed leaf.
    const fdp = rt.filteredDirectPath(tree, i);
    for (const p of tm.directPath(2 * i, leaves)) set(p, null);
    const keys = new Map<number, Uint8Array>();
    for (const p of fdp) {
      const kp = await nodeKeyPairFromPathSecret(suite, randomBytes(suite.kdf.Nh));
      parentKeys.set(p, kp);
      keys.set(p, kp.publicKey);
    }
    let above: Uint8Array = new Uint8Array(0);
    for (let k = fdp.length - 1; k >= 0; k--) {
      const p = fdp[k]!;
      set(p, { nodeType: NodeType.parent, parent: { encryptionKey: keys.get(p)!, parentHash: above, unmergedLeaves: [] } });
      const { sibling } = rt.childrenToward(p, 2 * i);
      above = await rt.parentHash(suite, keys.get(p)!, above, await rt.treeHash(suite, tree, sibling));
    }
    const m = members[i]!;
    m.enc = await suite.hpke.generateKeyPair();
    const old = rt.leafAt(tree, i)!;
    const u: LeafNode = { ...old, encryptionKey: m.enc.publicKey, leafNodeSource: LeafNodeSource.commit, parentHash: above, signature: new Uint8Array(0) };
    delete u.lifetime;
    set(2 * i, { nodeType: NodeType.leaf, leaf: { ...u, signature: await signWithLabel(suite, m.sig.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(u, groupId, i)) } });
  }
  const trimmed = rt.truncate(tree);
  return { tree: trimmed, members, parentKeys };
}

/** A GroupState for member `own` of a synthesized tree (shared epoch secrets from `base`). */
async function stateFor(suite: CipherSuite, base: GroupState, tree: rt.RatchetTree, members: Member[], own: number, parentKeys: Map<number, Member['enc']>): Promise<GroupState> {
  const keys = [{ node: 2 * own, ...members[own]!.enc }];
  for (const p of tm.directPath(2 * own, rt.leafCount(tree))) if (rt.parentAt(tree, p)) keys.push({ node: p, ...parentKeys.get(p)! });
  const gc = { ...base.groupContext, treeHash: await rt.treeHash(suite, tree) };
  const { createSecretTree } = await import('../../shared/mls/secretTree.js');
  return {
    ...base, groupContext: gc, tree, ownLeaf: own, signaturePrivateKey: members[own]!.sig.privateKey,
    keys, secretTree: createSecretTree(base.secrets.encryptionSecret, rt.leafCount(tree)),
  };
}

async function time<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await f();
  return [r, performance.now() - t];
}

const sizes = process.argv.slice(2).map(Number).filter((x) => x > 1);
for (const n of sizes.length ? sizes : [1000, 10000]) {
  const suite = getCipherSuite(1, backend);
  const groupId = utf8(`bench-${n}`);
  const [{ tree, members, parentKeys }, tSynth] = await time(() => synthesizeTree(suite, groupId, n));
  const base = await createGroupState({ groupId, suite: 1, credential: { credentialType: CredentialType.basic, identity: utf8('m0') }, signatureKeyPair: members[0]!.sig, crypto: backend });
  let a = await stateFor(suite, base, tree, members, 0, parentKeys);
  let b = await stateFor(suite, base, tree, members, 1, parentKeys);
  const gi = await mls.groupInfo(a);
  if (process.env.MLS_BENCH_SAVE) {
    // Saves the GroupInfo so a fresh process can time a join without the synthesizer's heap.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${process.env.MLS_BENCH_SAVE}-${n}.bin`, gi);
  }
  // Join breakdown: decode + tree hash, parent hashes, leaf signatures (the rest is the commit).
  const { decodeMLSMessage } = await import('../../shared/mls/wire/mlsMessage.js');
  const { decodeRatchetTree } = await import('../../shared/mls/wire/node.js');
  const { verifyParentHashes } = await import('../../shared/mls/ratchetTree.js');
  const { verifyWithLabel } = await import('../../shared/crypto/index.js');
  const [fresh, tHash] = await time(async () => {
    const m = decodeMLSMessage(gi) as any;
    const t = rt.treeFromNodeList(decodeRatchetTree(m.groupInfo.extensions.find((e: any) => e.extensionType === 2).extensionData));
    await rt.treeHash(suite, t);
    return t;
  });
  const [, tPh] = await time(() => verifyParentHashes(suite, fresh));
  const [, tSig] = await time(async () => {
    for (const l of rt.nonBlankLeaves(fresh)) {
      const leaf = rt.leafAt(fresh, l)!;
      await verifyWithLabel(suite, leaf.signatureKey, 'LeafNodeTBS', encodeLeafNodeTBS(leaf, groupId, l), leaf.signature);
    }
  });
  const [join, tJoin] = await time(() => mls.joinExternal({ groupInfo: gi, identity: utf8('newcomer') }));
  const [pa, tProcJoin] = await time(() => mls.processMessage(a, join.commit));
  const pb = await mls.processMessage(b, join.commit);
  a = pa.newState;
  b = pb.newState;
  if (toHex(mls.epochAuthenticator(a)) !== toHex(mls.epochAuthenticator(join.pendingState))) throw new Error('join diverged');
  const create: number[] = [];
  const proc: number[] = [];
  // MLS_BENCH_PROFILE=file.cpuprofile: CPU profile of the steady-state commit loop only.
  let session: import('node:inspector').Session | undefined;
  if (process.env.MLS_BENCH_PROFILE) {
    const inspector = await import('node:inspector');
    session = new inspector.Session();
    session.connect();
    await new Promise((res) => session!.post('Profiler.enable', () => session!.post('Profiler.start', res)));
  }
  for (let k = 0; k < Number(process.env.MLS_BENCH_ROUNDS ?? 20); k++) {
    const [c, tc] = await time(() => mls.createCommit(a));
    const [r, tp] = await time(() => mls.processMessage(b, c.commit));
    create.push(tc);
    proc.push(tp);
    [a, b] = [r.newState, c.pendingState];
  }
  if (session) {
    const { writeFileSync } = await import('node:fs');
    await new Promise<void>((res) => session!.post('Profiler.stop', (_e, r) => { writeFileSync(process.env.MLS_BENCH_PROFILE!, JSON.stringify(r.profile)); res(); }));
  }
  if (toHex(mls.epochAuthenticator(a)) !== toHex(mls.epochAuthenticator(b))) throw new Error('commits diverged');
  const med = (xs: number[]) => xs.slice().sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  console.log(`members=${n} backend=${backendName} synth=${(tSynth / 1000).toFixed(1)}s join(external commit)=${tJoin.toFixed(0)}ms [decode+tree hash ${tHash.toFixed(0)}ms, parent hashes ${tPh.toFixed(0)}ms, leaf signatures ${tSig.toFixed(0)}ms] process-join=${tProcJoin.toFixed(1)}ms commit create median=${med(create).toFixed(2)}ms process median=${med(proc).toFixed(2)}ms state=${mls.serializeState(a).length}B`);
}
