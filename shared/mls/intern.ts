// Sharing of public tree values between the group states of one process.
//
// A process that hosts many members of one group (the load test puts 500 on a thread) otherwise
// holds one copy of the whole ratchet tree per member: about 3 MiB per member at 1000 members,
// so 500 members mean a 1.6 GB heap whose garbage collection dominates every commit. With
// sharing on, decoded leaf and parent nodes and computed tree hashes are looked up by their
// exact bytes in a process-wide pool, and equal values become one frozen object.
//
// Only public values are shared (keys, credentials, signatures, hashes). Nothing about a value's
// validity is stored with it: every member still verifies every signature and hash itself, so
// sharing changes memory, never the checks. A shared object is frozen: code that tried to change
// one in place would throw instead of altering another member's tree. Byte arrays cannot be
// frozen; the library never writes to public tree bytes (only secrets are wiped).
//
// Off by default (a page hosts one member and has nothing to share).
//
// Also here, always on: the leaf print that every leaf's tree node carries for the §7.3 scan
// (leafTreeNode, LEAF_PRINT below), since tree nodes for leaves are made in this one place.
import { CredentialType } from './wire/credential.js';
import type { Node } from './wire/node.js';
import type { LeafNode } from './wire/leafNode.js';
import type { ParentNode } from './wire/parentNode.js';

let enabled = false;

/** Turns sharing on or off for values decoded or computed from now on. */
export function setPublicValueSharing(on: boolean): void {
  enabled = on;
}
export function publicValueSharing(): boolean {
  return enabled;
}

/** A map from exact byte strings to weakly held values: entries go when their value is collected. */
class Pool<T extends object> {
  readonly #map = new Map<string, WeakRef<T>>();
  readonly #gone = new FinalizationRegistry<string>((key) => {
    if (this.#map.get(key)?.deref() === undefined) this.#map.delete(key);
  });

  get size(): number {
    return this.#map.size;
  }

  /** The pooled value for `key`, or `value` itself after pooling it. */
  share(key: string, value: T): T {
    const found = this.#map.get(key)?.deref();
    if (found !== undefined) return found;
    this.#map.set(key, new WeakRef(value));
    this.#gone.register(value, key);
    return value;
  }
}

const leaves = new Pool<LeafNode>();
const parents = new Pool<Node>();
const hashes = new Pool<Uint8Array>();
const leafWrappers = new WeakMap<LeafNode, Node>();

/** Injective text form of byte strings (one char per byte, a separator outside the byte range). */
function keyOf(parts: readonly Uint8Array[]): string {
  let s = '';
  for (const b of parts) {
    for (let i = 0; i < b.length; i += 8192) s += String.fromCharCode.apply(null, b.subarray(i, i + 8192) as unknown as number[]);
    s += '\u0100';
  }
  return s;
}

function deepFreeze<T>(v: T): T {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v) || Object.isFrozen(v)) return v;
  for (const x of Object.values(v as object)) deepFreeze(x);
  return Object.freeze(v);
}

/** A decoded leaf node, given the exact bytes it was decoded from. */
export function shareLeafNode(leaf: LeafNode, encoding: Uint8Array): LeafNode {
  if (!enabled) return leaf;
  const shared = leaves.share(keyOf([encoding]), leaf);
  return shared === leaf ? deepFreeze(leaf) : shared;
}

/**
 * A leaf's summary for the §7.3 scan over every leaf of the tree (validateLeafAgainstGroup): 14 bits
 * of each public key and whether the leaf has a basic credential and lists basic. Kept on the tree
 * node (non-enumerable, so state serialization and equality ignore it), the scan reads one number
 * per leaf instead of following five objects; any leaf the summary cannot clear gets the full checks.
 */
export const LEAF_PRINT = Symbol('leaf print');
export const PRINT_SIG = 0x3fff;
export const PRINT_ENC = 0x3fff << 14;
export const PRINT_BASIC = 1 << 28;

export function leafPrint(leaf: LeafNode): number {
  const low14 = (b: Uint8Array) => (b.length >= 2 ? ((b[b.length - 2]! << 8) | b[b.length - 1]!) & 0x3fff : 0);
  const basic = leaf.credential.credentialType === CredentialType.basic && leaf.capabilities.credentials.includes(CredentialType.basic);
  return (basic ? PRINT_BASIC : 0) | (low14(leaf.encryptionKey) << 14) | low14(leaf.signatureKey);
}

function printed(leaf: LeafNode): Node {
  const node: Node = { nodeType: 1, leaf };
  Object.defineProperty(node, LEAF_PRINT, { value: leafPrint(leaf) });
  return node;
}

/** The tree node holding a leaf (with its print): one wrapper per shared leaf. */
export function leafTreeNode(leaf: LeafNode): Node {
  if (!enabled || !Object.isFrozen(leaf)) return printed(leaf);
  let n = leafWrappers.get(leaf);
  if (n === undefined) leafWrappers.set(leaf, (n = Object.freeze(printed(leaf))));
  return n;
}

/** A parent node once final (decoded, or built from an UpdatePath with its parent hash set). */
export function shareParentNode(parent: ParentNode): Node {
  const node: Node = { nodeType: 2, parent };
  if (!enabled) return node;
  const unmerged = new Uint8Array(Uint32Array.from(parent.unmergedLeaves).buffer);
  const shared = parents.share(keyOf([parent.encryptionKey, parent.parentHash, unmerged]), node);
  return shared === node ? deepFreeze(node) : shared;
}

/** A tree hash (a public digest the tree caches). */
export function shareHash(h: Uint8Array): Uint8Array {
  return enabled ? hashes.share(keyOf([h]), h) : h;
}

/** Pool sizes (tests and diagnostics). */
export function sharedValueCounts(): { leaves: number; parents: number; hashes: number } {
  return { leaves: leaves.size, parents: parents.size, hashes: hashes.size };
}
