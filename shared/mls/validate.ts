// Validation rules: leaf nodes (§7.3), KeyPackages (§10.1), ratchet trees on join (§12.4.3.1),
// proposal lists (§12.2). Each failure throws MlsError with a code naming the rule.
import { equal, toHex } from '../bytes/index.js';
import { verifyWithLabel, type CipherSuite } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import { leafRange } from './treeMath.js';
import { leafAt, leafCount, parentAt, treeHash, verifyParentHashes, type RatchetTree } from './ratchetTree.js';
import { decodeRequiredCapabilities } from './wire/requiredCapabilities.js';
import { ExtensionType, type Extension } from './wire/extension.js';
import type { GroupContext } from './wire/groupContext.js';
import { encodeKeyPackageTBS, type KeyPackage } from './wire/keyPackage.js';
import { encodeLeafNodeTBS, LeafNodeSource, type LeafNode } from './wire/leafNode.js';
import { ProtocolVersion } from './wire/protocolVersion.js';

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
  check(leaf.capabilities.versions.includes(ProtocolVersion.mls10), 'leaf-capabilities', 'leaf does not support mls10 (§7.2)');
  check(leaf.capabilities.cipherSuites.includes(gc.cipherSuite), 'leaf-capabilities', 'leaf does not support the group cipher suite (§7.2)');
  // Required capabilities of the group (§11.1).
  const rc = gc.extensions.find((e) => e.extensionType === ExtensionType.required_capabilities);
  if (rc) {
    const req = decodeRequiredCapabilities(rc.extensionData);
    for (const t of req.extensionTypes) check(supportsExtension(leaf, t), 'leaf-capabilities', `leaf lacks required extension ${t} (§11.1)`);
    for (const t of req.proposalTypes) check(DEFAULT_PROPOSALS.includes(t) || leaf.capabilities.proposals.includes(t), 'leaf-capabilities', `leaf lacks required proposal ${t} (§11.1)`);
    for (const t of req.credentialTypes) check(leaf.capabilities.credentials.includes(t), 'leaf-capabilities', `leaf lacks required credential ${t} (§11.1)`);
  }
  // Every GroupContext extension must be supported (§12.1.7 / §7.3).
  for (const e of gc.extensions) check(supportsExtension(leaf, e.extensionType), 'leaf-capabilities', `leaf does not support group extension ${e.extensionType} (§7.3)`);
  // Leaf extensions must be listed in its own capabilities (§7.3).
  checkDistinctExtensions(leaf.extensions, 'leaf node');
  for (const e of leaf.extensions) check(supportsExtension(leaf, e.extensionType), 'leaf-capabilities', `leaf extension ${e.extensionType} not in its capabilities (§7.3)`);
  check(leaf.capabilities.credentials.includes(leaf.credential.credentialType), 'leaf-credential', 'leaf does not list its own credential type (§7.3)');
  if (leaf.leafNodeSource === LeafNodeSource.key_package && !ctx.ignoreLifetime) {
    const now = BigInt(Math.floor(Date.now() / 1000));
    const lt = leaf.lifetime!;
    check(lt.notBefore <= now && now <= lt.notAfter, 'leaf-lifetime', 'leaf lifetime does not cover the current time (§7.3)');
  }
  // Credential type supported by every member and vice versa; keys unique (§7.3). This loop is
  // the O(n) part of processing a commit: no allocation and no message building per leaf.
  const myType = leaf.credential.credentialType;
  const myCreds = leaf.capabilities.credentials;
  const n = leafCount(tree);
  for (let l = 0; l < n; l++) {
    if (l === ctx.leafIndex) continue;
    const node = tree.nodes[2 * l];
    if (!node || node.nodeType !== 1) continue;
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
export async function validateKeyPackage(suite: CipherSuite, kp: KeyPackage, tree: RatchetTree, gc: GroupContext, ignoreLifetime = false): Promise<void> {
  check(kp.version === ProtocolVersion.mls10, 'key-package-version', 'KeyPackage version is not mls10 (§10.1)');
  check(kp.cipherSuite === gc.cipherSuite, 'key-package-suite', 'KeyPackage cipher suite differs from the group (§10.1)');
  check(await verifyWithLabel(suite, kp.leafNode.signatureKey, 'KeyPackageTBS', encodeKeyPackageTBS(kp), kp.signature), 'key-package-signature', 'KeyPackage signature does not verify (§10.1)');
  check(!equal(kp.initKey, kp.leafNode.encryptionKey), 'key-package-init-key', 'init_key equals the leaf encryption_key (§10.1)');
  check(kp.initKey.length === suite.hpke.Npk, 'bad-public-key', 'KeyPackage init_key has the wrong length (§5.1.1)');
  checkDistinctExtensions(kp.extensions, 'KeyPackage');
  await validateLeafNode(suite, kp.leafNode, tree, gc, { groupId: gc.groupId, source: LeafNodeSource.key_package, ignoreLifetime });
}

/** Leaf signatures verified concurrently when validating a whole tree. */
export const VERIFY_BATCH = 64;

/** §12.4.3.1 steps on joining: tree hash, parent hashes, every leaf valid, keys unique. */
export async function validateTree(suite: CipherSuite, tree: RatchetTree, gc: GroupContext): Promise<void> {
  const th = await treeHash(suite, tree);
  check(equal(th, gc.treeHash), 'tree-hash-mismatch', 'ratchet tree hash differs from the GroupContext (§12.4.3.1)');
  await verifyParentHashes(suite, tree);
  const n = leafCount(tree);
  const encKeys = new Set<string>();
  const sigKeys = new Set<string>();
  // Leaf signatures: verified VERIFY_BATCH at a time so an async backend (WebCrypto runs them on
  // its thread pool) can overlap them; a synchronous backend just runs them in order.
  const pending: Promise<void>[] = [];
  try {
  for (let l = 0; l < n; l++) {
    const leaf = leafAt(tree, l);
    if (!leaf) continue;
    checkKeyLengths(suite, leaf, `leaf ${l}`);
    const tbs = encodeLeafNodeTBS(leaf, gc.groupId, l);
    pending.push(
      verifyWithLabel(suite, leaf.signatureKey, 'LeafNodeTBS', tbs, leaf.signature).then((ok) => {
        if (!ok) throw new MlsError('leaf-signature', `leaf ${l} signature does not verify (§7.3)`);
      }),
    );
    if (pending.length >= VERIFY_BATCH) await Promise.all(pending.splice(0));
    check(leaf.capabilities.cipherSuites.includes(gc.cipherSuite), 'leaf-capabilities', `leaf ${l} does not support the suite (§7.3)`);
    for (const e of gc.extensions) if (!supportsExtension(leaf, e.extensionType)) throw new MlsError('leaf-capabilities', `leaf ${l} does not support group extension ${e.extensionType}`);
    const ek = toHex(leaf.encryptionKey);
    const sk = toHex(leaf.signatureKey);
    if (encKeys.has(ek)) throw new MlsError('duplicate-encryption-key', `leaf ${l} repeats an encryption key (§7.3)`);
    if (sigKeys.has(sk)) throw new MlsError('duplicate-signature-key', `leaf ${l} repeats a signature key (§7.3)`);
    encKeys.add(ek);
    sigKeys.add(sk);
  }
  await Promise.all(pending);
  } catch (e) {
    for (const p of pending) p.catch(() => {}); // already failing: do not leave rejections unhandled
    throw e;
  }
  for (let p = 1; p < tree.nodes.length; p += 2) {
    const pn = parentAt(tree, p);
    if (!pn) continue;
    const ek = toHex(pn.encryptionKey);
    check(!encKeys.has(ek), 'duplicate-encryption-key', `parent ${p} repeats an encryption key (§7.3)`);
    encKeys.add(ek);
    const [lo, hi] = leafRange(p);
    for (const u of pn.unmergedLeaves) {
      check(u >= lo && u <= hi && leafAt(tree, u) !== undefined, 'unmerged-leaf-invalid', `parent ${p} lists unmerged leaf ${u} that is blank or not below it (§7.1)`);
    }
  }
}

