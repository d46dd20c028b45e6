// Node and the ratchet_tree extension (RFC 9420 §7.8, §12.4.3.3).
//   enum { reserved(0), leaf(1), parent(2), (255) } NodeType;
//   struct {
//     NodeType node_type;
//     select (Node.node_type) { case leaf: LeafNode leaf_node; case parent: ParentNode parent_node; };
//   } Node;
//   optional<Node> ratchet_tree<V>;
import { CodecError, decode, encode, type Reader, type Writer } from '../../codec/index.js';
import { readLeafNode, writeLeafNode, type LeafNode } from './leafNode.js';
import { readParentNode, writeParentNode, type ParentNode } from './parentNode.js';
import { leafTreeNode, shareParentNode } from '../intern.js';

export const NodeType = { leaf: 1, parent: 2 } as const;

export type Node =
  | { nodeType: typeof NodeType.leaf; leaf: LeafNode }
  | { nodeType: typeof NodeType.parent; parent: ParentNode };

export function writeNode(w: Writer, n: Node): void {
  w.u8(n.nodeType);
  if (n.nodeType === NodeType.leaf) writeLeafNode(w, n.leaf);
  else writeParentNode(w, n.parent);
}

export function readNode(r: Reader): Node {
  const t = r.u8('node_type');
  if (t === NodeType.leaf) return leafTreeNode(readLeafNode(r));
  if (t === NodeType.parent) return shareParentNode(readParentNode(r));
  throw new CodecError('invalid-value', `node_type ${t}`);
}

/** A tree in array form: index i is node i; null is a blank node. */
export type NodeList = (Node | null)[];

export function writeRatchetTree(w: Writer, nodes: NodeList): void {
  // Trailing blank nodes are omitted (§12.4.3.3): the last node is never blank.
  let end = nodes.length;
  while (end > 0 && nodes[end - 1] == null) end--;
  w.varVector(nodes.slice(0, end), (x, n) => x.optional(n ?? undefined, writeNode));
}

/** Decodes ratchet_tree; checks the shape rules of §12.4.3.3 that are structural. */
export function readRatchetTree(r: Reader): NodeList {
  const list = r.varVector((s) => s.optional(readNode, 'node') ?? null, 'ratchet_tree');
  if (list.length === 0) throw new CodecError('invalid-value', 'ratchet_tree is empty');
  if (list[list.length - 1] === null) throw new CodecError('invalid-value', 'ratchet_tree ends with a blank node');
  if (list.length % 2 === 0) throw new CodecError('invalid-value', 'ratchet_tree has an even number of nodes');
  for (let i = 0; i < list.length; i++) {
    const n = list[i];
    if (n == null) continue;
    const wantLeaf = i % 2 === 0;
    if ((n.nodeType === NodeType.leaf) !== wantLeaf) {
      throw new CodecError('invalid-value', `ratchet_tree node ${i} has the wrong node type`);
    }
  }
  return list;
}

export function encodeRatchetTree(nodes: NodeList): Uint8Array {
  return encode((w) => writeRatchetTree(w, nodes));
}
export function decodeRatchetTree(bytes: Uint8Array): NodeList {
  return decode(bytes, readRatchetTree, 'ratchet_tree');
}
