// Validation rules: leaf nodes (§7.3), KeyPackages (§10.1), ratchet trees on join (§12.4.3.1),
// proposal lists (§12.2). Each failure throws MlsError with a code naming the rule.
import { equal } from '../bytes/index.js';
import { verifyWithLabel, type CipherSuite } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import { leafRange, parent } from './treeMath.js';
import { checkUnmergedLeavesSorted, leafAt, leafCount, parentAt, treeHash, verifyParentHashes, type RatchetTree } from './ratchetTree.js';
import { decodeRequiredCapabilities, type RequiredCapabilities } from './wire/requiredCapabilities.js';
import { ExtensionType, type Extension } from './wire/extension.js';
import type { GroupContext } from './wire/groupContext.js';
import { encodeKeyPackageTBS, type KeyPackage } from './wire/keyPackage.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from './wire/leafNode.js';
import { ProtocolVersion } from './wire/protocolVersion.js';
import { LEAF_PRINT, leafPrint, PRINT_BASIC, PRINT_ENC, PRINT_SIG } from './intern.js';

/** Extension types every client supports without listing them (§7.2). */
const DEFAULT_EXTENSIONS: readonly number[] = [1, 2, 3, 4, 5];
/** Proposal types every client supports without listing them (§7.2). */
const DEFAULT_PROPOSALS: readonly number[] = [1, 2, 3, 4, 5, 6, 7];

export function supportsExtension(leaf: LeafNode, type: number): boolean {
  return DEFAULT_EXTENSIONS.includes(type) || leaf.capabilities.extensions.includes(type);
}

function checkDistinctExtensions(list: readonly Extension[], what: string): void {
  const seen = new Set<number>();
  for (const e of list) {
    check(!seen.has(e.extensionType), 'duplicate-extension', `${what} lists extension ${e.extensionType} twice (§13.4)`);
    seen.add(e.extensionType);
  }
}

export interface LeafCheckContext {
  groupId: Uint8Array;
  leafIndex?: number; // required for update/commit sources
  /** Expected leaf_node_source (§7.3: key_package for Add, update for Update, commit for paths). */
  source?: number;
  /** Skip the lifetime check (joining an existing tree: other members' lifetimes are their business). */
  ignoreLifetime?: boolean;
  /**
   * The members to check uniqueness and credential support against, when the caller keeps one
   * index for many leaves (a commit's proposals): O(1) per leaf instead of a scan of the tree.
   * It must describe exactly the members of `tree` other than `leafIndex`.
   */
  index?: MemberIndex;
}

/**
 * The members of a tree as §7.3 needs them for a new or replaced leaf: signature and encryption
 * keys in use, and per credential type how many members use it and how many list it in their
 * capabilities. Built in O(n) once; each add/remove is O(capabilities). Lets a commit with
 * thousands of Adds validate each one in constant time (the scan per leaf made it quadratic).
 */
export class MemberIndex {
  private readonly sigKeys = new Map<string, number>();
  private readonly encKeys = new Map<string, number>();
  /** credential type -> members whose credential has that type */
  private readonly using = new Map<number, number>();
  /** credential type -> members listing it in capabilities.credentials */
  private readonly listing = new Map<number, number>();
  private count = 0;

  static of(tree: RatchetTree): MemberIndex {
    const index = new MemberIndex();
    const n = leafCount(tree);
    for (let l = 0; l < n; l++) {
      const leaf = leafAt(tree, l);
      if (leaf) index.add(leaf, l);
    }
    return index;
  }

  get size(): number {
    return this.count;
  }

  /** Adds a member (leafIndex -1: a leaf whose position is not known yet, e.g. an Add being validated). */
  add(leaf: LeafNode, leafIndex: number): void {
    this.sigKeys.set(keyString(leaf.signatureKey), leafIndex);
    this.encKeys.set(keyString(leaf.encryptionKey), leafIndex);
    bump(this.using, leaf.credential.credentialType, 1);
    for (const t of new Set(leaf.capabilities.credentials)) bump(this.listing, t, 1);
    this.count++;
  }

  remove(leaf: LeafNode): void {
    this.sigKeys.delete(keyString(leaf.signatureKey));
    this.encKeys.delete(keyString(leaf.encryptionKey));
    bump(this.using, leaf.credential.credentialType, -1);
    for (const t of new Set(leaf.capabilities.credentials)) bump(this.listing, t, -1);
    this.count--;
  }

  /** §7.3 against the indexed members: keys unique, credential types supported both ways. */
  check(leaf: LeafNode): void {
    const who = (l: number) => (l < 0 ? 'a leaf added by the same commit' : `leaf ${l}`);
    const sig = this.sigKeys.get(keyString(leaf.signatureKey));
    if (sig !== undefined) throw new MlsError('duplicate-signature-key', `signature key already used by ${who(sig)} (§7.3)`);
    const enc = this.encKeys.get(keyString(leaf.encryptionKey));
    if (enc !== undefined) throw new MlsError('duplicate-encryption-key', `encryption key already used by ${who(enc)} (§7.3)`);
    const myType = leaf.credential.credentialType;
    if ((this.listing.get(myType) ?? 0) !== this.count) throw new MlsError('leaf-credential', `not every member supports credential type ${myType} (§7.3)`);
    for (const [t, n] of this.using) {
      if (n > 0 && t !== myType && !leaf.capabilities.credentials.includes(t)) {
        throw new MlsError('leaf-credential', `leaf does not support credential type ${t}, used by ${n} member(s) (§7.3)`);
      }
    }
  }
}

function bump(m: Map<number, number>, k: number, d: number): void {
  m.set(k, (m.get(k) ?? 0) + d);
}

/** §7.3 Leaf Node Validation, for a leaf about to enter `tree` at `leafIndex` (or a new leaf). */
export async function validateLeafNode(
  suite: CipherSuite,
  leaf: LeafNode,
  tree: RatchetTree,
  gc: GroupContext,
  ctx: LeafCheckContext,
): Promise<void> {
  if (ctx.source !== undefined) {
    check(leaf.leafNodeSource === ctx.source, 'leaf-node-source', `leaf_node_source ${leaf.leafNodeSource}, expected ${ctx.source} (§7.3)`);
  }
  checkKeyLengths(suite, leaf, 'leaf');
  if (leaf.leafNodeSource === LeafNodeSource.update && ctx.leafIndex !== undefined) {
    const replaced = leafAt(tree, ctx.leafIndex);
    check(replaced === undefined || !equal(replaced.encryptionKey, leaf.encryptionKey), 'update-same-encryption-key', 'Update leaf keeps the encryption_key of the leaf it replaces (§7.3)');
  }
  const tbs = encodeLeafNodeTBS(leaf, ctx.groupId, ctx.leafIndex);
  check(await verifyWithLabel(suite, leaf.signatureKey, 'LeafNodeTBS', tbs, leaf.signature), 'leaf-signature', 'leaf node signature does not verify (§7.3)');
  validateLeafAgainstGroup(leaf, tree, gc, ctx);
}

/** Public keys of the suite's sizes (§5.1.1), so a malformed key is refused before it is used. */
function checkKeyLengths(suite: CipherSuite, leaf: LeafNode, what: string): void {
  check(leaf.encryptionKey.length === suite.hpke.Npk, 'bad-public-key', `${what} encryption_key has ${leaf.encryptionKey.length} bytes, the suite uses ${suite.hpke.Npk}`);
  check(leaf.signatureKey.length === suite.signature.publicKeyLength, 'bad-public-key', `${what} signature_key has ${leaf.signatureKey.length} bytes, the suite uses ${suite.signature.publicKeyLength}`);
}

/** The non-signature parts of §7.3 (capabilities, lifetime, uniqueness). */
export function validateLeafAgainstGroup(leaf: LeafNode, tree: RatchetTree, gc: GroupContext, ctx: LeafCheckContext): void {
  checkLeafCapabilities(leaf, gc, requiredCapabilities(gc), 'leaf');
  if (leaf.leafNodeSource === LeafNodeSource.key_package && !ctx.ignoreLifetime) {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const lt = leaf.lifetime!;
    check(lt.notBefore <= now && now <= lt.notAfter, 'leaf-lifetime', 'leaf lifetime does not cover the current time (§7.3)');
  }
  if (ctx.index) {
    ctx.index.check(leaf);
    return;
  }
  // Credential type supported by every member and vice versa; keys unique (§7.3). This loop is
  // the O(n) part of processing a commit: no allocation and no message building per leaf.
  const myType = leaf.credential.credentialType;
  const myCreds = leaf.capabilities.credentials;
  const myPrint = leafPrint(leaf);
  const fast = (myPrint & PRINT_BASIC) !== 0;
  const n = leafCount(tree);
  for (let l = 0; l < n; l++) {
    if (l === ctx.leafIndex) continue;
    const node = tree.nodes[2 * l];
    if (!node || node.nodeType !== 1) continue;
    if (fast) {
      // Both basic and listing basic (the credential rules hold), and keys that differ in the
      // printed bits differ: nothing else to check for this leaf.
      const p = (node as { [LEAF_PRINT]?: number })[LEAF_PRINT];
      if (p !== undefined && (p & PRINT_BASIC) !== 0 && ((p ^ myPrint) & PRINT_SIG) !== 0 && ((p ^ myPrint) & PRINT_ENC) !== 0) continue;
    }
    const other = node.leaf;
    if (!other.capabilities.credentials.includes(myType)) throw new MlsError('leaf-credential', `member ${l} does not support the credential type (§7.3)`);
    if (other.credential.credentialType !== myType && !myCreds.includes(other.credential.credentialType)) {
      throw new MlsError('leaf-credential', `leaf does not support member ${l}'s credential type (§7.3)`);
    }
    if (sameBytes(other.signatureKey, leaf.signatureKey)) throw new MlsError('duplicate-signature-key', `signature key already used by leaf ${l} (§7.3)`);
    if (sameBytes(other.encryptionKey, leaf.encryptionKey)) throw new MlsError('duplicate-encryption-key', `encryption key already used by leaf ${l} (§7.3)`);
  }
}

/** Equality of public values (not secret: early exit is fine). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** §10.1 KeyPackage validation, plus §7.3 for its leaf node. */
export async function validateKeyPackage(suite: CipherSuite, kp: KeyPackage, tree: RatchetTree, gc: GroupContext, ignoreLifetime = false, index?: MemberIndex): Promise<void> {
  check(kp.version === ProtocolVersion.mls10, 'key-package-version', 'KeyPackage version is not mls10 (§10.1)');
  check(kp.cipherSuite === gc.cipherSuite, 'key-package-suite', 'KeyPackage cipher suite differs from the group (§10.1)');
  check(await verifyWithLabel(suite, kp.leafNode.signatureKey, 'KeyPackageTBS', encodeKeyPackageTBS(kp), kp.signature), 'key-package-signature', 'KeyPackage signature does not verify (§10.1)');
  check(!equal(kp.initKey, kp.leafNode.encryptionKey), 'key-package-init-key', 'init_key equals the leaf encryption_key (§10.1)');
  check(kp.initKey.length === suite.hpke.Npk, 'bad-public-key', 'KeyPackage init_key has the wrong length (§5.1.1)');
  checkDistinctExtensions(kp.extensions, 'KeyPackage');
  await validateLeafNode(suite, kp.leafNode, tree, gc, index ? { groupId: gc.groupId, source: LeafNodeSource.key_package, ignoreLifetime, index } : { groupId: gc.groupId, source: LeafNodeSource.key_package, ignoreLifetime });
}

/**
 * The capability checks of §7.3 that depend only on the leaf and the GroupContext: mls10, the
 * group's cipher suite, the group's required_capabilities (§11.1), every GroupContext extension,
 * its own extensions listed in its capabilities, its own credential type listed.
 */
function checkLeafCapabilities(leaf: LeafNode, gc: GroupContext, req: RequiredCapabilities | undefined, what: string): void {
  const caps = leaf.capabilities;
  check(caps.versions.includes(ProtocolVersion.mls10), 'leaf-capabilities', `${what} does not support mls10 (§7.2)`);
  check(caps.cipherSuites.includes(gc.cipherSuite), 'leaf-capabilities', `${what} does not support the group cipher suite (§7.2)`);
  if (req) {
    for (const t of req.extensionTypes) check(supportsExtension(leaf, t), 'leaf-capabilities', `${what} lacks required extension ${t} (§11.1)`);
    for (const t of req.proposalTypes) check(DEFAULT_PROPOSALS.includes(t) || caps.proposals.includes(t), 'leaf-capabilities', `${what} lacks required proposal ${t} (§11.1)`);
    for (const t of req.credentialTypes) check(caps.credentials.includes(t), 'leaf-capabilities', `${what} lacks required credential ${t} (§11.1)`);
  }
  for (const e of gc.extensions) check(supportsExtension(leaf, e.extensionType), 'leaf-capabilities', `${what} does not support group extension ${e.extensionType} (§7.3)`);
  checkDistinctExtensions(leaf.extensions, what);
  for (const e of leaf.extensions) check(supportsExtension(leaf, e.extensionType), 'leaf-capabilities', `${what} extension ${e.extensionType} not in its capabilities (§7.3)`);
  check(caps.credentials.includes(leaf.credential.credentialType), 'leaf-credential', `${what} does not list its own credential type (§7.3)`);
}

function requiredCapabilities(gc: GroupContext): RequiredCapabilities | undefined {
  const rc = gc.extensions.find((e) => e.extensionType === ExtensionType.required_capabilities);
  return rc ? decodeRequiredCapabilities(rc.extensionData) : undefined;
}

/**
 * §12.4.3.1 "verify the integrity of the ratchet tree", linear in the tree size:
 *  - unmerged_leaves (§7.1, §12.4.3.1): sorted, each a non-blank leaf below the parent, and listed
 *    by every non-blank node between that leaf and the parent;
 *  - every non-blank parent is parent-hash valid (§7.9.2);
 *  - every non-blank leaf is valid (§7.3): key sizes, capabilities against the group (suite,
 *    required_capabilities, extensions), its extensions in its capabilities, credential types
 *    (each member supports every credential type in use), unique signature and encryption keys
 *    (encryption keys also unique against parent nodes), and its signature (LeafNodeTBS with the
 *    group id and leaf index). Lifetimes of other members' leaves are not checked (RECOMMENDED
 *    only, §7.3: a leaf may have expired since it was sent);
 *  - the tree hash equals the GroupContext's tree_hash.
 * Structural checks run first so a malformed tree fails before any signature is verified.
 */
export async function validateTree(suite: CipherSuite, tree: RatchetTree, gc: GroupContext): Promise<void> {
  const { signatures } = await startTreeValidation(suite, tree, gc);
  await signatures;
}

/**
 * validateTree in two steps, for a caller with main-thread work to do while the leaf signatures
 * are verified (an external joiner builds its UpdatePath): resolves once every check but the
 * leaf signatures has passed (failures thrown as by validateTree, a hash failure before a
 * signature failure); `signatures` then settles when every leaf signature is verified, rejecting
 * with validateTree's leaf-signature error. It is already marked handled: the caller MUST await
 * it before using the tree's contents for anything it returns, and on its own failure should
 * await it first so a signature failure is reported as validateTree would report it.
 */
export async function startTreeValidation(suite: CipherSuite, tree: RatchetTree, gc: GroupContext, verified?: VerifiedLeaves): Promise<{ signatures: Promise<void> }> {
  checkUnmergedLeaves(tree);
  const n = leafCount(tree);
  const req = requiredCapabilities(gc);
  const encKeys = new Set<string>();
  const sigKeys = new Set<string>();
  const typesInUse = new Set<number>();
  for (let l = 0; l < n; l++) {
    const leaf = leafAt(tree, l);
    if (!leaf) continue;
    const what = `leaf ${l}`;
    checkKeyLengths(suite, leaf, what);
    checkLeafCapabilities(leaf, gc, req, what);
    typesInUse.add(leaf.credential.credentialType);
    const ek = keyString(leaf.encryptionKey);
    const sk = keyString(leaf.signatureKey);
    check(!encKeys.has(ek), 'duplicate-encryption-key', `${what} repeats an encryption key (§7.3)`);
    check(!sigKeys.has(sk), 'duplicate-signature-key', `${what} repeats a signature key (§7.3)`);
    encKeys.add(ek);
    sigKeys.add(sk);
  }
  // §7.3: each leaf's credential type is supported by all members and each leaf supports every
  // credential type in use; both hold exactly when every leaf lists every type in use.
  for (let l = 0; l < n; l++) {
    const leaf = leafAt(tree, l);
    if (!leaf) continue;
    for (const t of typesInUse) check(leaf.capabilities.credentials.includes(t), 'leaf-credential', `leaf ${l} does not support credential type ${t}, used in the group (§7.3)`);
  }
  for (let p = 1; p < tree.nodes.length; p += 2) {
    const pn = parentAt(tree, p);
    if (!pn) continue;
    check(pn.encryptionKey.length === suite.hpke.Npk, 'bad-public-key', `parent ${p} encryption_key has ${pn.encryptionKey.length} bytes, the suite uses ${suite.hpke.Npk}`);
    const ek = keyString(pn.encryptionKey);
    check(!encKeys.has(ek), 'duplicate-encryption-key', `parent ${p} repeats an encryption key (§12.4.3.1)`);
    encKeys.add(ek);
  }
  // The leaf signatures and the hashes are independent: all the signatures are started first so a
  // backend that verifies off the main thread (node's and WebCrypto's thread pool) works on them
  // while the tree hash and parent hashes are computed here. A hash failure is reported before a
  // signature failure.
  const signatures = verifyLeafSignatures(suite, tree, gc.groupId, verified);
  // Marked handled now: it may reject while the hashes are still being computed; the rejection
  // is still thrown by whoever awaits `signatures`.
  signatures.catch(() => {});
  const th = await treeHash(suite, tree);
  check(equal(th, gc.treeHash), 'tree-hash-mismatch', 'ratchet tree hash differs from the GroupContext (§12.4.3.1)');
  await verifyParentHashes(suite, tree);
  return { signatures };
}

/**
 * Every leaf's LeafNodeTBS signature (§7.3), all started at once: the hashing that follows runs
 * in microtasks, so a thread pool (node's crypto.verify callbacks, WebCrypto) only receives work
 * queued before it; verifications started in batches waited for the hashing between batches.
 * The failure reported is the lowest failing leaf, as before.
 */
async function verifyLeafSignatures(suite: CipherSuite, tree: RatchetTree, groupId: Uint8Array, verified?: VerifiedLeaves): Promise<void> {
  const n = leafCount(tree);
  const pending: Promise<boolean>[] = [];
  const leaves: number[] = [];
  const keys: string[] = [];
  for (let l = 0; l < n; l++) {
    const leaf = leafAt(tree, l);
    if (!leaf) continue;
    const tbs = encodeLeafNodeTBS(leaf, groupId, l);
    if (verified) {
      const key = verified.keyOf(suite.id, tbs, leaf.signature);
      if (verified.has(key)) continue;
      keys.push(key);
    }
    pending.push(verifyWithLabel(suite, leaf.signatureKey, 'LeafNodeTBS', tbs, leaf.signature));
    leaves.push(l);
  }
  const results = await Promise.all(pending);
  if (verified) for (let i = 0; i < results.length; i++) if (results[i]) verified.add(keys[i]!);
  for (let i = 0; i < results.length; i++) if (!results[i]) throw new MlsError('leaf-signature', `leaf ${leaves[i]} signature does not verify (§7.3)`);
}

/**
 * Leaf signatures (§7.3) that one caller has already seen verify, for an external joiner that lost
 * a race and retries on the next epoch's tree: it verifies again only the leaves that changed. An
 * entry is the exact suite, LeafNodeTBS (which holds the signature key and, for leaves from
 * commits and updates, the group id and leaf index) and signature, so any change to any of them
 * means a fresh verification. Only successes are recorded. Keep one per join; the set is cleared
 * when it reaches `limit` entries.
 */
export class VerifiedLeaves {
  readonly #seen = new Set<string>();
  constructor(readonly limit = 65_536) {}

  get size(): number {
    return this.#seen.size;
  }

  /** @internal */
  keyOf(suite: number, tbs: Uint8Array, signature: Uint8Array): string {
    // Suite and signature length first, so the two variable-length parts cannot run into each other.
    return String.fromCharCode(suite, signature.length) + keyString(signature) + keyString(tbs);
  }

  /** @internal */
  has(key: string): boolean {
    return this.#seen.has(key);
  }

  /** @internal */
  add(key: string): void {
    if (this.#seen.size >= this.limit) this.#seen.clear();
    this.#seen.add(key);
  }

  clear(): void {
    this.#seen.clear();
  }
}

/**
 * §12.4.3.1 for each entry L of a non-blank parent P's unmerged_leaves: L is a non-blank leaf
 * below P, and every non-blank node between L and P lists L too; §7.1: the list is sorted.
 * O(entries x log n x log entries).
 */
export function checkUnmergedLeaves(tree: RatchetTree): void {
  checkUnmergedLeavesSorted(tree);
  const n = leafCount(tree);
  for (let p = 1; p < tree.nodes.length; p += 2) {
    const pn = parentAt(tree, p);
    if (!pn) continue;
    const [lo, hi] = leafRange(p);
    for (const u of pn.unmergedLeaves) {
      check(u >= lo && u <= hi && leafAt(tree, u) !== undefined, 'unmerged-leaf-invalid', `parent ${p} lists unmerged leaf ${u} that is blank or not below it (§12.4.3.1)`);
      for (let x = parent(2 * u, n); x !== p; x = parent(x, n)) {
        const xn = parentAt(tree, x);
        if (xn && !sortedIncludes(xn.unmergedLeaves, u)) {
          throw new MlsError('unmerged-leaf-invalid', `parent ${p} lists unmerged leaf ${u} but node ${x} between them does not (§12.4.3.1)`);
        }
      }
    }
  }
}

/**
 * A public key as a string for Set membership: one char per byte (one allocation, no hex
 * digits). Only for keys already checked to have the suite's length (at most 133 bytes).
 */
export function keyString(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}

/** Binary search in an increasing list. */
function sortedIncludes(list: readonly number[], v: number): boolean {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const x = list[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
