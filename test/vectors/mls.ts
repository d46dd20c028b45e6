// RFC 9420 interop vectors (mlswg/mls-implementations test-vectors, format in FORMAT.md): every case of
// every MLS file except crypto-basics.json (the crypto helper's). Folder: $MLS_VECTORS_DIR, default
// ../shared/mls-test-vectors relative to the repo root. One VectorFileResult per file.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { equal, fromHex, toHex } from '../../shared/bytes/index.js';
import { decode, encode, Reader, type Writer } from '../../shared/codec/index.js';
import type { VectorFileResult } from './types.js';
import * as tm from '../../shared/mls/treeMath.js';
import { readMLSMessage, writeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { readRatchetTree, writeRatchetTree } from '../../shared/mls/wire/node.js';
import { readGroupSecrets, writeGroupSecrets } from '../../shared/mls/wire/groupSecrets.js';
import * as P from '../../shared/mls/wire/proposal.js';
import { readCommit, writeCommit } from '../../shared/mls/wire/commit.js';
import { WireFormat } from '../../shared/mls/wire/wireFormat.js';
import { ContentType } from '../../shared/mls/wire/framedContent.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..', '..');

export function vectorsDir(): string {
  return process.env.MLS_VECTORS_DIR ?? resolve(repoRoot, '..', 'shared', 'mls-test-vectors');
}

/** A case handler returns failure strings (empty: the case passed). */
export type CaseHandler = (c: any, index: number) => Promise<string[]> | string[];

function opt(v: number | null, want: number | null, what: string, out: string[]): void {
  if (v !== want) out.push(`${what}: got ${v}, want ${want}`);
}

function treeMath(c: any): string[] {
  const out: string[] = [];
  const n: number = c.n_leaves;
  opt(tm.nodeWidth(n), c.n_nodes, 'n_nodes', out);
  opt(tm.root(n), c.root, 'root', out);
  const w = tm.nodeWidth(n);
  const r = tm.root(n);
  for (let i = 0; i < w; i++) {
    const leaf = i % 2 === 0;
    opt(leaf ? null : tm.left(i), c.left[i], `left[${i}]`, out);
    opt(leaf ? null : tm.right(i), c.right[i], `right[${i}]`, out);
    opt(i === r ? null : tm.parent(i, n), c.parent[i], `parent[${i}]`, out);
    opt(i === r ? null : tm.sibling(i, n), c.sibling[i], `sibling[${i}]`, out);
    if (out.length > 4) break;
  }
  return out;
}

function deserialization(c: any): string[] {
  const r = new Reader(fromHex(c.vlbytes_header));
  const len = r.varint();
  r.end();
  return len === c.length ? [] : [`length ${len} != ${c.length}`];
}

function roundTrip<T>(name: string, hex: string, read: (r: Reader) => T, write: (w: Writer, v: T) => void, out: string[], check?: (v: T) => string | undefined): void {
  try {
    const bytes = fromHex(hex);
    const v = decode(bytes, read, name);
    const again = encode((w) => write(w, v));
    if (!equal(again, bytes)) out.push(`${name}: re-encoding differs`);
    const problem = check?.(v);
    if (problem) out.push(`${name}: ${problem}`);
  } catch (err) {
    out.push(`${name}: ${(err as Error).message}`);
  }
}

function messages(c: any): string[] {
  const out: string[] = [];
  const wf = (want: number, ct?: number) => (m: ReturnType<typeof readMLSMessage>) => {
    if (m.wireFormat !== want) return `wire_format ${m.wireFormat}`;
    if (ct !== undefined && m.wireFormat === WireFormat.mls_public_message && m.publicMessage.content.contentType !== ct) {
      return `content_type ${m.publicMessage.content.contentType}`;
    }
    return undefined;
  };
  roundTrip('mls_welcome', c.mls_welcome, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_welcome));
  roundTrip('mls_group_info', c.mls_group_info, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_group_info));
  roundTrip('mls_key_package', c.mls_key_package, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_key_package));
  roundTrip('ratchet_tree', c.ratchet_tree, readRatchetTree, writeRatchetTree, out);
  roundTrip('group_secrets', c.group_secrets, readGroupSecrets, writeGroupSecrets, out);
  roundTrip('add_proposal', c.add_proposal, P.readAdd, P.writeAdd, out);
  roundTrip('update_proposal', c.update_proposal, P.readUpdate, P.writeUpdate, out);
  roundTrip('remove_proposal', c.remove_proposal, P.readRemove, P.writeRemove, out);
  roundTrip('pre_shared_key_proposal', c.pre_shared_key_proposal, P.readPreSharedKey, P.writePreSharedKey, out);
  roundTrip('re_init_proposal', c.re_init_proposal, P.readReInit, P.writeReInit, out);
  roundTrip('external_init_proposal', c.external_init_proposal, P.readExternalInit, P.writeExternalInit, out);
  roundTrip('group_context_extensions_proposal', c.group_context_extensions_proposal, P.readGroupContextExtensions, P.writeGroupContextExtensions, out);
  roundTrip('commit', c.commit, readCommit, writeCommit, out);
  roundTrip('public_message_application', c.public_message_application, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_public_message, ContentType.application));
  roundTrip('public_message_proposal', c.public_message_proposal, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_public_message, ContentType.proposal));
  roundTrip('public_message_commit', c.public_message_commit, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_public_message, ContentType.commit));
  roundTrip('private_message', c.private_message, readMLSMessage, writeMLSMessage, out, wf(WireFormat.mls_private_message));
  return out;
}

const HANDLERS: Record<string, CaseHandler> = {
  'tree-math.json': treeMath,
  'deserialization.json': deserialization,
  'messages.json': messages,
};

// Filled in below as the protocol layers land.
const extraHandlers: Record<string, CaseHandler> = {};

/** Files this suite owns: the handlers above plus every passive-client-*.json. */
function handlerFor(file: string): CaseHandler | undefined {
  if (HANDLERS[file]) return HANDLERS[file];
  if (extraHandlers[file]) return extraHandlers[file];
  if (/^passive-client-.*\.json$/.test(file)) return extraHandlers['passive-client'];
  return undefined;
}

const ORDER = [
  'tree-math.json', 'deserialization.json', 'messages.json', 'key-schedule.json', 'psk_secret.json', 'secret-tree.json',
  'transcript-hashes.json', 'message-protection.json', 'tree-operations.json', 'tree-validation.json', 'treekem.json',
  'welcome.json',
];

export async function run(log: (line: string) => void, only?: string[]): Promise<VectorFileResult[]> {
  const dir = vectorsDir();
  const present = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'crypto-basics.json');
  const files = [...ORDER.filter((f) => present.includes(f)), ...present.filter((f) => !ORDER.includes(f)).sort()];
  for (const f of ORDER) if (!present.includes(f)) log(`mls: ${f} missing from ${dir}`);
  const results: VectorFileResult[] = [];
  for (const file of files) {
    if (only && !only.some((o) => file.includes(o))) continue;
    const handler = handlerFor(file);
    const result: VectorFileResult = { file, passed: 0, failed: 0, failures: [] };
    results.push(result);
    if (!handler) {
      result.failed = 1;
      result.failures.push('no handler for this file');
      continue;
    }
    const cases = JSON.parse(readFileSync(join(dir, file), 'utf8')) as any[];
    const t0 = performance.now();
    for (let i = 0; i < cases.length; i++) {
      const c = cases[i];
      let failures: string[];
      try {
        failures = await handler(c, i);
      } catch (err) {
        failures = [`threw ${(err as Error).name}: ${(err as Error).message}`];
      }
      if (failures.length === 0) result.passed++;
      else {
        result.failed++;
        const suite = c.cipher_suite !== undefined ? ` suite ${c.cipher_suite}` : '';
        result.failures.push(`case ${i}${suite}: ${failures.slice(0, 3).join('; ')}`);
      }
    }
    log(`mls: ${file} ${cases.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s (${BACKEND_NAME} backend)`);
  }
  void toHex;
  return results;
}

// ---- Step 2: key schedule, PSKs, secret tree, transcript hashes, message protection, trees ----
import { getCipherSuite, type CipherSuite, type SuiteId } from '../../shared/crypto/index.js';
import * as ks from '../../shared/mls/keySchedule.js';
import { encodeGroupContext, type GroupContext } from '../../shared/mls/wire/groupContext.js';
import { PSKType } from '../../shared/mls/wire/preSharedKeyId.js';
import { createSecretTree, consumeKey } from '../../shared/mls/secretTree.js';
import { senderDataKeyNonce } from '../../shared/mls/framing.js';
import { confirmedTranscriptHash, interimTranscriptHash } from '../../shared/mls/transcript.js';
import { readAuthenticatedContent } from '../../shared/mls/wire/framedContent.js';

const h = fromHex;
// Backend for the MLS vectors: $MLS_VECTORS_BACKEND = node (default: fastest) | noble | webcrypto.
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import type { CryptoBackend } from '../../shared/crypto/index.js';
const BACKEND_NAME = process.env.MLS_VECTORS_BACKEND ?? 'node';
const BACKEND: CryptoBackend = BACKEND_NAME === 'noble' || BACKEND_NAME === 'webcrypto' ? BACKEND_NAME : nodeCryptoProvider;
const CRYPTO = { crypto: BACKEND };
function suiteOf(c: any): CipherSuite {
  return getCipherSuite(c.cipher_suite as SuiteId, BACKEND);
}
/** Private keys in the vectors are big-endian scalars; some P-521 ones drop a leading zero byte. */
function padKey(key: Uint8Array, length: number): Uint8Array {
  if (key.length >= length) return key;
  const out = new Uint8Array(length);
  out.set(key, length - key.length);
  return out;
}
function cmp(out: string[], what: string, got: Uint8Array, want: string): void {
  if (toHex(got) !== want.toLowerCase()) out.push(`${what} differs`);
}

extraHandlers['key-schedule.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  let init = h(c.initial_init_secret);
  for (let e = 0; e < c.epochs.length; e++) {
    const ep = c.epochs[e];
    const gc: GroupContext = {
      version: 1,
      cipherSuite: c.cipher_suite,
      groupId: h(c.group_id),
      epoch: BigInt(e),
      treeHash: h(ep.tree_hash),
      confirmedTranscriptHash: h(ep.confirmed_transcript_hash),
      extensions: [],
    };
    const gcBytes = encodeGroupContext(gc);
    cmp(out, `epoch ${e} group_context`, gcBytes, ep.group_context);
    const joiner = await ks.deriveJoinerSecret(suite, init, h(ep.commit_secret), gcBytes);
    cmp(out, `epoch ${e} joiner_secret`, joiner, ep.joiner_secret);
    const { welcomeSecret, secrets } = await ks.deriveEpoch(suite, joiner, h(ep.psk_secret), gcBytes);
    cmp(out, `epoch ${e} welcome_secret`, welcomeSecret, ep.welcome_secret);
    cmp(out, `epoch ${e} init_secret`, secrets.initSecret, ep.init_secret);
    cmp(out, `epoch ${e} sender_data_secret`, secrets.senderDataSecret, ep.sender_data_secret);
    cmp(out, `epoch ${e} encryption_secret`, secrets.encryptionSecret, ep.encryption_secret);
    cmp(out, `epoch ${e} exporter_secret`, secrets.exporterSecret, ep.exporter_secret);
    cmp(out, `epoch ${e} epoch_authenticator`, secrets.epochAuthenticator, ep.epoch_authenticator);
    cmp(out, `epoch ${e} external_secret`, secrets.externalSecret, ep.external_secret);
    cmp(out, `epoch ${e} confirmation_key`, secrets.confirmationKey, ep.confirmation_key);
    cmp(out, `epoch ${e} membership_key`, secrets.membershipKey, ep.membership_key);
    cmp(out, `epoch ${e} resumption_psk`, secrets.resumptionPsk, ep.resumption_psk);
    const kp = await ks.externalKeyPair(suite, secrets.externalSecret);
    cmp(out, `epoch ${e} external_pub`, kp.publicKey, ep.external_pub);
    const exp = await ks.mlsExporter(suite, secrets.exporterSecret, ep.exporter.label, h(ep.exporter.context), ep.exporter.length);
    cmp(out, `epoch ${e} exporter.secret`, exp, ep.exporter.secret);
    init = secrets.initSecret;
  }
  return out;
};

extraHandlers['psk_secret.json'] = async (c) => {
  const suite = suiteOf(c);
  const psks = c.psks.map((p: any) => ({
    id: { pskType: PSKType.external, pskId: h(p.psk_id), pskNonce: h(p.psk_nonce) } as const,
    psk: h(p.psk),
  }));
  const out: string[] = [];
  cmp(out, 'psk_secret', await ks.pskSecret(suite, psks), c.psk_secret);
  return out;
};

extraHandlers['secret-tree.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const sd = await senderDataKeyNonce(suite, h(c.sender_data.sender_data_secret), h(c.sender_data.ciphertext));
  cmp(out, 'sender_data key', sd.key, c.sender_data.key);
  cmp(out, 'sender_data nonce', sd.nonce, c.sender_data.nonce);
  let st = createSecretTree(h(c.encryption_secret), c.leaves.length);
  for (let i = 0; i < c.leaves.length; i++) {
    for (const g of c.leaves[i]) {
      const hs = await consumeKey(suite, st, i, 'handshake', g.generation);
      st = hs.tree;
      cmp(out, `leaf ${i} gen ${g.generation} handshake_key`, hs.keyNonce.key, g.handshake_key);
      cmp(out, `leaf ${i} gen ${g.generation} handshake_nonce`, hs.keyNonce.nonce, g.handshake_nonce);
      const ap = await consumeKey(suite, st, i, 'application', g.generation);
      st = ap.tree;
      cmp(out, `leaf ${i} gen ${g.generation} application_key`, ap.keyNonce.key, g.application_key);
      cmp(out, `leaf ${i} gen ${g.generation} application_nonce`, ap.keyNonce.nonce, g.application_nonce);
    }
  }
  return out;
};

extraHandlers['transcript-hashes.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const ac = decode(h(c.authenticated_content), readAuthenticatedContent, 'AuthenticatedContent');
  if (ac.content.contentType !== ContentType.commit) return ['authenticated_content is not a commit'];
  const confirmed = await confirmedTranscriptHash(suite, h(c.interim_transcript_hash_before), ac.wireFormat, ac.content, ac.auth.signature);
  cmp(out, 'confirmed_transcript_hash_after', confirmed, c.confirmed_transcript_hash_after);
  const tag = await suite.hmac(h(c.confirmation_key), confirmed);
  if (!equal(tag, ac.auth.confirmationTag!)) out.push('confirmation_tag does not verify');
  cmp(out, 'interim_transcript_hash_after', await interimTranscriptHash(suite, confirmed, ac.auth.confirmationTag!), c.interim_transcript_hash_after);
  return out;
};
// ---- Step 4: message protection, tree operations/validation, TreeKEM, Welcome, passive clients ----
import * as framing from '../../shared/mls/framing.js';
import * as rt from '../../shared/mls/ratchetTree.js';
import * as tk from '../../shared/mls/treekem.js';
import { createSecretTree as newSecretTree } from '../../shared/mls/secretTree.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { readProposal, writeProposal } from '../../shared/mls/wire/proposal.js';
import { readUpdatePath } from '../../shared/mls/wire/updatePath.js';
import { decodeRatchetTree, encodeRatchetTree } from '../../shared/mls/wire/node.js';
import { SenderType, type FramedContent } from '../../shared/mls/wire/framedContent.js';
import { verifyWithLabel } from '../../shared/crypto/index.js';
import { encodeGroupInfoTBS } from '../../shared/mls/wire/groupInfo.js';
import { openWelcome, joinWelcomeState, processMessageState } from '../../shared/mls/group.js';
import type { GroupState } from '../../shared/mls/state.js';

extraHandlers['message-protection.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const gc: GroupContext = {
    version: 1, cipherSuite: c.cipher_suite, groupId: h(c.group_id), epoch: BigInt(c.epoch),
    treeHash: h(c.tree_hash), confirmedTranscriptHash: h(c.confirmed_transcript_hash), extensions: [],
  };
  const sigPriv = padKey(h(c.signature_priv), suite.signature.privateKeyLength);
  const sigPub = h(c.signature_pub);
  const membershipKey = h(c.membership_key);
  const sds = h(c.sender_data_secret);
  const enc = h(c.encryption_secret);
  const sender = { senderType: SenderType.member, leafIndex: 1 } as const;

  async function checkPub(name: string, bytes: Uint8Array, wantBody: (fc: FramedContent) => boolean): Promise<void> {
    const m = decodeMLSMessage(bytes);
    if (m.wireFormat !== WireFormat.mls_public_message) return void out.push(`${name}: not a PublicMessage`);
    const pm = m.publicMessage;
    try {
      await framing.verifyMembershipTag(suite, pm, membershipKey, gc);
      await framing.verifyFramedContent(suite, sigPub, WireFormat.mls_public_message, pm.content, pm.auth, gc);
    } catch (e) {
      return void out.push(`${name}: ${(e as Error).message}`);
    }
    if (!wantBody(pm.content)) out.push(`${name}: content differs`);
  }
  async function checkPriv(name: string, bytes: Uint8Array, wantBody: (fc: FramedContent) => boolean): Promise<void> {
    const m = decodeMLSMessage(bytes);
    if (m.wireFormat !== WireFormat.mls_private_message) return void out.push(`${name}: not a PrivateMessage`);
    try {
      const r = await framing.unprotectPrivate(suite, newSecretTree(enc, 2), sds, m.privateMessage);
      await framing.verifyFramedContent(suite, sigPub, WireFormat.mls_private_message, r.content, r.auth, gc);
      if (!wantBody(r.content)) out.push(`${name}: content differs`);
    } catch (e) {
      out.push(`${name}: ${(e as Error).message}`);
    }
  }
  const base = { groupId: gc.groupId, epoch: gc.epoch, sender, authenticatedData: new Uint8Array(0) };
  const bodies: [string, any, (fc: FramedContent) => boolean][] = [];
  const proposalBytes = h(c.proposal);
  const proposal = decode(proposalBytes, readProposal);
  bodies.push(['proposal', { contentType: ContentType.proposal, proposal }, (fc) => fc.contentType === ContentType.proposal && equal(encode((w) => writeProposal(w, fc.proposal)), proposalBytes)]);
  const commitBytes = h(c.commit);
  const commit = decode(commitBytes, readCommit);
  bodies.push(['commit', { contentType: ContentType.commit, commit }, (fc) => fc.contentType === ContentType.commit && equal(encode((w) => writeCommit(w, fc.commit)), commitBytes)]);
  const app = h(c.application);
  bodies.push(['application', { contentType: ContentType.application, applicationData: app }, (fc) => fc.contentType === ContentType.application && equal(fc.applicationData, app)]);

  for (const [name, body, want] of bodies) {
    if (name !== 'application') await checkPub(`${name}_pub`, h(c[`${name}_pub`]), want);
    await checkPriv(`${name}_priv`, h(c[`${name}_priv`]), want);
    const content = { ...base, ...body } as FramedContent;
    const tag = name === 'commit' ? new Uint8Array(suite.kdf.Nh).fill(7) : undefined;
    // Protect as PublicMessage (must fail for application data).
    try {
      const pm = await framing.protectPublic(suite, content, sigPriv, gc, membershipKey, tag);
      if (name === 'application') out.push('application protected as PublicMessage');
      else await checkPub(`${name} own pub`, encodeMLSMessage({ version: 1, wireFormat: WireFormat.mls_public_message, publicMessage: pm }), want);
    } catch (e) {
      if (name !== 'application') out.push(`${name} own pub: ${(e as Error).message}`);
    }
    // Protect as PrivateMessage with a fresh sender tree; unprotect with a fresh receiver tree.
    const signature = await framing.signFramedContent(suite, sigPriv, WireFormat.mls_private_message, content, gc);
    const auth = tag ? { signature, confirmationTag: tag } : { signature };
    const r = await framing.protectPrivate(suite, newSecretTree(enc, 2), sds, gc.groupId, gc.epoch, 1, content.authenticatedData, body, auth);
    await checkPriv(`${name} own priv`, encodeMLSMessage({ version: 1, wireFormat: WireFormat.mls_private_message, privateMessage: r.message }), want);
  }
  return out;
};

extraHandlers['tree-operations.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const tree = rt.treeFromNodeList(decodeRatchetTree(h(c.tree_before)));
  cmp(out, 'tree_hash_before', await rt.treeHash(suite, tree), c.tree_hash_before);
  const p = decode(h(c.proposal), readProposal);
  let after: rt.RatchetTree;
  if (p.proposalType === 1) after = rt.addLeaf(tree, p.add.keyPackage.leafNode).tree;
  else if (p.proposalType === 2) after = rt.updateLeaf(tree, c.proposal_sender, p.update.leafNode);
  else if (p.proposalType === 3) after = rt.removeLeaf(tree, p.remove.removed);
  else return [`unexpected proposal type ${p.proposalType}`];
  cmp(out, 'tree_after', encodeRatchetTree(after.nodes), c.tree_after);
  cmp(out, 'tree_hash_after', await rt.treeHash(suite, after), c.tree_hash_after);
  return out;
};

extraHandlers['tree-validation.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const tree = rt.treeFromNodeList(decodeRatchetTree(h(c.tree)));
  for (let i = 0; i < c.resolutions.length; i++) {
    const got = rt.resolution(tree, i);
    if (got.join(',') !== c.resolutions[i].join(',')) out.push(`resolution[${i}] ${got} != ${c.resolutions[i]}`);
  }
  for (let i = 0; i < c.tree_hashes.length; i++) cmp(out, `tree_hash[${i}]`, await rt.treeHash(suite, tree, i), c.tree_hashes[i]);
  try {
    await rt.verifyParentHashes(suite, tree);
  } catch (e) {
    out.push((e as Error).message);
  }
  for (const l of rt.nonBlankLeaves(tree)) {
    const leaf = rt.leafAt(tree, l)!;
    const { encodeLeafNodeTBS } = await import('../../shared/mls/wire/leafNode.js');
    if (!(await verifyWithLabel(suite, leaf.signatureKey, 'LeafNodeTBS', encodeLeafNodeTBS(leaf, h(c.group_id), l), leaf.signature))) out.push(`leaf ${l} signature`);
  }
  return out;
};

extraHandlers['treekem.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const groupId = h(c.group_id);
  const tree = rt.treeFromNodeList(decodeRatchetTree(h(c.ratchet_tree)));
  const gcFor = async (t: rt.RatchetTree) => encodeGroupContext({
    version: 1, cipherSuite: c.cipher_suite, groupId, epoch: BigInt(c.epoch),
    treeHash: await rt.treeHash(suite, t), confirmedTranscriptHash: h(c.confirmed_transcript_hash), extensions: [],
  });
  // Private states.
  const priv = new Map<number, { keys: tk.PathKeys; sigPriv: Uint8Array }>();
  for (const lp of c.leaves_private) {
    const encPriv = padKey(h(lp.encryption_priv), suite.hpke.Nsk);
    const list: tk.PathKey[] = [{ node: 2 * lp.index, privateKey: encPriv, publicKey: await suite.hpke.publicKeyFromPrivate(encPriv) }];
    for (const ps of lp.path_secrets) list.push({ node: ps.node, ...(await tk.nodeKeyPairFromPathSecret(suite, h(ps.path_secret))) });
    const keys = tk.withKeys([], list);
    for (const kp of keys) {
      const pub = rt.publicKeyAt(tree, kp.node);
      if (!pub || !equal(pub, kp.publicKey)) out.push(`leaf ${lp.index}: private key for node ${kp.node} does not match the tree`);
    }
    priv.set(lp.index, { keys, sigPriv: padKey(h(lp.signature_priv), suite.signature.privateKeyLength) });
  }
  for (const up of c.update_paths) {
    const i: number = up.sender;
    const path = decode(h(up.update_path), readUpdatePath);
    let merged: rt.RatchetTree;
    try {
      merged = await tk.applyUpdatePath(suite, tree, i, path, groupId);
    } catch (e) {
      out.push(`update_path from ${i}: ${(e as Error).message}`);
      continue;
    }
    cmp(out, `sender ${i} tree_hash_after`, await rt.treeHash(suite, merged), up.tree_hash_after);
    const ctx = await gcFor(merged);
    for (const [j, st] of priv) {
      if (j === i) continue;
      try {
        const r = await tk.decryptUpdatePath(suite, merged, j, i, path, st.keys, [], ctx);
        if (up.path_secrets[j] !== null) cmp(out, `sender ${i} leaf ${j} path_secret`, r.pathSecret, up.path_secrets[j]);
        cmp(out, `sender ${i} leaf ${j} commit_secret`, r.commitSecret, up.commit_secret);
      } catch (e) {
        out.push(`sender ${i} leaf ${j}: ${(e as Error).message}`);
      }
    }
    // Create a fresh UpdatePath from i and check every other member derives the same commit secret.
    const me = priv.get(i);
    const leaf = rt.leafAt(tree, i);
    if (!me || !leaf) continue;
    const created = await tk.createUpdatePath(suite, tree, i, groupId, me.sigPriv,
      { signatureKey: leaf.signatureKey, credential: leaf.credential, capabilities: leaf.capabilities, extensions: leaf.extensions }, [], gcFor);
    const merged2 = await tk.applyUpdatePath(suite, tree, i, created.updatePath, groupId);
    const ctx2 = await gcFor(merged2);
    for (const [j, st] of priv) {
      if (j === i) continue;
      try {
        const r = await tk.decryptUpdatePath(suite, merged2, j, i, created.updatePath, st.keys, [], ctx2);
        if (!equal(r.commitSecret, created.commitSecret)) out.push(`new path from ${i}: leaf ${j} commit secret differs`);
      } catch (e) {
        out.push(`new path from ${i}: leaf ${j}: ${(e as Error).message}`);
      }
    }
  }
  return out;
};

extraHandlers['welcome.json'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const kpMsg = decodeMLSMessage(h(c.key_package));
  const wMsg = decodeMLSMessage(h(c.welcome));
  if (kpMsg.wireFormat !== WireFormat.mls_key_package || wMsg.wireFormat !== WireFormat.mls_welcome) return ['wrong wire formats'];
  const { groupSecrets, groupInfo, pskSecret } = await openWelcome(suite, wMsg.welcome, kpMsg.keyPackage, padKey(h(c.init_priv), suite.hpke.Nsk), {});
  if (!(await verifyWithLabel(suite, h(c.signer_pub), 'GroupInfoTBS', encodeGroupInfoTBS(groupInfo), groupInfo.signature))) out.push('GroupInfo signature');
  const { secrets } = await ks.deriveEpoch(suite, groupSecrets.joinerSecret, pskSecret, encodeGroupContext(groupInfo.groupContext));
  const tag = await suite.hmac(secrets.confirmationKey, groupInfo.groupContext.confirmedTranscriptHash);
  if (!equal(tag, groupInfo.confirmationTag)) out.push('confirmation_tag');
  return out;
};

extraHandlers['passive-client'] = async (c) => {
  const suite = suiteOf(c);
  const out: string[] = [];
  const kpMsg = decodeMLSMessage(h(c.key_package));
  if (kpMsg.wireFormat !== WireFormat.mls_key_package) return ['key_package is not a KeyPackage'];
  const kp = kpMsg.keyPackage;
  const initPriv = padKey(h(c.init_priv), suite.hpke.Nsk);
  const encPriv = padKey(h(c.encryption_priv), suite.hpke.Nsk);
  const sigPriv = padKey(h(c.signature_priv), suite.signature.privateKeyLength);
  if (!equal(await suite.hpke.publicKeyFromPrivate(initPriv), kp.initKey)) out.push('init_priv does not match');
  if (!equal(await suite.hpke.publicKeyFromPrivate(encPriv), kp.leafNode.encryptionKey)) out.push('encryption_priv does not match');
  if (!equal(await suite.signature.publicKeyFromPrivate(sigPriv), kp.leafNode.signatureKey)) out.push('signature_priv does not match');
  const opts: Parameters<typeof joinWelcomeState>[0] = {
    welcome: h(c.welcome),
    keyPackage: kp,
    private: { initPrivateKey: initPriv, encryptionPrivateKey: encPriv, signaturePrivateKey: sigPriv },
    externalPsks: c.external_psks.map((p: any) => ({ pskId: h(p.psk_id), psk: h(p.psk) })),
    crypto: BACKEND,
  };
  if (c.ratchet_tree) opts.ratchetTree = decodeRatchetTree(h(c.ratchet_tree));
  let state: GroupState = await joinWelcomeState(opts);
  cmp(out, 'initial_epoch_authenticator', state.secrets.epochAuthenticator, c.initial_epoch_authenticator);
  if (out.length) return out;
  for (let e = 0; e < c.epochs.length; e++) {
    const ep = c.epochs[e];
    try {
      for (const p of ep.proposals) state = (await processMessageState(state, h(p), CRYPTO)).newState;
      state = (await processMessageState(state, h(ep.commit), CRYPTO)).newState;
    } catch (err) {
      out.push(`epoch ${e}: ${(err as Error).message}`);
      break;
    }
    cmp(out, `epoch ${e} epoch_authenticator`, state.secrets.epochAuthenticator, ep.epoch_authenticator);
    if (out.length) break;
  }
  return out;
};

// Direct use: `npx tsx test/vectors/mls.ts [file-substring ...]`
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const only = process.argv.slice(2);
  const t0 = performance.now();
  const results = await run((l) => console.log(l), only.length ? only : undefined);
  for (const r of results) {
    console.log(`${r.file.padEnd(40)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed`);
    for (const f of r.failures.slice(0, 8)) console.log(`    ${f}`);
  }
  console.log(`${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

