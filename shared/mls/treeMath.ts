// Array-based left-balanced binary trees (RFC 9420 §4.1, Appendix C). Leaves sit at even node
// indices, parents at odd ones; a tree with n leaves (n a power of two) has 2n - 1 nodes.

export type LeafIndex = number & { readonly __brand?: 'LeafIndex' };
export type NodeIndex = number & { readonly __brand?: 'NodeIndex' };

export function leafToNode(leaf: LeafIndex): NodeIndex {
  return leaf * 2;
}
export function nodeToLeaf(node: NodeIndex): LeafIndex {
  return node / 2;
}
export function isLeaf(node: NodeIndex): boolean {
  return node % 2 === 0;
}

/** Level of a node: the number of trailing one bits of its index (leaves are level 0). */
export function level(x: NodeIndex): number {
  if ((x & 1) === 0) return 0;
  let k = 0;
  while (((x >> k) & 1) === 1) k++;
  return k;
}

/** Number of nodes for `nLeaves` leaves. */
export function nodeWidth(nLeaves: number): number {
  return nLeaves === 0 ? 0 : 2 * (nLeaves - 1) + 1;
}

/** Exponent of the largest power of two <= x. */
function log2(x: number): number {
  if (x === 0) return 0;
  let k = 0;
  while (x >> k > 0) k++;
  return k - 1;
}

export function root(nLeaves: number): NodeIndex {
  const w = nodeWidth(nLeaves);
  return (1 << log2(w)) - 1;
}

export function left(x: NodeIndex): NodeIndex {
  const k = level(x);
  if (k === 0) throw new RangeError(`left: node ${x} is a leaf`);
  return x ^ (1 << (k - 1));
}

export function right(x: NodeIndex): NodeIndex {
  const k = level(x);
  if (k === 0) throw new RangeError(`right: node ${x} is a leaf`);
  return x ^ (3 << (k - 1));
}

/** Parent in a tree with `nLeaves` leaves (RangeError at the root). */
export function parent(x: NodeIndex, nLeaves: number): NodeIndex {
  if (x === root(nLeaves)) throw new RangeError(`parent: node ${x} is the root`);
  const k = level(x);
  const b = (x >> (k + 1)) & 1;
  return ((x | (1 << k)) ^ (b << (k + 1))) as NodeIndex;
}

export function sibling(x: NodeIndex, nLeaves: number): NodeIndex {
  const p = parent(x, nLeaves);
  return x < p ? right(p) : left(p);
}

/** Direct path of a node, leaf to root, excluding the node itself, including the root. */
export function directPath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  const r = root(nLeaves);
  const out: NodeIndex[] = [];
  if (x === r) return out;
  let n = x;
  while (n !== r) {
    n = parent(n, nLeaves);
    out.push(n);
  }
  return out;
}

/** Copath: siblings of the node and of each node on its direct path except the root. */
export function copath(x: NodeIndex, nLeaves: number): NodeIndex[] {
  const r = root(nLeaves);
  if (x === r) return [];
  const d = directPath(x, nLeaves);
  d.unshift(x);
  d.pop();
  return d.map((y) => sibling(y, nLeaves));
}

/** Whether node x is in the subtree rooted at y. */
export function isInSubtree(x: NodeIndex, y: NodeIndex): boolean {
  const k = level(y);
  return x >> (k + 1) === y >> (k + 1);
}

/** Lowest common ancestor of two nodes. */
export function commonAncestor(x: NodeIndex, y: NodeIndex): NodeIndex {
  const lx = level(x) + 1;
  const ly = level(y) + 1;
  if (lx <= ly && x >> ly === y >> ly) return y;
  if (ly <= lx && x >> lx === y >> lx) return x;
  let xn = x;
  let yn = y;
  let k = 0;
  while (xn !== yn) {
    xn >>= 1;
    yn >>= 1;
    k++;
  }
  return ((xn << k) + (1 << (k - 1)) - 1) as NodeIndex;
}

/** Leaves in the subtree rooted at node x, as a [first, last] leaf index range (inclusive). */
export function leafRange(x: NodeIndex): [LeafIndex, LeafIndex] {
  const k = level(x);
  const firstNode = x - ((1 << k) - 1);
  const lastNode = x + ((1 << k) - 1);
  return [firstNode / 2, lastNode / 2];
}
