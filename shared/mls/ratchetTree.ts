// The ratchet tree (RFC 9420 §4, §7): array form, blanks, unmerged leaves, resolution, filtered
// direct paths, adding/removing/updating leaves, truncation, tree hashes (§7.8) and parent hashes
// (§7.9).
//
// A RatchetTree is plain data: `nodes` (null = blank) always holds a full tree of 2^k leaves, and
// `hashes` caches the tree hash of each node. Every change goes through `withNodes`, which copies
// both arrays and clears the cached hashes of the changed nodes and their ancestors, so a cache
// array belongs to exactly one tree content and filling it (memoization) never changes meaning.
// Only changed paths are rehashed: a commit at n members costs O(log n) hashes.
import { equal } from '../bytes/index.js';
import { encode, type Writer } from '../codec/index.js';
import type { CipherSuite } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import * as tm from './treeMath.js';
import type { LeafIndex, NodeIndex } from './treeMath.js';
import { NodeType, type Node, type NodeList } from './wire/node.js';
import { writeLeafNode, type LeafNode } from './wire/leafNode.js';
import { writeParentNode, type ParentNode } from './wire/parentNode.js';
import { leafTreeNode, shareHash, shareParentNode } from './intern.js';

export interface RatchetTree {
  nodes: NodeList;
  hashes: (Uint8Array | null)[];
}

export function leafCount(tree: RatchetTree): number {
  return (tree.nodes.length + 1) / 2;
}

/** Builds a tree from a decoded ratchet_tree, padding with blanks to a full tree (§12.4.3.3). */
export function treeFromNodeList(list: NodeList): RatchetTree {
  let leaves = 1;
  while (2 * leaves - 1 < list.length) leaves *= 2;
  const nodes: NodeList = list.slice();
  while (nodes.length < 2 * leaves - 1) nodes.push(null);
  return { nodes, hashes: new Array(nodes.length).fill(null) };
}

export function leafAt(tree: RatchetTree, leaf: LeafIndex): LeafNode | undefined {
  const n = tree.nodes[2 * leaf];
  return n && n.nodeType === NodeType.leaf ? n.leaf : undefined;
}

export function parentAt(tree: RatchetTree, node: NodeIndex): ParentNode | undefined {
  const n = tree.nodes[node];
  return n && n.nodeType === NodeType.parent ? n.parent : undefined;
}

/** Encryption key of any non-blank node. */
export function publicKeyAt(tree: RatchetTree, node: NodeIndex): Uint8Array | undefined {
  const n = tree.nodes[node];
  if (!n) return undefined;
  return n.nodeType === NodeType.leaf ? n.leaf.encryptionKey : n.parent.encryptionKey;
}

/**
 * Sets nodes in a tree the caller owns (fresh from withNodes, not yet shared with any state),
 * clearing the cached hashes of the changed nodes and their ancestors.
 */
export function setNodesInPlace(tree: RatchetTree, changes: Iterable<[NodeIndex, Node | null]>): void {
  const n = leafCount(tree);
  const r = tm.root(n);
  for (const [i, node] of changes) {
    tree.nodes[i] = node;
    for (let x = i; ; x = tm.parent(x, n)) {
      tree.hashes[x] = null;
      if (x === r) break;
    }
  }
}

/** A new tree with the given nodes replaced (null blanks a node); cached hashes of changed paths dropped. */
export function withNodes(tree: RatchetTree, changes: Iterable<[NodeIndex, Node | null]>): RatchetTree {
  const nodes = tree.nodes.slice();
  const hashes = tree.hashes.slice();
  const n = leafCount(tree);
  const r = tm.root(n);
  for (const [i, node] of changes) {
    if (i < 0 || i >= nodes.length) throw new RangeError(`node index ${i} outside the tree`);
    nodes[i] = node;
    let x = i;
    hashes[x] = null;
    while (x !== r) {
      x = tm.parent(x, n);
      hashes[x] = null;
    }
  }
  return { nodes, hashes };
}

/** §7.7: while the right half has no non-blank leaf, drop it. */
export function truncate(tree: RatchetTree): RatchetTree {
  let nodes = tree.nodes;
  let hashes = tree.hashes;
  let leaves = (nodes.length + 1) / 2;
  while (leaves > 1) {
    let rightNonBlank = false;
    for (let l = leaves / 2; l < leaves; l++) {
      if (nodes[2 * l]) {
        rightNonBlank = true;
        break;
      }
    }
    if (rightNonBlank) break;
    leaves /= 2;
    nodes = nodes.slice(0, 2 * leaves - 1);
    hashes = hashes.slice(0, 2 * leaves - 1);
  }
  return nodes === tree.nodes ? tree : { nodes, hashes };
}

/** Resolution of a node (§4.1.1): its non-blank descendants covering its subtree, unmerged leaves included. */
export function resolution(tree: RatchetTree, x: NodeIndex): NodeIndex[] {
  const out: NodeIndex[] = [];
  resolve(tree, x, out);
  return out;
}
function resolve(tree: RatchetTree, x: NodeIndex, out: NodeIndex[]): void {
  const n = tree.nodes[x];
  if (n) {
    out.push(x);
    if (n.nodeType === NodeType.parent) for (const l of n.parent.unmergedLeaves) out.push(2 * l);
    return;
  }
  if (tm.isLeaf(x)) return;
  resolve(tree, tm.left(x), out);
  resolve(tree, tm.right(x), out);
}

function resolutionIsEmpty(tree: RatchetTree, x: NodeIndex): boolean {
  if (tree.nodes[x]) return false;
  if (tm.isLeaf(x)) return true;
  return resolutionIsEmpty(tree, tm.left(x)) && resolutionIsEmpty(tree, tm.right(x));
}

/** Filtered direct path of a leaf (§4.1.2): direct path minus nodes whose copath child resolves to nothing. */
export function filteredDirectPath(tree: RatchetTree, leaf: LeafIndex): NodeIndex[] {
  const n = leafCount(tree);
  const x = 2 * leaf;
  const dp = tm.directPath(x, n);
  const out: NodeIndex[] = [];
  let child = x;
  for (const p of dp) {
    const copathChild = tm.sibling(child, n);
    if (!resolutionIsEmpty(tree, copathChild)) out.push(p);
    child = p;
  }
  return out;
}

/** The child of `p` on the way to `x` and the other child (for parent hashes and UpdatePath encryption). */
export function childrenToward(p: NodeIndex, x: NodeIndex): { child: NodeIndex; sibling: NodeIndex } {
  const l = tm.left(p);
  const r = tm.right(p);
  return tm.isInSubtree(x, l) ? { child: l, sibling: r } : { child: r, sibling: l };
}

/** Adds a leaf at the leftmost blank leaf, extending the tree if full (§7.7, §12.1.1). */
export function addLeaf(tree: RatchetTree, leafNode: LeafNode): { tree: RatchetTree; leaf: LeafIndex } {
  const r = addLeavesInPlace(withNodes(tree, []), [leafNode]);
  return { tree: r.tree, leaf: r.leaves[0]! };
}

/**
 * Adds leaves in order, each at the leftmost blank leaf, doubling the tree when it is full, and
 * lists each new leaf in the unmerged_leaves of every non-blank parent above it (§7.7, §12.1.1),
 * on a tree the caller owns (changed in place). A cursor walks the leaves once and each
 * unmerged_leaves list is rebuilt once at the end: O(n + a log n) for a adds, where adding them
 * one by one (copy, scan for a blank, sorted insert) cost O(n) each.
 */
export function addLeavesInPlace(tree: RatchetTree, leafNodes: readonly LeafNode[]): { tree: RatchetTree; leaves: LeafIndex[] } {
  const t = tree;
  let n = leafCount(t);
  let cursor = 0;
  const leaves: LeafIndex[] = [];
  const unmergedAdds = new Map<NodeIndex, LeafIndex[]>();
  for (const leafNode of leafNodes) {
    while (cursor < n && t.nodes[2 * cursor]) cursor++;
    if (cursor === n) {
      // Full: the old root becomes the left child of a new root; the new half is blank.
      const size = t.nodes.length;
      for (let i = 0; i <= size; i++) {
        t.nodes.push(null);
        t.hashes.push(null);
      }
      n *= 2;
    }
    const leaf = cursor++;
    t.nodes[2 * leaf] = leafTreeNode(leafNode);
    t.hashes[2 * leaf] = null;
    for (const p of tm.directPath(2 * leaf, n)) {
      t.hashes[p] = null;
      if (parentAt(t, p)) {
        let list = unmergedAdds.get(p);
        if (!list) unmergedAdds.set(p, (list = []));
        list.push(leaf);
      }
    }
    leaves.push(leaf);
  }
  for (const [p, added] of unmergedAdds) {
    const pn = parentAt(t, p)!;
    const unmergedLeaves = pn.unmergedLeaves.concat(added).sort((a, b) => a - b);
    t.nodes[p] = { nodeType: NodeType.parent, parent: { ...pn, unmergedLeaves } };
  }
  return { tree: t, leaves };
}

/** Blanks the direct path of a leaf (§7.7). */
function blankPathChanges(tree: RatchetTree, leaf: LeafIndex): [NodeIndex, Node | null][] {
  return tm.directPath(2 * leaf, leafCount(tree)).map((p) => [p, null]);
}

/** Update proposal (§12.1.2) on a tree the caller owns: replace the leaf and blank its direct path. */
export function updateLeafInPlace(tree: RatchetTree, leaf: LeafIndex, leafNode: LeafNode): void {
  setNodesInPlace(tree, [[2 * leaf, leafTreeNode(leafNode)], ...blankPathChanges(tree, leaf)]);
}

/** Remove proposal (§12.1.3) on a tree the caller owns, without truncating (truncate once after all removes). */
export function removeLeafInPlace(tree: RatchetTree, leaf: LeafIndex): void {
  check(leafAt(tree, leaf) !== undefined, 'remove-blank-leaf', `leaf ${leaf} is blank or outside the tree (§12.1.3)`);
  setNodesInPlace(tree, [[2 * leaf, null], ...blankPathChanges(tree, leaf)]);
}

/** Update proposal (§12.1.2): replace the leaf and blank its direct path. */
export function updateLeaf(tree: RatchetTree, leaf: LeafIndex, leafNode: LeafNode): RatchetTree {
  return withNodes(tree, [[2 * leaf, leafTreeNode(leafNode)], ...blankPathChanges(tree, leaf)]);
}

/** Remove proposal (§12.1.3): blank the leaf and its direct path, then truncate. */
export function removeLeaf(tree: RatchetTree, leaf: LeafIndex): RatchetTree {
  check(leafAt(tree, leaf) !== undefined, 'remove-blank-leaf', `leaf ${leaf} is blank or outside the tree (§12.1.3)`);
  return truncate(withNodes(tree, [[2 * leaf, null], ...blankPathChanges(tree, leaf)]));
}

/** Leaf indices of all non-blank leaves. */
export function nonBlankLeaves(tree: RatchetTree): LeafIndex[] {
  const out: LeafIndex[] = [];
  for (let l = 0; l < leafCount(tree); l++) if (tree.nodes[2 * l]) out.push(l);
  return out;
}

// ---- Tree hashes (§7.8) ----
//   struct { uint32 leaf_index; optional<LeafNode> leaf_node; } LeafNodeHashInput;
//   struct { optional<ParentNode> parent_node; opaque left_hash<V>; opaque right_hash<V>; } ParentNodeHashInput;
//   struct { NodeType node_type; select (node_type) { case leaf: LeafNodeHashInput; case parent: ParentNodeHashInput; } } TreeHashInput;

function leafHashInput(leaf: LeafIndex, node: LeafNode | undefined): Uint8Array {
  return encode((w: Writer) => {
    w.u8(NodeType.leaf);
    w.u32(leaf);
    w.optional(node, writeLeafNode);
  });
}
function parentHashInput(node: ParentNode | undefined, leftHash: Uint8Array, rightHash: Uint8Array): Uint8Array {
  return encode((w: Writer) => {
    w.u8(NodeType.parent);
    w.optional(node, writeParentNode);
    w.varBytes(leftHash);
    w.varBytes(rightHash);
  });
}

/**
 * Tree hash of node x (default: the root), filling the tree's hash cache. Iterative: the nodes
 * below x whose hash is not cached are listed parent-first, then hashed in reverse order (every
 * child before its parent), so each node is encoded and hashed once, in one async frame.
 */
export async function treeHash(suite: CipherSuite, tree: RatchetTree, x: NodeIndex = tm.root(leafCount(tree))): Promise<Uint8Array> {
  const cached = tree.hashes[x];
  if (cached) return cached;
  const order: NodeIndex[] = [];
  const stack: NodeIndex[] = [x];
  while (stack.length > 0) {
    const y = stack.pop()!;
    if (tree.hashes[y]) continue;
    order.push(y);
    if (!tm.isLeaf(y)) stack.push(tm.left(y), tm.right(y));
  }
  for (let i = order.length - 1; i >= 0; i--) {
    const y = order[i]!;
    const input = tm.isLeaf(y)
      ? leafHashInput(y / 2, leafAt(tree, y / 2))
      : parentHashInput(parentAt(tree, y), tree.hashes[tm.left(y)]!, tree.hashes[tm.right(y)]!);
    tree.hashes[y] = shareHash(await suite.hash.digest(input));
  }
  return tree.hashes[x]!;
}

/**
 * Tree hash of node x in the tree where the leaves in `excluded` are blanked and removed from
 * every unmerged_leaves list (§7.9: original_sibling_tree_hash). Uses the cache for subtrees
 * that contain no excluded leaf, so the cost is O(|excluded| log n) hashes.
 */
export async function treeHashExcluding(suite: CipherSuite, tree: RatchetTree, x: NodeIndex, excluded: readonly LeafIndex[]): Promise<Uint8Array> {
  const [lo, hi] = tm.leafRange(x);
  const inside = excluded.filter((l) => l >= lo && l <= hi);
  if (inside.length === 0) return treeHash(suite, tree, x);
  if (tm.isLeaf(x)) return suite.hash.digest(leafHashInput(x / 2, undefined));
  const lh = await treeHashExcluding(suite, tree, tm.left(x), inside);
  const rh = await treeHashExcluding(suite, tree, tm.right(x), inside);
  let p = parentAt(tree, x);
  if (p) {
    const drop = new Set(inside);
    p = { ...p, unmergedLeaves: p.unmergedLeaves.filter((l) => !drop.has(l)) };
  }
  return suite.hash.digest(parentHashInput(p, lh, rh));
}

// ---- Parent hashes (§7.9) ----
//   struct { HPKEPublicKey encryption_key; opaque parent_hash<V>; opaque original_sibling_tree_hash<V>; } ParentHashInput;

export async function parentHash(suite: CipherSuite, encryptionKey: Uint8Array, parentHashOfP: Uint8Array, originalSiblingTreeHash: Uint8Array): Promise<Uint8Array> {
  return suite.hash.digest(parentHashInputBytes(encryptionKey, parentHashOfP, originalSiblingTreeHash));
}

/** ParentHashInput bytes (§7.9). */
function parentHashInputBytes(encryptionKey: Uint8Array, parentHashOfP: Uint8Array, originalSiblingTreeHash: Uint8Array): Uint8Array {
  return encode((w) => {
    w.varBytes(encryptionKey);
    w.varBytes(parentHashOfP);
    w.varBytes(originalSiblingTreeHash);
  });
}

/**
 * Parent hash of non-blank parent P with copath child S, using P's own unmerged leaves (§7.9).
 * The original sibling tree hash is the cached tree hash of S unless one of P's unmerged leaves
 * lies below S.
 */
function parentHashOf(suite: CipherSuite, tree: RatchetTree, pn: ParentNode, s: NodeIndex): Promise<Uint8Array> {
  const [lo, hi] = tm.leafRange(s);
  const cached = tree.hashes[s];
  if (cached && !pn.unmergedLeaves.some((l) => l >= lo && l <= hi)) return suite.hash.digest(parentHashInputBytes(pn.encryptionKey, pn.parentHash, cached));
  return treeHashExcluding(suite, tree, s, pn.unmergedLeaves).then((sib) => parentHash(suite, pn.encryptionKey, pn.parentHash, sib));
}

function parentHashField(node: Node): Uint8Array | undefined {
  if (node.nodeType === NodeType.parent) return node.parent.parentHash;
  return node.leaf.parentHash; // only set for leaf_node_source = commit
}

/**
 * Resolution of x (§4.1.1) appended to `out`, stopping as soon as it holds more than `limit`
 * nodes; returns false when it stopped early. Blank nodes are walked only down to the first
 * non-blank node, so over all parents of a tree the walks are O(n).
 */
function resolveUpTo(tree: RatchetTree, x: NodeIndex, limit: number, out: NodeIndex[]): boolean {
  const n = tree.nodes[x];
  if (n) {
    out.push(x);
    if (n.nodeType === NodeType.parent) for (const l of n.parent.unmergedLeaves) out.push(2 * l);
    return out.length <= limit;
  }
  if (tm.isLeaf(x)) return true;
  return resolveUpTo(tree, tm.left(x), limit, out) && resolveUpTo(tree, tm.right(x), limit, out);
}

/** §7.1: the entries of unmerged_leaves MUST be sorted in increasing order (so also distinct). */
export function checkUnmergedLeavesSorted(tree: RatchetTree): void {
  for (let p = 1; p < tree.nodes.length; p += 2) {
    const pn = parentAt(tree, p);
    if (!pn) continue;
    const u = pn.unmergedLeaves;
    for (let i = 1; i < u.length; i++) {
      if (!(u[i - 1]! < u[i]!)) throw new MlsError('unmerged-leaves-unsorted', `parent ${p} unmerged_leaves are not strictly increasing (§7.1)`);
    }
  }
}

/**
 * §7.9.2 top-down: every non-blank parent P must have exactly one descendant D for which D's
 * parent_hash is valid with respect to P. For a child C of P, D must be in resolution(C) with
 * resolution(C) \ {D} = P.unmerged_leaves ∩ subtree(C), so resolution(C) has exactly
 * |P.unmerged_leaves ∩ subtree(C)| + 1 nodes and D is the one that is not an unmerged leaf: at
 * most one candidate per child, found by a bounded resolution walk. Linear in the tree size
 * (plus the unmerged_leaves entries), never quadratic.
 */
export async function verifyParentHashes(suite: CipherSuite, tree: RatchetTree): Promise<void> {
  checkUnmergedLeavesSorted(tree);
  const res: NodeIndex[] = [];
  for (let p = 1; p < tree.nodes.length; p += 2) {
    const pn = parentAt(tree, p);
    if (!pn) continue;
    const l = tm.left(p);
    const r = tm.right(p);
    // The candidate found synchronously below each child; one hash per candidate.
    const viaLeft = parentHashCandidate(tree, pn, l, res);
    const viaRight = parentHashCandidate(tree, pn, r, res);
    let found = 0;
    if (viaLeft && equal(viaLeft, await parentHashOf(suite, tree, pn, r))) found++;
    if (viaRight && equal(viaRight, await parentHashOf(suite, tree, pn, l))) found++;
    if (found !== 1) throw new MlsError('parent-hash-invalid', `parent node ${p} is not parent-hash valid (§7.9.2), ${found} chains`);
  }
}

/**
 * The parent_hash field of the one descendant D below child c of parent P that could be valid
 * w.r.t. P (D in resolution(c), resolution(c) minus {D} = P's unmerged leaves below c), if any.
 */
function parentHashCandidate(tree: RatchetTree, pn: ParentNode, c: NodeIndex, res: NodeIndex[]): Uint8Array | undefined {
  const [lo, hi] = tm.leafRange(c);
  let unmergedInC = 0;
  for (const u of pn.unmergedLeaves) if (u >= lo && u <= hi) unmergedInC++;
  res.length = 0;
  if (!resolveUpTo(tree, c, unmergedInC + 1, res) || res.length !== unmergedInC + 1) return undefined;
  let d: NodeIndex | undefined = res[0];
  if (unmergedInC > 0) {
    // resolution(C) minus P's unmerged leaves below C must leave exactly one node: D.
    const unmerged = new Set<NodeIndex>();
    for (const u of pn.unmergedLeaves) if (u >= lo && u <= hi) unmerged.add(2 * u);
    d = undefined;
    for (const y of res) {
      if (unmerged.has(y)) continue;
      if (d !== undefined) return undefined;
      d = y;
    }
  }
  return d === undefined ? undefined : parentHashField(tree.nodes[d]!);
}

/**
 * Sets the parent_hash fields along a freshly written filtered direct path (root first) and
 * returns the parent hash the leaf must carry (§7.9: parent hash of the lowest path node with its
 * copath child). `path` lists the filtered direct path bottom-up; the nodes must already hold
 * their new encryption keys with empty unmerged_leaves.
 */
export async function computePathParentHashes(
  suite: CipherSuite,
  tree: RatchetTree,
  leaf: LeafIndex,
  path: readonly NodeIndex[],
  inPlace = false,
): Promise<{ tree: RatchetTree; leafParentHash: Uint8Array }> {
  // One copy for the whole path (none when the caller owns `tree`); then filled in place.
  const t = inPlace ? tree : withNodes(tree, []);
  const n = leafCount(t);
  const r = tm.root(n);
  let above: Uint8Array = new Uint8Array(0); // parent hash field for the topmost node: empty
  for (let i = path.length - 1; i >= 0; i--) {
    const p = path[i]!;
    const pn = parentAt(t, p)!;
    const updated: ParentNode = { ...pn, parentHash: above };
    t.nodes[p] = shareParentNode(updated);
    for (let x = p; ; x = tm.parent(x, n)) {
      t.hashes[x] = null;
      if (x === r) break;
    }
    const { sibling } = childrenToward(p, 2 * leaf);
    const sibHash = await treeHash(suite, t, sibling);
    above = await parentHash(suite, updated.encryptionKey, updated.parentHash, sibHash);
  }
  return { tree: t, leafParentHash: above };
}
