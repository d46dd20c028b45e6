// TreeKEM (RFC 9420 §7.4-§7.6): creating and processing UpdatePaths.
//
//   path_secret[0] random (Nh bytes); path_secret[n] = DeriveSecret(path_secret[n-1], "path")
//   node_secret[n] = DeriveSecret(path_secret[n], "node"); node key pair = DeriveKeyPair(node_secret[n])
//   commit_secret = DeriveSecret(path_secret[last], "path")
// Each path secret is encrypted (EncryptWithLabel "UpdatePathNode", context = the provisional
// GroupContext) to every node in the resolution of the matching copath child, minus leaves added
// by the same commit.
import { equal, wipe } from '../bytes/index.js';
import { decryptWithLabel, deriveSecret, encryptWithLabel, signWithLabel, verifyWithLabel, type CipherSuite } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import { randomBytes } from './random.js';
import {
  childrenToward,
  computePathParentHashes,
  filteredDirectPath,
  leafCount,
  publicKeyAt,
  resolution,
  setNodesInPlace,
  withNodes,
  type RatchetTree,
} from './ratchetTree.js';
import * as tm from './treeMath.js';
import type { LeafIndex, NodeIndex } from './treeMath.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from './wire/leafNode.js';
import { NodeType, type Node } from './wire/node.js';
import type { UpdatePath, UpdatePathNode } from './wire/updatePath.js';
import { leafTreeNode } from './intern.js';

/** Path-secret encryptions in flight at once when creating an UpdatePath. */
export const ENCRYPT_BATCH = 64;

/** An HPKE key pair a member holds for a tree node. */
export interface PathKey {
  node: NodeIndex;
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * The key pairs a member holds (its own leaf and nodes of its direct path; at most log2(n) + 1),
 * one per node, in node order. A short list rather than an object keyed by node index: V8 gives
 * an object whose first integer key is ~1000 a backing store of that many slots (12 KiB per
 * member state at 1000 members, and again for every copy made per commit).
 */
export type PathKeys = readonly PathKey[];

export function keyAt(keys: PathKeys, node: NodeIndex): PathKey | undefined {
  for (const k of keys) if (k.node === node) return k;
  return undefined;
}

/** `keys` with `more` added; a node in both takes its pair from `more`. */
export function withKeys(keys: PathKeys, more: PathKeys): PathKeys {
  const out = keys.filter((k) => keyAt(more, k.node) === undefined).concat(more);
  return out.sort((a, b) => a.node - b.node);
}

/** Keeps only the key pairs whose public key is still the one in the tree; wipes the rest. */
export function pruneKeys(tree: RatchetTree, keys: PathKeys, wipeDropped = false): PathKeys {
  return keys.filter((k) => {
    const pub = k.node < tree.nodes.length ? publicKeyAt(tree, k.node) : undefined;
    if (pub && equal(pub, k.publicKey)) return true;
    if (wipeDropped) wipe(k.privateKey);
    return false;
  });
}

export async function nodeKeyPairFromPathSecret(suite: CipherSuite, pathSecret: Uint8Array) {
  const nodeSecret = await deriveSecret(suite, pathSecret, 'node');
  const kp = await suite.hpke.deriveKeyPair(nodeSecret);
  wipe(nodeSecret);
  return kp;
}

/** Resolution of the copath child of each filtered-direct-path node, minus `exclude` leaves. */
export function pathRecipients(tree: RatchetTree, leaf: LeafIndex, fdp: readonly NodeIndex[], exclude: readonly LeafIndex[]): NodeIndex[][] {
  const ex = new Set(exclude.map((l) => 2 * l));
  return fdp.map((p) => {
    const { sibling } = childrenToward(p, 2 * leaf);
    return resolution(tree, sibling).filter((x) => !ex.has(x));
  });
}

export interface LeafTemplate {
  signatureKey: Uint8Array;
  credential: LeafNode['credential'];
  capabilities: LeafNode['capabilities'];
  extensions: LeafNode['extensions'];
}

export interface CreatedPath {
  tree: RatchetTree; // provisional tree with the path merged (tree hash cache partially filled)
  updatePath: UpdatePath;
  commitSecret: Uint8Array;
  /** path secret per filtered-direct-path node (for Welcome path_secret, §12.4.3.1). */
  pathSecrets: Map<NodeIndex, Uint8Array>;
  keys: PathKeys; // new leaf + path key pairs
}

/**
 * Creates an UpdatePath for `leaf` (§7.5) on the provisional tree (proposals already applied).
 * `contextFor(tree)` returns the encoded provisional GroupContext for the tree after the path is
 * merged (it needs the new tree hash).
 */
export async function createUpdatePath(
  suite: CipherSuite,
  tree: RatchetTree,
  leaf: LeafIndex,
  groupId: Uint8Array,
  signaturePrivateKey: Uint8Array,
  template: LeafTemplate,
  exclude: readonly LeafIndex[],
  contextFor: (tree: RatchetTree) => Promise<Uint8Array>,
  fixedLeafKeyPair?: { privateKey: Uint8Array; publicKey: Uint8Array },
): Promise<CreatedPath> {
  const fdp = filteredDirectPath(tree, leaf);
  const leafKp = fixedLeafKeyPair ?? (await suite.hpke.generateKeyPair());
  const pathSecrets = new Map<NodeIndex, Uint8Array>();
  const keys: PathKey[] = [{ node: 2 * leaf, privateKey: leafKp.privateKey, publicKey: leafKp.publicKey }];
  let secret = randomBytes(suite.kdf.Nh);
  const changes: [NodeIndex, Node | null][] = tm.directPath(2 * leaf, leafCount(tree)).map((p) => [p, null]);
  const byNode = new Map<NodeIndex, Node | null>(changes);
  for (let i = 0; i < fdp.length; i++) {
    if (i > 0) secret = await deriveSecret(suite, secret, 'path');
    const p = fdp[i]!;
    pathSecrets.set(p, secret);
    const kp = await nodeKeyPairFromPathSecret(suite, secret);
    keys.push({ node: p, privateKey: kp.privateKey, publicKey: kp.publicKey });
    byNode.set(p, { nodeType: NodeType.parent, parent: { encryptionKey: kp.publicKey, parentHash: new Uint8Array(0), unmergedLeaves: [] } });
  }
  // commit_secret = path_secret[n] for a path of n nodes; with no path it is path_secret[0].
  const commitSecret = fdp.length > 0 ? await deriveSecret(suite, secret, 'path') : secret;
  const t = withNodes(tree, byNode); // the one copy of this operation; changed in place below
  const ph = await computePathParentHashes(suite, t, leaf, fdp, true);
  const unsigned: LeafNode = {
    encryptionKey: leafKp.publicKey,
    signatureKey: template.signatureKey,
    credential: template.credential,
    capabilities: template.capabilities,
    leafNodeSource: LeafNodeSource.commit,
    parentHash: ph.leafParentHash,
    extensions: template.extensions,
    signature: new Uint8Array(0),
  };
  const signature = await signWithLabel(suite, signaturePrivateKey, 'LeafNodeTBS', encodeLeafNodeTBS(unsigned, groupId, leaf));
  const leafNode: LeafNode = { ...unsigned, signature };
  setNodesInPlace(t, [[2 * leaf, leafTreeNode(leafNode)]]);
  const context = await contextFor(t);
  const recipients = pathRecipients(t, leaf, fdp, exclude);
  const nodes: UpdatePathNode[] = [];
  for (let i = 0; i < fdp.length; i++) {
    const p = fdp[i]!;
    const ps = pathSecrets.get(p)!;
    // ENCRYPT_BATCH encryptions in flight: a backend that works off the main thread (WebCrypto)
    // runs them in parallel; a synchronous one runs them in order. Results stay in recipient order.
    const res = recipients[i]!;
    const encryptedPathSecret: UpdatePathNode['encryptedPathSecret'] = [];
    for (let k = 0; k < res.length; k += ENCRYPT_BATCH) {
      const batch = res.slice(k, k + ENCRYPT_BATCH).map((r) => encryptWithLabel(suite, publicKeyAt(t, r)!, 'UpdatePathNode', context, ps));
      try {
        encryptedPathSecret.push(...(await Promise.all(batch)));
      } catch (e) {
        for (const b of batch) b.catch(() => {});
        throw e;
      }
    }
    nodes.push({ encryptionKey: keyAt(keys, p)!.publicKey, encryptedPathSecret });
  }
  return { tree: t, updatePath: { leafNode, nodes }, commitSecret, pathSecrets, keys: keys.sort((a, b) => a.node - b.node) };
}

/**
 * Merges a received UpdatePath into the provisional tree (§7.5 receiver side, §12.4.2): checks
 * the node count against the sender's filtered direct path, sets the new public keys, recomputes
 * parent hashes and checks the leaf's parent_hash (§7.9.2) and signature.
 * `leafSignatureVerified`: the caller has just verified this leaf's LeafNodeTBS signature for
 * (groupId, sender) itself (processCommit's §7.3 validateLeafNode does), so it is not verified twice.
 * `owned`: `tree` is the caller's own fresh copy (from this commit's proposals or new leaf), shared
 * with no state, so the path is merged into it in place instead of into one more O(n) copy.
 */
export async function applyUpdatePath(
  suite: CipherSuite,
  tree: RatchetTree,
  sender: LeafIndex,
  path: UpdatePath,
  groupId: Uint8Array,
  leafSignatureVerified = false,
  owned = false,
): Promise<RatchetTree> {
  const fdp = filteredDirectPath(tree, sender);
  check(path.nodes.length === fdp.length, 'update-path-length', `UpdatePath has ${path.nodes.length} nodes, filtered direct path has ${fdp.length} (§7.6)`);
  for (const n of path.nodes) check(n.encryptionKey.length === suite.hpke.Npk, 'bad-public-key', 'UpdatePath node key has the wrong length (§5.1.1)');
  const leafNode = path.leafNode;
  check(leafNode.leafNodeSource === LeafNodeSource.commit, 'leaf-node-source', 'UpdatePath leaf_node_source must be commit (§7.3)');
  if (!leafSignatureVerified) {
    const ok = await verifyWithLabel(suite, leafNode.signatureKey, 'LeafNodeTBS', encodeLeafNodeTBS(leafNode, groupId, sender), leafNode.signature);
    check(ok, 'leaf-signature', 'UpdatePath leaf node signature does not verify (§7.3)');
  }
  const byNode = new Map<NodeIndex, Node | null>(tm.directPath(2 * sender, leafCount(tree)).map((p) => [p, null]));
  for (let i = 0; i < fdp.length; i++) {
    byNode.set(fdp[i]!, {
      nodeType: NodeType.parent,
      parent: { encryptionKey: path.nodes[i]!.encryptionKey, parentHash: new Uint8Array(0), unmergedLeaves: [] },
    });
  }
  let t = tree;
  if (owned) setNodesInPlace(t, byNode);
  else t = withNodes(tree, byNode); // the one copy of this operation; changed in place below
  const ph = await computePathParentHashes(suite, t, sender, fdp, true);
  check(leafNode.parentHash !== undefined && equal(leafNode.parentHash, ph.leafParentHash), 'parent-hash-mismatch', 'UpdatePath leaf parent_hash does not match the path (§7.9.2)');
  setNodesInPlace(t, [[2 * sender, leafTreeNode(leafNode)]]);
  return t;
}

/**
 * Decrypts the path secret meant for `own` from an UpdatePath already merged into `tree`
 * (§7.5): returns the commit secret and the key pairs for the sender's path above the common
 * ancestor, after checking that they match the public keys sent.
 */
export async function decryptUpdatePath(
  suite: CipherSuite,
  tree: RatchetTree,
  own: LeafIndex,
  sender: LeafIndex,
  path: UpdatePath,
  keys: PathKeys,
  exclude: readonly LeafIndex[],
  context: Uint8Array,
): Promise<{ commitSecret: Uint8Array; keys: PathKeys; pathSecret: Uint8Array; node: NodeIndex }> {
  const fdp = filteredDirectPath(tree, sender);
  const recipients = pathRecipients(tree, sender, fdp, exclude);
  let i = fdp.findIndex((p) => tm.isInSubtree(2 * own, childrenToward(p, 2 * sender).sibling));
  if (i < 0) throw new MlsError('update-path-no-secret', 'no UpdatePath node covers this member (§7.5)');
  const res = recipients[i]!;
  const j = res.findIndex((x) => {
    const k = keyAt(keys, x);
    return k !== undefined && equal(k.publicKey, publicKeyAt(tree, x) ?? new Uint8Array(0));
  });
  if (j < 0) throw new MlsError('update-path-no-key', 'no private key for the resolution node (§7.5)');
  const ct = path.nodes[i]!.encryptedPathSecret[j];
  check(ct !== undefined, 'update-path-ciphertexts', 'UpdatePath node lacks a ciphertext for this member (§7.6)');
  check(path.nodes[i]!.encryptedPathSecret.length === res.length, 'update-path-ciphertexts', 'UpdatePath ciphertext count differs from the resolution size (§7.6)');
  let secret: Uint8Array;
  try {
    secret = await decryptWithLabel(suite, keyAt(keys, res[j]!)!.privateKey, 'UpdatePathNode', context, ct.kemOutput, ct.ciphertext);
  } catch {
    throw new MlsError('update-path-decrypt', 'path secret does not decrypt (§7.5)');
  }
  const first = secret;
  const node = fdp[i]!;
  const newKeys: PathKey[] = [];
  for (; i < fdp.length; i++) {
    const kp = await nodeKeyPairFromPathSecret(suite, secret);
    check(equal(kp.publicKey, path.nodes[i]!.encryptionKey), 'path-key-mismatch', `derived public key differs at node ${fdp[i]} (§7.5)`);
    newKeys.push({ node: fdp[i]!, privateKey: kp.privateKey, publicKey: kp.publicKey });
    const next = await deriveSecret(suite, secret, 'path');
    if (secret !== first) wipe(secret);
    secret = next;
  }
  return { commitSecret: secret, keys: withKeys(keys, newKeys), pathSecret: first, node };
}

/** Key pairs from a Welcome's path_secret at `node` up to the root (§12.4.3.1). */
export async function keysFromPathSecret(
  suite: CipherSuite,
  tree: RatchetTree,
  own: LeafIndex,
  node: NodeIndex,
  pathSecret: Uint8Array,
): Promise<PathKeys> {
  const fdp = filteredDirectPath(tree, own);
  let i = fdp.indexOf(node);
  check(i >= 0, 'welcome-path-secret', 'path_secret node is not on the filtered direct path (§12.4.3.1)');
  const out: PathKey[] = [];
  let secret = pathSecret;
  for (; i < fdp.length; i++) {
    const p = fdp[i]!;
    const kp = await nodeKeyPairFromPathSecret(suite, secret);
    const pub = publicKeyAt(tree, p);
    check(pub !== undefined && equal(pub, kp.publicKey), 'welcome-path-key-mismatch', `path_secret does not match node ${p} (§12.4.3.1)`);
    out.push({ node: p, privateKey: kp.privateKey, publicKey: kp.publicKey });
    const next = await deriveSecret(suite, secret, 'path');
    if (secret !== pathSecret) wipe(secret);
    secret = next;
  }
  wipe(secret);
  return out;
}

