// MLS benchmark (prints figures; asserts nothing): `npm run bench:mls -- [--sizes 10,100,1000,10000]
//   [--json FILE] [--backend node|noble|webcrypto] [--ts-max-size N] [--no-ts] [--profile DIR]
//   [--profile-min-size N] [--one-commit-max N] [--ops join-welcome,join-external,...] [--trees worst,updated]
//   [--reps N]`
// --reps N: N timed runs per operation after one untimed warm-up (default: 15 at 10 members down to a
// single cold run at 10000).
// --ops / --trees: measure only these operations / tree shapes (e.g. `--ops join-welcome,join-external
// --trees worst` for a short join-only run); the setup each needs (tree synthesis, the adding commit) runs anyway.
// --profile DIR: V8 CPU profile of every shared/mls operation measured (DIR/<size>-<tree>-<op>.cpuprofile,
// open in Chrome DevTools) and the top self-time functions printed after each one.
//
// For each group size and two tree shapes it times, with shared/mls and with ts-mls 1.6.4 (an
// independent RFC 9420 implementation) on the same operation in the same run:
//   commit-create   a commit with an UpdatePath (no proposals)            bytes = commit
//   commit-process  another member processes that commit                   bytes = commit
//   join-welcome    a new member joins from a Welcome (ratchet tree in GI) bytes = Welcome
//   join-external   a new member joins by external commit from a GroupInfo bytes = commit
//                   (GroupInfo with ratchet_tree + external_pub; its size is printed in a note)
// Tree shapes (shared/mls trees are built directly as ratchet trees, O(n), which is quicker than
// the facade's way, one commit adding n-1 members: that commit is near-linear (one tree copy, a
// blank-leaf cursor, O(1) member checks per Add) but verifies 2(n-1) signatures and seals n-1
// GroupSecrets; its time is printed in a note up to --one-commit-max, default 1000):
//   worst    a freshly built group: the creator added everyone in one commit and nobody has updated
//            yet, so every parent off the creator's path is blank; the creator's next commit
//            encrypts to every other leaf (n-1 HPKE encryptions), and a joiner verifies n leaves.
//            ts-mls builds its own group for real (one commit adding n-1 members) and does the same.
//   updated  every member has committed once (no blanks, no unmerged leaves; parent hashes valid:
//            each parent was last written by the rightmost leaf below it); its last member adds
//            2 shared/mls + 2 ts-mls clients by one Welcome; the newcomers at the tree's end then
//            commit / process / join (O(log n) path), both libraries on the same messages.
// Times are medians over repetitions (fewer at large sizes). ts-mls is skipped above --ts-max-size
// (default 1000: its worst-case group at 10000 would take many minutes), said so in the output.
// JSON (--json FILE): [{ size, tree: "worst"|"updated", op, ms, bytes?, tsMlsMs?, cpuMs?, tsMlsCpuMs? }, ...]
// (ms = wall-clock median; cpuMs = CPU-time median of this process, steadier on a shared machine)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join as joinPath } from 'node:path';
import { toHex, utf8 } from '../shared/bytes/index.js';
import { getCipherSuite, signWithLabel, type CipherSuite, type CryptoBackend } from '../shared/crypto/index.js';
import * as mls from '../shared/mls/index.js';
import { createGroupState, defaultCapabilities } from '../shared/mls/group.js';
import * as rt from '../shared/mls/ratchetTree.js';
import { createSecretTree } from '../shared/mls/secretTree.js';
import type { GroupState } from '../shared/mls/state.js';
import * as tm from '../shared/mls/treeMath.js';
import { CredentialType } from '../shared/mls/wire/credential.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from '../shared/mls/wire/leafNode.js';
import { NodeType, type Node } from '../shared/mls/wire/node.js';
import { nodeCryptoProvider } from '../server/crypto-node/mls-node.js';
import * as T from '../test/interop/tsmls.js';

type Op = 'commit-create' | 'commit-process' | 'join-welcome' | 'join-external';
type TreeShape = 'worst' | 'updated';
interface Row {
  size: number;
  tree: TreeShape;
  op: Op;
  /** Wall-clock median. */
  ms: number;
  bytes?: number;
  tsMlsMs?: number;
  /** CPU time (user + system, all threads of this process) median: robust on a shared machine. */
  cpuMs?: number;
  tsMlsCpuMs?: number;
}
interface Timing {
  ms: number;
  cpuMs: number;
}

// ---------------------------------------------------------------------------------------------
// Options

function usage(): never {
  console.log('usage: npm run bench:mls -- [--sizes 10,100,1000,10000] [--json FILE] [--backend node|noble|webcrypto] [--ts-max-size N] [--no-ts] [--profile DIR] [--profile-min-size N] [--one-commit-max N] [--ops join-welcome,join-external,commit-create,commit-process] [--trees worst,updated] [--reps N]');
  process.exit(0);
}
const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
};
if (argv.includes('--help') || argv.includes('-h')) usage();
const SIZES = (opt('--sizes') ?? '10,100,1000,10000').split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 2) throw new Error(`bad size ${s} (need integers >= 2)`);
  return n;
});
const JSON_FILE = opt('--json');
const BACKEND_NAME = opt('--backend') ?? 'node';
const BACKEND: CryptoBackend = BACKEND_NAME === 'noble' || BACKEND_NAME === 'webcrypto' ? BACKEND_NAME : nodeCryptoProvider;
if (!['node', 'noble', 'webcrypto'].includes(BACKEND_NAME)) throw new Error(`unknown backend ${BACKEND_NAME}`);
const TS_MAX = argv.includes('--no-ts') ? 0 : Number(opt('--ts-max-size') ?? 1000);
const PROFILE_DIR = opt('--profile');
/** Only sizes >= this are profiled (--profile-min-size, default all). */
const PROFILE_MIN = Number(opt('--profile-min-size') ?? 0);
/** Largest size at which shared/mls's own one-commit build is timed for the notes (it is O(n^2)). */
const ONE_COMMIT_MAX = Number(opt('--one-commit-max') ?? 1000);
const ALL_OPS: Op[] = ['commit-create', 'commit-process', 'join-welcome', 'join-external'];
/** Operations to measure (--ops, default all). commit-process needs commit-create's commit: it runs it too. */
const OPS_SELECTED = new Set<Op>(
  (opt('--ops') ?? ALL_OPS.join(',')).split(',').map((s) => {
    if (!(ALL_OPS as string[]).includes(s)) throw new Error(`unknown op ${s} (one of ${ALL_OPS.join(', ')})`);
    return s as Op;
  }),
);
const TREES = (opt('--trees') ?? 'worst,updated').split(',').map((s) => {
  if (s !== 'worst' && s !== 'updated') throw new Error(`unknown tree shape ${s} (worst or updated)`);
  return s as TreeShape;
});
mls.setDefaultCryptoBackend(BACKEND);
const SUITE = 1;

const started = performance.now();
function progress(line: string): void {
  console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);
}

/** --reps N: timed repetitions per operation (after one untimed warm-up when N > 1) instead of the size-based default. */
const REPS_OVERRIDE = opt('--reps') === undefined ? undefined : Number(opt('--reps'));
if (REPS_OVERRIDE !== undefined && (!Number.isInteger(REPS_OVERRIDE) || REPS_OVERRIDE < 1)) throw new Error('--reps needs a positive integer');
function reps(n: number): number {
  if (REPS_OVERRIDE !== undefined) return REPS_OVERRIDE;
  return n <= 10 ? 15 : n <= 100 ? 9 : n <= 1000 ? 5 : 1;
}
/** ts-mls is ~10-300x slower: fewer repetitions (a single timed run from 1000 members). */
function tsReps(n: number): number {
  return n <= 10 ? 9 : n <= 100 ? 3 : 1;
}

async function timed<R>(f: () => Promise<R>): Promise<[Awaited<R>, number, number]> {
  const c = process.cpuUsage();
  const t = performance.now();
  const r = await f();
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(c);
  return [r, ms, (cpu.user + cpu.system) / 1000];
}

/** Median time of `count` runs of f (after one untimed warm-up run unless count is 1). */
async function median<R>(count: number, f: () => Promise<R>): Promise<{ result: Awaited<R>; ms: number; cpuMs: number }> {
  if (count === 1) {
    const [r, ms, cpuMs] = await timed(f);
    return { result: r, ms, cpuMs };
  }
  let result = await f();
  const times: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < count; i++) {
    const [r, ms, cpu] = await timed(f);
    result = r;
    times.push(ms);
    cpus.push(cpu);
  }
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { result, ms: mid(times), cpuMs: mid(cpus) };
}
const timing = (m: Timing): Timing => ({ ms: m.ms, cpuMs: m.cpuMs });

// ---- optional CPU profiles of shared/mls operations

let session: Session | undefined;
function post<T = unknown>(method: string, params?: object): Promise<T> {
  return new Promise((res, rej) => session!.post(method, params ?? {}, (err, r) => (err ? rej(err) : res(r as T))));
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Runs `f` under the V8 profiler when --profile is set; writes the profile and prints the top self times. */
async function profiled<R>(name: string, f: () => Promise<R>): Promise<R> {
  if (!PROFILE_DIR || Number(name.split('-')[0]) < PROFILE_MIN) return f();
  if (!session) {
    mkdirSync(PROFILE_DIR, { recursive: true });
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 500 });
  }
  await post('Profiler.start');
  const r = await f();
  const { profile } = await post<{ profile: CpuProfile }>('Profiler.stop');
  writeFileSync(joinPath(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const cf = node.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/main\//, '')}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`  profile ${name}: ${(total / 1000).toFixed(0)} ms sampled; top self time:`);
  for (const [k, v] of top) console.log(`    ${((100 * v) / total).toFixed(1).padStart(5)}%  ${(v / 1000).toFixed(1).padStart(8)} ms  ${k}`);
  return r;
}

function same(a: Uint8Array, b: Uint8Array, what: string): void {
  if (toHex(a) !== toHex(b)) throw new Error(`benchmark sanity check failed: ${what}`);
}

// ---------------------------------------------------------------------------------------------
// Synthetic fully updated tree (shared/mls internals; the facade has no "build tree" call)

/**
 * Key pairs for the synthetic trees, made by importing random private keys rather than by the
 * backend's generateKeyPair: node 20.20's generateKeyPairSync can deadlock (main thread blocked on
 * a mutex, 0% CPU) when a GC during a key export finalizes the key's generation job, which tens
 * of thousands of generations in a row reliably hit. Same key distribution (uniform private keys).
 */
async function signatureKeyPair(suite: CipherSuite): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
  if (suite.signature.name !== 'Ed25519' && suite.signature.name !== 'Ed448') return suite.signature.generateKeyPair();
  const privateKey = globalThis.crypto.getRandomValues(new Uint8Array(suite.signature.privateKeyLength));
  return { privateKey, publicKey: await suite.signature.publicKeyFromPrivate(privateKey) };
}
async function hpkeKeyPair(suite: CipherSuite): Promise<{ publicKey: Uint8Array; privateKey: Uint8Array }> {
  return suite.hpke.deriveKeyPair(globalThis.crypto.getRandomValues(new Uint8Array(suite.hpke.Nsk)));
}

interface Keys {
  sig: { publicKey: Uint8Array; privateKey: Uint8Array };
  enc: { publicKey: Uint8Array; privateKey: Uint8Array };
}

/**
 * A tree of n leaves as if all n members had been added and then each had committed once, in leaf
 * order: every parent with a non-empty right subtree is non-blank, was last written by the
 * rightmost leaf below it, and has no unmerged leaves; parent hashes chain along each owner's
 * filtered direct path (§7.9); leaves are commit-source and signed. O(n) key generations,
 * signatures and hashes.
 */
async function updatedTree(suite: CipherSuite, groupId: Uint8Array, n: number): Promise<{ tree: rt.RatchetTree; leaves: Keys[]; parents: Map<number, Keys['enc']> }> {
  let width = 1;
  while (width < n) width *= 2;
  const nodes: (Node | null)[] = new Array(2 * width - 1).fill(null);
  const tree: rt.RatchetTree = { nodes, hashes: new Array(nodes.length).fill(null) };
  const parents = new Map<number, Keys['enc']>();
  // A parent is non-blank iff its right subtree holds a real leaf.
  const nonBlank = (p: number) => tm.leafRange(tm.right(p))[0] < n;
  for (let p = 1; p < nodes.length; p += 2) if (nonBlank(p)) parents.set(p, await hpkeKeyPair(suite));
  const leaves: Keys[] = [];
  const caps = defaultCapabilities(suite.id);
  const r = tm.root(width);
  for (let l = 0; l < n; l++) {
    const keys: Keys = { sig: await signatureKeyPair(suite), enc: await hpkeKeyPair(suite) };
    leaves.push(keys);
    // Owned nodes: non-blank ancestors while this leaf stays in their right subtree.
    const owned: number[] = [];
    let x = 2 * l;
    let reachedTop = true;
    while (x !== r) {
      const p = tm.parent(x, width);
      const fromRight = x === tm.right(p);
      if (!fromRight) {
        if (nonBlank(p)) {
          reachedTop = false;
          break;
        }
      } else owned.push(p);
      x = p;
    }
    // Top-down parent hashes along the owned chain (the topmost one's own field: empty at the root,
    // else the value of a node since overwritten: any 32 bytes).
    let above: Uint8Array = reachedTop ? new Uint8Array(0) : await suite.hash.digest(utf8(`stale ${l}`));
    for (let k = owned.length - 1; k >= 0; k--) {
      const p = owned[k]!;
      const key = parents.get(p)!.publicKey;
      nodes[p] = { nodeType: NodeType.parent, parent: { encryptionKey: key, parentHash: above, unmergedLeaves: [] } };
      const sibling = tm.left(p); // the owner comes from the right
      above = await rt.parentHash(suite, key, above, await rt.treeHash(suite, tree, sibling));
    }
    const u: LeafNode = {
      encryptionKey: keys.enc.publicKey,
      signatureKey: keys.sig.publicKey,
      credential: { credentialType: CredentialType.basic, identity: utf8(`m${l}`) },
      capabilities: caps,
      leafNodeSource: LeafNodeSource.commit,
      parentHash: above,
      extensions: [],
      signature: new Uint8Array(0),
    };
    nodes[2 * l] = { nodeType: NodeType.leaf, leaf: { ...u, signature: await signWithLabel(suite, keys.sig.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(u, groupId, l)) } };
    if (l % 2000 === 1999) progress(`  synthesized ${l + 1}/${n} leaves`);
  }
  return { tree: rt.truncate(tree), leaves, parents };
}

/**
 * A freshly built group of n: the creator (leaf 0) added everyone and committed once, nobody else
 * has updated. Leaves 1..n-1 are KeyPackage leaves; leaf 0's whole direct path is non-blank (its
 * copath children all hold leaves) with a valid parent-hash chain; every other parent is blank.
 * Equivalent to the tree one commit adding n-1 members leaves behind, built in O(n) (shared/mls
 * applies n Adds in O(n^2), see the notes).
 */
async function worstTree(suite: CipherSuite, groupId: Uint8Array, n: number): Promise<{ tree: rt.RatchetTree; leaves: Keys[]; parents: Map<number, Keys['enc']> }> {
  let width = 1;
  while (width < n) width *= 2;
  const nodes: (Node | null)[] = new Array(2 * width - 1).fill(null);
  const tree: rt.RatchetTree = { nodes, hashes: new Array(nodes.length).fill(null) };
  const caps = defaultCapabilities(suite.id);
  const now = BigInt(Math.floor(Date.now() / 1000));
  const leaves: Keys[] = [];
  for (let l = 0; l < n; l++) {
    const keys: Keys = { sig: await signatureKeyPair(suite), enc: await hpkeKeyPair(suite) };
    leaves.push(keys);
    if (l === 0) continue;
    const u: LeafNode = {
      encryptionKey: keys.enc.publicKey,
      signatureKey: keys.sig.publicKey,
      credential: { credentialType: CredentialType.basic, identity: utf8(`m${l}`) },
      capabilities: caps,
      leafNodeSource: LeafNodeSource.key_package,
      lifetime: { notBefore: now - 3600n, notAfter: now + 90n * 86400n },
      extensions: [],
      signature: new Uint8Array(0),
    };
    nodes[2 * l] = { nodeType: NodeType.leaf, leaf: { ...u, signature: await signWithLabel(suite, keys.sig.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(u)) } };
    if (l % 2000 === 1999) progress(`  synthesized ${l + 1}/${n} leaves`);
  }
  const parents = new Map<number, Keys['enc']>();
  const path = tm.directPath(0, width);
  for (const p of path) parents.set(p, await hpkeKeyPair(suite));
  let above: Uint8Array = new Uint8Array(0);
  for (let k = path.length - 1; k >= 0; k--) {
    const p = path[k]!;
    const key = parents.get(p)!.publicKey;
    nodes[p] = { nodeType: NodeType.parent, parent: { encryptionKey: key, parentHash: above, unmergedLeaves: [] } };
    above = await rt.parentHash(suite, key, above, await rt.treeHash(suite, tree, tm.right(p)));
  }
  const c = leaves[0]!;
  const u: LeafNode = {
    encryptionKey: c.enc.publicKey,
    signatureKey: c.sig.publicKey,
    credential: { credentialType: CredentialType.basic, identity: utf8('m0') },
    capabilities: caps,
    leafNodeSource: LeafNodeSource.commit,
    parentHash: above,
    extensions: [],
    signature: new Uint8Array(0),
  };
  nodes[0] = { nodeType: NodeType.leaf, leaf: { ...u, signature: await signWithLabel(suite, c.sig.privateKey, 'LeafNodeTBS', encodeLeafNodeTBS(u, groupId, 0)) } };
  for (const p of path) tree.hashes[p] = null;
  tree.hashes[0] = null;
  return { tree: rt.truncate(tree), leaves, parents };
}

/** A GroupState of member `own` in a synthetic tree; epoch secrets taken from a real 1-member group. */
async function syntheticGroup(shape: TreeShape, suite: CipherSuite, groupId: Uint8Array, n: number, own: number): Promise<GroupState> {
  const { tree, leaves, parents } = shape === 'worst' ? await worstTree(suite, groupId, n) : await updatedTree(suite, groupId, n);
  const me = leaves[own]!;
  const base = await createGroupState({ groupId, suite: SUITE, credential: { credentialType: CredentialType.basic, identity: utf8(`m${own}`) }, signatureKeyPair: me.sig, crypto: BACKEND });
  const keys = [{ node: 2 * own, ...me.enc }];
  for (const p of tm.directPath(2 * own, rt.leafCount(tree))) if (rt.parentAt(tree, p)) keys.push({ node: p, ...parents.get(p)! });
  return {
    ...base,
    groupContext: { ...base.groupContext, epoch: 1n, treeHash: await rt.treeHash(suite, tree) },
    tree,
    ownLeaf: own,
    signaturePrivateKey: me.sig.privateKey,
    keys,
    secretTree: createSecretTree(base.secrets.encryptionSecret, rt.leafCount(tree)),
  };
}

// ---------------------------------------------------------------------------------------------
// shared/mls measurements

interface OursResult {
  rows: Map<Op, Timing & { bytes: number }>;
  notes: string[];
  /** For ts-mls in the updated tree: a Welcome it can join, and a GroupInfo (RFC form) + signer key. */
  tsWelcome?: Uint8Array;
  tsKps?: T.TsKeyPackage[];
  groupInfo?: Uint8Array;
  groupInfoSigner?: Uint8Array;
}

/**
 * KeyPackages of newcomers (setup, not measured). Made with the WebCrypto backend: KeyPackages are
 * backend-independent bytes, and node 20.20's generateKeyPairSync (the node backend's key
 * generation) can deadlock after tens of thousands of calls (see signatureKeyPair above).
 */
async function keyPackages(count: number, prefix: string): Promise<Awaited<ReturnType<typeof mls.createKeyPackage>>[]> {
  const out = [];
  for (let i = 0; i < count; i++) {
    out.push(await mls.createKeyPackage({ identity: utf8(`${prefix}${i}`), crypto: 'webcrypto' }));
    if (i % 2000 === 1999) progress(`  ${i + 1}/${count} KeyPackages`);
  }
  return out;
}

/** shared/mls's own one-commit build of an n-member group (for the notes). */
async function oneCommitBuild(n: number): Promise<string> {
  const kps = await keyPackages(n - 1, 'm');
  const creator = await mls.createGroup({ groupId: utf8(`one-commit-${n}`), identity: utf8('creator') });
  const [built, ms] = await timed(() => mls.createCommit(creator, { add: kps.map((k) => k.keyPackage) }));
  return `shared/mls createCommit adding ${n - 1} members to a new group: ${ms.toFixed(0)} ms (Welcome ${built.welcome!.length} B)`;
}

/**
 * shared/mls on a synthetic n-member tree of the given shape. worst: the creator (leaf 0) adds the
 * newcomers (P, Q; X, Y for ts-mls) and is the committer (its copath resolves to every leaf).
 * updated: the last member adds them and newcomer P commits (O(log n) path). Q processes; P joins
 * by Welcome; a stranger joins by external commit from the committer's GroupInfo.
 */
async function oursBench(shape: TreeShape, n: number, withTs: boolean): Promise<OursResult> {
  const rows = new Map<Op, Timing & { bytes: number }>();
  const notes: string[] = [];
  const suite = getCipherSuite(SUITE, BACKEND);
  const groupId = utf8(`${shape}-${n}`);
  // updated: the adder is the last leaf, so its commit path covers every non-blank ancestor of the
  // appended newcomers and the tree keeps no unmerged leaves. (ts-mls 1.6.4 rejects RFC-valid trees
  // where a newcomer is unmerged at a parent whose ancestor was refreshed: clientState.js
  // validateRatchetTree compares the whole unmerged_leaves list of EVERY non-blank node on the
  // leaf's direct path, where §12.4.3.1 asks only that intermediate nodes between the leaf and the
  // parent list the leaf.)
  const [a, tSynth] = await timed(() => syntheticGroup(shape, suite, groupId, n, shape === 'worst' ? 0 : n - 1));
  notes.push(`${shape} ${n}: tree synthesized in ${tSynth.toFixed(0)} ms`);
  progress(`  ${shape} tree of ${n} synthesized (${tSynth.toFixed(0)} ms)`);
  const [p, q] = await keyPackages(2, 'new');
  const tsKps = withTs && shape === 'updated' ? [await T.tsKeyPackage(await T.tsImpl(SUITE), utf8('x')), await T.tsKeyPackage(await T.tsImpl(SUITE), utf8('y'))] : [];
  const [add, tAdd] = await timed(() => mls.createCommit(a, { add: [p!.keyPackage, q!.keyPackage, ...tsKps.map((k) => k.bytes)] }));
  progress(`  ${shape}: newcomers added by one commit (${tAdd.toFixed(0)} ms)`);
  const w = add.welcome!;
  // Join by Welcome: timed when selected, else one untimed join (P and Q are needed below).
  const jw = OPS_SELECTED.has('join-welcome')
    ? await profiled(`${n}-${shape}-join-welcome`, () => median(reps(n), () => mls.joinWelcome({ welcome: w, keyPackagePrivate: p!.private })))
    : undefined;
  if (jw) rows.set('join-welcome', { ...timing(jw), bytes: w.length });
  const P = jw ? jw.result : await mls.joinWelcome({ welcome: w, keyPackagePrivate: p!.private });
  const Q = await mls.joinWelcome({ welcome: w, keyPackagePrivate: q!.private });
  same(mls.epochAuthenticator(P), mls.epochAuthenticator(add.pendingState), 'Welcome joiner agrees with the adder');
  if (jw) progress(`  shared/mls join-welcome ${jw.ms.toFixed(1)} ms`);
  const committer = shape === 'worst' ? add.pendingState : P;
  if (OPS_SELECTED.has('commit-create') || OPS_SELECTED.has('commit-process')) {
    const k = shape === 'worst' ? reps(n) : reps(n) * 2;
    const cc = await profiled(`${n}-${shape}-commit-create`, () => median(k, () => mls.createCommit(committer)));
    if (OPS_SELECTED.has('commit-create')) rows.set('commit-create', { ...timing(cc), bytes: cc.result.commit.length });
    if (OPS_SELECTED.has('commit-process')) {
      const cp = await profiled(`${n}-${shape}-commit-process`, () => median(k, () => mls.processMessage(Q, cc.result.commit)));
      rows.set('commit-process', { ...timing(cp), bytes: cc.result.commit.length });
      same(mls.epochAuthenticator(cp.result.newState), mls.epochAuthenticator(cc.result.pendingState), 'commit processed to the same epoch');
      progress(`  shared/mls commit-process ${cp.ms.toFixed(2)} ms`);
    }
    progress(`  shared/mls commit-create ${cc.ms.toFixed(2)} ms (${cc.result.commit.length} B)`);
  }
  const gi = await mls.groupInfo(committer);
  if (OPS_SELECTED.has('join-external')) {
    const je = await profiled(`${n}-${shape}-join-external`, () => median(reps(n), () => mls.joinExternal({ groupInfo: gi, identity: utf8('external') })));
    rows.set('join-external', { ...timing(je), bytes: je.result.commit.length });
    progress(`  shared/mls join-external ${je.ms.toFixed(1)} ms`);
  }
  notes.push(`${shape} ${n}: GroupInfo (ratchet_tree + external_pub) ${gi.length} B`);
  const out: OursResult = { rows, notes, groupInfo: gi, groupInfoSigner: committer.signaturePrivateKey };
  if (tsKps.length) {
    out.tsWelcome = w;
    out.tsKps = tsKps;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ts-mls measurements (same operations)

async function tsWorst(n: number): Promise<Map<Op, Timing>> {
  const impl = await T.tsImpl(SUITE);
  const out = new Map<Op, Timing>();
  const kps: T.TsKeyPackage[] = [];
  for (let i = 0; i < n - 1; i++) kps.push(await T.tsKeyPackage(impl, utf8(`m${i}`)));
  let creator = await T.tsCreateGroup(impl, utf8(`ts-worst-${n}`), utf8('creator'));
  const [built, tBuild] = await timed(() => T.tsCommit(impl, creator, { add: kps.map((k) => k.bytes) }));
  creator = built.state;
  progress(`  ts-mls: ${n}-member group built by one commit (${tBuild.toFixed(0)} ms)`);
  const jw = await median(tsReps(n), () => T.tsJoinWelcome(impl, built.welcome!, kps[kps.length - 1]!));
  out.set('join-welcome', timing(jw));
  progress(`  ts-mls join-welcome ${jw.ms.toFixed(1)} ms`);
  const cc = await median(tsReps(n), () => T.tsCommit(impl, creator));
  out.set('commit-create', timing(cc));
  const cp = await median(tsReps(n), () => T.tsProcess(impl, jw.result, cc.result.commit));
  out.set('commit-process', timing(cp));
  same(T.tsEpochAuthenticator(cp.result), T.tsEpochAuthenticator(cc.result.state), 'ts-mls commit processed to the same epoch');
  progress(`  ts-mls commit-create ${cc.ms.toFixed(1)} ms, commit-process ${cp.ms.toFixed(1)} ms`);
  const gi = await T.tsGroupInfo(impl, creator);
  const je = await median(tsReps(n), () => T.tsJoinExternal(impl, gi, utf8('external')));
  out.set('join-external', timing(je));
  progress(`  ts-mls join-external ${je.ms.toFixed(1)} ms`);
  return out;
}

async function tsUpdated(n: number, ours: OursResult): Promise<Map<Op, Timing>> {
  const impl = await T.tsImpl(SUITE);
  const out = new Map<Op, Timing>();
  const [kx, ky] = ours.tsKps!;
  const jw = await median(tsReps(n), () => T.tsJoinWelcome(impl, ours.tsWelcome!, kx!));
  out.set('join-welcome', timing(jw));
  const X = jw.result;
  const Y = await T.tsJoinWelcome(impl, ours.tsWelcome!, ky!);
  progress(`  ts-mls join-welcome ${jw.ms.toFixed(1)} ms`);
  const cc = await median(tsReps(n), () => T.tsCommit(impl, X));
  out.set('commit-create', timing(cc));
  const cp = await median(tsReps(n), () => T.tsProcess(impl, Y, cc.result.commit));
  out.set('commit-process', timing(cp));
  same(T.tsEpochAuthenticator(cp.result), T.tsEpochAuthenticator(cc.result.state), 'ts-mls commit processed to the same epoch');
  progress(`  ts-mls commit-create ${cc.ms.toFixed(2)} ms, commit-process ${cp.ms.toFixed(2)} ms`);
  // Same GroupInfo as shared/mls used, in the bare-key external_pub form ts-mls 1.6.4 reads.
  const conv = await T.groupInfoForTsMls(impl, ours.groupInfo!, ours.groupInfoSigner!, getCipherSuite(SUITE).hpke.Npk);
  const je = await median(tsReps(n), () => T.tsJoinExternal(impl, conv.groupInfo, utf8('external')));
  out.set('join-external', timing(je));
  progress(`  ts-mls join-external ${je.ms.toFixed(1)} ms`);
  return out;
}

// ---------------------------------------------------------------------------------------------

const rows: Row[] = [];
const notes: string[] = [];
console.log(`MLS benchmark: suite ${SUITE} (X25519/AES-128-GCM/SHA-256/Ed25519), shared/mls backend ${BACKEND_NAME}, ts-mls 1.6.4 default provider; sizes ${SIZES.join(', ')}`);
let tsSkippedFrom: number | undefined;
for (const n of SIZES) {
  for (const shape of TREES) {
    const withTs = n <= TS_MAX;
    progress(`size ${n}, ${shape} tree`);
    const ours = await oursBench(shape, n, withTs);
    notes.push(...ours.notes);
    if (shape === 'worst' && n <= ONE_COMMIT_MAX) notes.push(await oneCommitBuild(n));
    let ts: Map<Op, Timing> | undefined;
    if (withTs) {
      try {
        ts = shape === 'worst' ? await tsWorst(n) : await tsUpdated(n, ours);
      } catch (e) {
        notes.push(`ts-mls failed at size ${n} ${shape}: ${(e as Error).message}`);
      }
    } else tsSkippedFrom ??= n;
    for (const op of ALL_OPS) {
      const r = ours.rows.get(op);
      if (!r) continue; // not selected (--ops)
      const row: Row = { size: n, tree: shape, op, ms: Number(r.ms.toFixed(3)), bytes: r.bytes, cpuMs: Number(r.cpuMs.toFixed(3)) };
      const t = ts?.get(op);
      if (t !== undefined) {
        row.tsMlsMs = Number(t.ms.toFixed(3));
        row.tsMlsCpuMs = Number(t.cpuMs.toFixed(3));
      }
      rows.push(row);
    }
  }
}

// Table
const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
console.log('');
console.log('times in ms: wall-clock median / CPU-time median (the machine may be shared: CPU time is the steadier figure); ratio = ts-mls / shared/mls (CPU)');
console.log('  size  tree     op              shared/mls wall/cpu     bytes    ts-mls wall/cpu   ratio');
for (const r of rows) {
  const ratio = r.tsMlsCpuMs !== undefined && r.cpuMs ? `${(r.tsMlsCpuMs / r.cpuMs).toFixed(1)}x` : '-';
  const ts = r.tsMlsMs !== undefined ? `${fmt(r.tsMlsMs)} / ${fmt(r.tsMlsCpuMs!)}` : '-';
  console.log(
    `${String(r.size).padStart(6)}  ${r.tree.padEnd(7)}  ${r.op.padEnd(15)}  ${`${fmt(r.ms)} / ${fmt(r.cpuMs!)}`.padStart(19)}  ${String(r.bytes ?? '').padStart(8)}  ${ts.padStart(17)}  ${ratio.padStart(6)}`,
  );
}
if (tsSkippedFrom !== undefined) {
  console.log(TS_MAX === 0 ? 'ts-mls not run (--no-ts)' : `ts-mls skipped at sizes >= ${tsSkippedFrom} (above --ts-max-size ${TS_MAX}: at 1000 members its one-commit build alone takes ~10-20 s and each operation seconds, so 10000 would take many minutes)`);
}
for (const n of notes) console.log(`note: ${n}`);

// Targets
const get = (size: number, tree: TreeShape, op: Op) => rows.find((r) => r.size === size && r.tree === tree && r.op === op);
console.log('');
const wc = get(1000, 'worst', 'commit-create');
const wp = get(1000, 'worst', 'commit-process');
if (wc && wp) {
  if (wc.tsMlsMs !== undefined && wp.tsMlsMs !== undefined) {
    const ratio = (wc.tsMlsMs + wp.tsMlsMs) / (wc.ms + wp.ms);
    const cpuRatio = (wc.tsMlsCpuMs! + wp.tsMlsCpuMs!) / (wc.cpuMs! + wp.cpuMs!);
    console.log(`target 1000 worst-case commit create+process >= 10x faster than ts-mls: wall ${ratio.toFixed(1)}x ${ratio >= 10 ? 'MET' : 'MISSED'}, cpu ${cpuRatio.toFixed(1)}x ${cpuRatio >= 10 ? 'MET' : 'MISSED'}`);
  } else console.log('target 1000 worst-case commit vs ts-mls: ts-mls not measured');
}
const uc = get(1000, 'updated', 'commit-create');
const up = get(1000, 'updated', 'commit-process');
if (uc && up) {
  const v = (x: number, lim: number) => `${fmt(x)} ${x < lim ? 'MET' : 'MISSED'}`;
  console.log(`target steady-state commit at 1000 < 5 ms: create wall ${v(uc.ms, 5)} / cpu ${v(uc.cpuMs!, 5)}; process wall ${v(up.ms, 5)} / cpu ${v(up.cpuMs!, 5)}`);
}
for (const shape of ['worst', 'updated'] as TreeShape[]) {
  for (const op of ['join-welcome', 'join-external'] as Op[]) {
    const r = get(10000, shape, op);
    if (r) console.log(`target ${op} of a 10000-member group (${shape} tree) < 1500 ms: wall ${fmt(r.ms)} ${r.ms < 1500 ? 'MET' : 'MISSED'} / cpu ${fmt(r.cpuMs!)} ${r.cpuMs! < 1500 ? 'MET' : 'MISSED'}`);
  }
}
if (JSON_FILE) {
  writeFileSync(JSON_FILE, JSON.stringify(rows, null, 2) + '\n');
  console.log(`wrote ${rows.length} rows to ${JSON_FILE}`);
}
progress('done');
