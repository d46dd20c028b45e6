// The secret tree (RFC 9420 §9): per-leaf handshake and application hash ratchets, derived lazily
// from encryption_secret, with the deletion schedule of §9.2 (a node's secret is dropped once its
// children are derived; a ratchet keeps only its next secret plus a bounded set of skipped keys
// for out-of-order messages).
//
//   tree_node_[root]_secret = encryption_secret
//   left  = ExpandWithLabel(node, "tree", "left", Nh);  right = ExpandWithLabel(node, "tree", "right", Nh)
//   handshake_ratchet_secret_[N]_[0]   = ExpandWithLabel(leaf_secret, "handshake", "", Nh)
//   application_ratchet_secret_[N]_[0] = ExpandWithLabel(leaf_secret, "application", "", Nh)
//   ratchet_key_[i]_[j]   = DeriveTreeSecret(ratchet_secret_[i]_[j], "key", j, AEAD.Nk)
//   ratchet_nonce_[i]_[j] = DeriveTreeSecret(ratchet_secret_[i]_[j], "nonce", j, AEAD.Nn)
//   ratchet_secret_[i]_[j+1] = DeriveTreeSecret(ratchet_secret_[i]_[j], "secret", j, KDF.Nh)
//
// Plain data: functions return a new SecretTree and never change the one passed in.
import { utf8, wipe } from '../bytes/index.js';
import { deriveTreeSecret, expandWithLabel, type CipherSuite } from '../crypto/index.js';
import { MlsError } from './errors.js';
import * as tm from './treeMath.js';

/** Furthest a sender may run ahead of the receiver's ratchet (generations skipped in one step). */
export const MAX_GENERATION_GAP = 1024;
/** Most keys kept per ratchet for skipped (not yet received) generations. */
export const MAX_SKIPPED_KEYS = 256;

export interface KeyNonce {
  key: Uint8Array;
  nonce: Uint8Array;
}

export interface Ratchet {
  generation: number; // generation of `secret`
  secret: Uint8Array;
  skipped: Record<number, KeyNonce>; // generation -> unused key/nonce below `generation`
}

export interface SecretTree {
  leafCount: number;
  /** Node secrets derived but not yet consumed (node index -> secret). */
  nodes: Record<number, Uint8Array>;
  handshake: Record<number, Ratchet>;
  application: Record<number, Ratchet>;
}

export type RatchetType = 'handshake' | 'application';

export function createSecretTree(encryptionSecret: Uint8Array, leafCount: number): SecretTree {
  return { leafCount, nodes: rootOnly(tm.root(leafCount), encryptionSecret.slice()), handshake: {}, application: {} };
}

/** An integer key V8 will not give fast elements (beyond its largest fast-array gap). */
const DICTIONARY_KEY = 0x7ffffffe;

/**
 * `{ [root]: secret }` held by V8 as a dictionary. An object whose first integer key is k gets a
 * backing store of about k slots (8 KiB at root 1023, in a group of 1000), and every member makes
 * one at every epoch while most never derive a leaf's ratchets. Touching a key past V8's gap
 * limit first switches the object to dictionary elements, which it keeps for the one real key.
 */
function rootOnly(root: number, secret: Uint8Array): Record<number, Uint8Array> {
  const nodes: Record<number, Uint8Array> = {};
  nodes[DICTIONARY_KEY] = secret;
  delete nodes[DICTIONARY_KEY];
  nodes[root] = secret;
  return nodes;
}

const LEFT = utf8('left');
const RIGHT = utf8('right');
const EMPTY = new Uint8Array(0);

/** Derives the leaf's two ratchets, consuming node secrets down the path. */
async function initLeaf(suite: CipherSuite, st: SecretTree, leaf: number): Promise<SecretTree> {
  if (leaf < 0 || leaf >= st.leafCount) throw new MlsError('secret-tree-leaf', `leaf ${leaf} is outside the secret tree`);
  const target = 2 * leaf;
  const path = [target, ...tm.directPath(target, st.leafCount)];
  let top = -1;
  for (let i = 0; i < path.length; i++) {
    if (st.nodes[path[i]!] !== undefined) {
      top = i;
      break;
    }
  }
  if (top < 0) throw new MlsError('secret-tree-consumed', `leaf ${leaf} secrets were already deleted`);
  const nodes = { ...st.nodes };
  for (let i = top; i > 0; i--) {
    const p = path[i]!;
    const secret = nodes[p]!;
    const l = tm.left(p);
    const r = tm.right(p);
    nodes[l] = await expandWithLabel(suite, secret, 'tree', LEFT, suite.kdf.Nh);
    nodes[r] = await expandWithLabel(suite, secret, 'tree', RIGHT, suite.kdf.Nh);
    delete nodes[p]; // §9.2: not needed once both children exist (the copy is wiped by discardState)
  }
  const leafSecret = nodes[target]!;
  delete nodes[target];
  const handshake: Ratchet = {
    generation: 0,
    secret: await expandWithLabel(suite, leafSecret, 'handshake', EMPTY, suite.kdf.Nh),
    skipped: {},
  };
  const application: Ratchet = {
    generation: 0,
    secret: await expandWithLabel(suite, leafSecret, 'application', EMPTY, suite.kdf.Nh),
    skipped: {},
  };
  if (top > 0) wipe(leafSecret); // freshly derived here; otherwise it belongs to the input tree
  return {
    ...st,
    nodes,
    handshake: { ...st.handshake, [leaf]: handshake },
    application: { ...st.application, [leaf]: application },
  };
}

async function keyNonce(suite: CipherSuite, secret: Uint8Array, generation: number): Promise<KeyNonce> {
  return {
    key: await deriveTreeSecret(suite, secret, 'key', generation, suite.aead.Nk),
    nonce: await deriveTreeSecret(suite, secret, 'nonce', generation, suite.aead.Nn),
  };
}

/**
 * Key and nonce for (leaf, type, generation); consumes it (§9.2: a key is used once). Generations
 * below the ratchet are served from the skipped set; those above advance the ratchet, keeping the
 * skipped keys in between (bounded by MAX_GENERATION_GAP and MAX_SKIPPED_KEYS).
 */
export async function consumeKey(
  suite: CipherSuite,
  st: SecretTree,
  leaf: number,
  type: RatchetType,
  generation: number,
): Promise<{ tree: SecretTree; keyNonce: KeyNonce }> {
  let tree = st;
  if (tree[type][leaf] === undefined) tree = await initLeaf(suite, tree, leaf);
  const ratchet = tree[type][leaf]!;
  if (generation < ratchet.generation) {
    const kn = ratchet.skipped[generation];
    if (!kn) throw new MlsError('generation-consumed', `generation ${generation} of leaf ${leaf} was already used or deleted (§9.2)`);
    const skipped = { ...ratchet.skipped };
    delete skipped[generation];
    return { tree: { ...tree, [type]: { ...tree[type], [leaf]: { ...ratchet, skipped } } }, keyNonce: kn };
  }
  if (generation - ratchet.generation > MAX_GENERATION_GAP) {
    throw new MlsError('generation-too-far', `generation ${generation} is more than ${MAX_GENERATION_GAP} ahead (§9.2)`);
  }
  const skipped = { ...ratchet.skipped };
  let secret = ratchet.secret;
  let g = ratchet.generation;
  while (g < generation) {
    skipped[g] = await keyNonce(suite, secret, g);
    const next = await deriveTreeSecret(suite, secret, 'secret', g, suite.kdf.Nh);
    if (secret !== ratchet.secret) wipe(secret);
    secret = next;
    g++;
  }
  const kn = await keyNonce(suite, secret, g);
  const next = await deriveTreeSecret(suite, secret, 'secret', g, suite.kdf.Nh);
  if (secret !== ratchet.secret) wipe(secret);
  // Bound the skipped set: drop the oldest generations first.
  const keys = Object.keys(skipped).map(Number).sort((a, b) => a - b);
  while (keys.length > MAX_SKIPPED_KEYS) {
    const k = keys.shift()!;
    delete skipped[k];
  }
  const updated: Ratchet = { generation: g + 1, secret: next, skipped };
  return { tree: { ...tree, [type]: { ...tree[type], [leaf]: updated } }, keyNonce: kn };
}

/** The next generation a sender should use (its own ratchet position). */
export function nextGeneration(st: SecretTree, leaf: number, type: RatchetType): number {
  return st[type][leaf]?.generation ?? 0;
}

/** Every secret held by a secret tree (for wiping). */
export function secretTreeSecrets(st: SecretTree): Uint8Array[] {
  const out: Uint8Array[] = Object.values(st.nodes);
  for (const r of [...Object.values(st.handshake), ...Object.values(st.application)]) {
    out.push(r.secret);
    for (const kn of Object.values(r.skipped)) out.push(kn.key, kn.nonce);
  }
  return out;
}
