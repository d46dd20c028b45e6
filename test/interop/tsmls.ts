// Thin adapter around ts-mls 1.6.4 (an independent RFC 9420 implementation, tests and benchmarks only)
// so interop tests and bench/mls.ts can drive it with MLSMessage bytes, exactly as they drive
// shared/mls. Nothing here touches shared/mls internals: bytes in, bytes out.
import * as ts from 'ts-mls';
import { signGroupInfo } from 'ts-mls/groupInfo.js';
import { decodeExternalSender } from 'ts-mls/externalSender.js';
import { protectExternalProposalPublic } from 'ts-mls/messageProtectionPublic.js';
import { getCipherSuite, type SuiteId } from '../../shared/crypto/index.js';

export type TsState = ts.ClientState;
export type TsImpl = ts.CiphersuiteImpl;

const SUITE_NAMES: Record<number, ts.CiphersuiteName> = {
  1: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
  2: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
  3: 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519',
  5: 'MLS_256_DHKEMP521_AES256GCM_SHA512_P521',
  7: 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384',
};

const impls = new Map<number, Promise<TsImpl>>();
const suiteOfImpl = new WeakMap<TsImpl, SuiteId>();
export function tsImpl(suite: number): Promise<TsImpl> {
  const name = SUITE_NAMES[suite];
  if (!name) throw new RangeError(`suite ${suite} not wired for ts-mls in this adapter`);
  let p = impls.get(suite);
  if (!p) {
    p = ts.getCiphersuiteImpl(ts.getCiphersuiteFromName(name)).then((impl) => {
      suiteOfImpl.set(impl, suite as SuiteId);
      return impl;
    });
    impls.set(suite, p);
  }
  return p;
}

/**
 * Workarounds this adapter had to apply for ts-mls 1.6.4 deviations from RFC 9420 (counted so the
 * tests can report them):
 *  - compressedSignatureKeys: ts-mls P-256/P-384/P-521 signature keygen returns SEC1 *compressed*
 *    points, but §5.1.1 requires the UncompressedPointRepresentation; we give ts-mls an uncompressed
 *    public key for the same private key (generateKeyPackageWithKey).
 *  - externalPub: see groupInfoForTsMls / groupInfoFromTsMls.
 *  - externalSenders: see tsProcessExternalSenderProposal.
 */
export const workarounds = { compressedSignatureKeys: 0, externalPub: 0, externalSenders: 0 };

/** Decodes an MLSMessage with ts-mls; throws if ts-mls cannot parse all of it. */
export function tsDecode(bytes: Uint8Array): ts.MLSMessage {
  const r = ts.decodeMlsMessage(bytes, 0);
  if (!r) throw new Error('ts-mls could not decode the MLSMessage');
  if (r[1] !== bytes.length) throw new Error(`ts-mls decoded ${r[1]} of ${bytes.length} bytes`);
  return r[0];
}

export function tsEncode(m: ts.MLSMessage): Uint8Array {
  return ts.encodeMlsMessage(m);
}

export interface TsKeyPackage {
  publicPackage: ts.KeyPackage;
  privatePackage: ts.PrivateKeyPackage;
  /** MLSMessage(KeyPackage) bytes, for shared/mls createCommit({ add }). */
  bytes: Uint8Array;
}

export async function tsKeyPackage(impl: TsImpl, identity: Uint8Array): Promise<TsKeyPackage> {
  const cred: ts.Credential = { credentialType: 'basic', identity };
  const sig = await impl.signature.keygen();
  const suite = suiteOfImpl.get(impl);
  if (suite === undefined) throw new Error('impl not made by tsImpl');
  let publicKey = sig.publicKey;
  if (suite === 2 || suite === 5 || suite === 7) {
    publicKey = await getCipherSuite(suite, 'noble').signature.publicKeyFromPrivate(sig.signKey);
    if (publicKey.length !== sig.publicKey.length) workarounds.compressedSignatureKeys++;
  }
  const kp = await ts.generateKeyPackageWithKey(cred, ts.defaultCapabilities(), ts.defaultLifetime, [], { signKey: sig.signKey, publicKey }, impl);
  const bytes = tsEncode({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: kp.publicPackage });
  return { ...kp, bytes };
}

export async function tsCreateGroup(impl: TsImpl, groupId: Uint8Array, identity: Uint8Array, extensions: ts.Extension[] = []): Promise<TsState> {
  const kp = await tsKeyPackage(impl, identity);
  return ts.createGroup(groupId, kp.publicPackage, kp.privatePackage, extensions, impl);
}

/** Welcome (MLSMessage bytes) -> ts-mls state. The ratchet tree comes from the GroupInfo extension. */
export async function tsJoinWelcome(impl: TsImpl, welcome: Uint8Array, kp: TsKeyPackage): Promise<TsState> {
  const m = tsDecode(welcome);
  if (m.wireformat !== 'mls_welcome') throw new Error('not a Welcome');
  return ts.joinGroup(m.welcome, kp.publicPackage, kp.privatePackage, ts.emptyPskIndex, impl);
}

/** GroupInfo (MLSMessage bytes, with ratchet_tree + external_pub) -> external commit bytes + ts-mls state. */
export async function tsJoinExternal(impl: TsImpl, groupInfo: Uint8Array, identity: Uint8Array): Promise<{ commit: Uint8Array; state: TsState }> {
  const m = tsDecode(groupInfo);
  if (m.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
  const kp = await tsKeyPackage(impl, identity);
  const r = await ts.joinGroupExternal(m.groupInfo, kp.publicPackage, kp.privatePackage, false, impl);
  const commit = tsEncode({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: r.publicMessage });
  return { commit, state: r.newState };
}

export interface TsCommitOptions {
  /** KeyPackage MLSMessages to add. */
  add?: Uint8Array[];
  remove?: number[];
  /** PublicMessage (default) or PrivateMessage framing. */
  publicMessage?: boolean;
}

export async function tsCommit(impl: TsImpl, state: TsState, o: TsCommitOptions = {}): Promise<{ commit: Uint8Array; welcome?: Uint8Array; state: TsState }> {
  const proposals: ts.Proposal[] = [];
  for (const b of o.add ?? []) {
    const m = tsDecode(b);
    if (m.wireformat !== 'mls_key_package') throw new Error('not a KeyPackage');
    proposals.push({ proposalType: 'add', add: { keyPackage: m.keyPackage } });
  }
  for (const r of o.remove ?? []) proposals.push({ proposalType: 'remove', remove: { removed: r } });
  const r = await ts.createCommit(
    { state, cipherSuite: impl },
    { extraProposals: proposals, wireAsPublicMessage: o.publicMessage !== false, ratchetTreeExtension: true },
  );
  const out: { commit: Uint8Array; welcome?: Uint8Array; state: TsState } = { commit: tsEncode(r.commit), state: r.newState };
  if (r.welcome) out.welcome = tsEncode({ version: 'mls10', wireformat: 'mls_welcome', welcome: r.welcome });
  return out;
}

/** Processes a PublicMessage / PrivateMessage (bytes) with ts-mls. */
export async function tsProcess(impl: TsImpl, state: TsState, bytes: Uint8Array): Promise<TsState> {
  const m = tsDecode(bytes);
  if (m.wireformat !== 'mls_public_message' && m.wireformat !== 'mls_private_message') throw new Error(`unexpected wire format ${m.wireformat}`);
  const r = await ts.processMessage(m, state, ts.emptyPskIndex, ts.acceptAll, impl);
  return r.newState;
}

/** MLSMessage(GroupInfo) with external_pub and ratchet_tree, from ts-mls. */
export async function tsGroupInfo(impl: TsImpl, state: TsState): Promise<Uint8Array> {
  const gi = await ts.createGroupInfoWithExternalPubAndRatchetTree(state, [], impl);
  return tsEncode({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi });
}

export function tsEpoch(state: TsState): bigint {
  return state.groupContext.epoch;
}
export function tsEpochAuthenticator(state: TsState): Uint8Array {
  return state.keySchedule.epochAuthenticator;
}
export function tsExporter(impl: TsImpl, state: TsState, label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
  return ts.mlsExporter(state.keySchedule.exporterSecret, label, context, length, impl);
}
export function tsOwnLeaf(state: TsState): number {
  return state.privatePath.leafIndex;
}
export function tsMemberCount(state: TsState): number {
  return state.ratchetTree.filter((n) => n !== undefined && n.nodeType === 'leaf').length;
}

// ---------------------------------------------------------------------------------------------
// external_pub encoding (RFC 9420 §12.4.3.2): extension_data is the serialized
//   struct { HPKEPublicKey external_pub; } ExternalPub;   with HPKEPublicKey = opaque<V> (§5.1.1)
// i.e. a varint length prefix followed by the key. ts-mls 1.6.4 writes and reads the bare key
// (createGroupInfoWithExternalPub*, joinGroupExternal -> exportSecret(extensionData)), which is a
// deviation on its side. To exercise the rest of the external-join path between the two
// implementations, the tests convert the extension and re-sign the GroupInfo with the signer's
// key (the GroupInfo extensions are covered only by the GroupInfo signature, not by the
// GroupContext, so nothing else changes). Each conversion reports whether it had to act.

function varintPrefix(n: number): Uint8Array {
  if (n < 0x40) return Uint8Array.of(n);
  if (n < 0x4000) return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
  return Uint8Array.of(0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

/** Length of a varint-prefixed byte string at the start of `b` if that prefix covers exactly all of `b`. */
function wrappedLength(b: Uint8Array): number | undefined {
  if (b.length === 0) return undefined;
  const top = b[0]! >> 6;
  const size = top === 0 ? 1 : top === 1 ? 2 : top === 2 ? 4 : 0;
  if (size === 0 || b.length < size) return undefined;
  let n = b[0]! & 0x3f;
  for (let i = 1; i < size; i++) n = n * 256 + b[i]!;
  return size + n === b.length ? n : undefined;
}

async function rewriteExternalPub(impl: TsImpl, giBytes: Uint8Array, signerPrivateKey: Uint8Array, f: (data: Uint8Array) => Uint8Array | undefined): Promise<{ groupInfo: Uint8Array; rewritten: boolean }> {
  const m = tsDecode(giBytes);
  if (m.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
  let rewritten = false;
  const extensions = m.groupInfo.extensions.map((e) => {
    if (e.extensionType !== 'external_pub') return e;
    const data = f(e.extensionData);
    if (!data) return e;
    rewritten = true;
    return { ...e, extensionData: data };
  });
  if (!rewritten) return { groupInfo: giBytes, rewritten };
  workarounds.externalPub++;
  const { signature: _old, ...tbs } = m.groupInfo;
  void _old;
  const gi = await signGroupInfo({ ...tbs, extensions }, signerPrivateKey, impl.signature);
  return { groupInfo: tsEncode({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi }), rewritten };
}

/** RFC 9420 GroupInfo (shared/mls) -> the bare-key external_pub ts-mls 1.6.4 expects (`npk`: HPKE public key length). */
export function groupInfoForTsMls(impl: TsImpl, giBytes: Uint8Array, signerPrivateKey: Uint8Array, npk: number) {
  return rewriteExternalPub(impl, giBytes, signerPrivateKey, (d) => (wrappedLength(d) === npk ? d.slice(d.length - npk) : undefined));
}

/** ts-mls GroupInfo (bare key) -> RFC 9420 external_pub (varint-prefixed HPKEPublicKey). */
export function groupInfoFromTsMls(impl: TsImpl, giBytes: Uint8Array, signerPrivateKey: Uint8Array, npk: number) {
  return rewriteExternalPub(impl, giBytes, signerPrivateKey, (d) => (d.length === npk ? Uint8Array.from([...varintPrefix(npk), ...d]) : undefined));
}

/** The raw external_pub extension_data of a GroupInfo as ts-mls sees it (for asserting the encodings). */
export function externalPubData(giBytes: Uint8Array): Uint8Array | undefined {
  const m = tsDecode(giBytes);
  if (m.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
  return m.groupInfo.extensions.find((e) => e.extensionType === 'external_pub')?.extensionData;
}

/** Application data as a PrivateMessage from ts-mls. */
export async function tsApplication(impl: TsImpl, state: TsState, data: Uint8Array): Promise<{ message: Uint8Array; state: TsState }> {
  const r = await ts.createApplicationMessage(state, data, impl);
  return { message: tsEncode({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: r.privateMessage }), state: r.newState };
}

/** A PrivateMessage carrying application data, processed by ts-mls. */
export async function tsProcessApplication(impl: TsImpl, state: TsState, bytes: Uint8Array): Promise<{ data: Uint8Array; state: TsState }> {
  const m = tsDecode(bytes);
  if (m.wireformat !== 'mls_private_message') throw new Error(`unexpected wire format ${m.wireformat}`);
  const r = await ts.processPrivateMessage(state, m.privateMessage, ts.emptyPskIndex, impl);
  if (r.kind !== 'applicationMessage') throw new Error('not an application message');
  return { data: r.message, state: r.newState };
}

// ---------------------------------------------------------------------------------------------
// external_senders (RFC 9420 §12.1.8.1): extension_data is `ExternalSender external_senders<V>`
// (a varint-prefixed vector) and Sender.sender_index indexes that vector. ts-mls 1.6.4 decodes each
// external_senders extension as ONE bare ExternalSender and uses sender_index as the index of the
// *extension* (publicMessage.js senderFromExtension, externalProposal.js proposeExternal), so it
// cannot read an RFC-encoded extension ("Could not decode ExternalSender"). Processing an external
// proposal does not involve the GroupContext bytes (FramedContentTBS carries the context only for
// member / new_member_commit senders, §6.1; ProposalRef covers the AuthenticatedContent only,
// §5.2), so the shim below hands ts-mls its own shape of the extension for that one call and
// restores the real extensions in the resulting state.

/** Splits an RFC external_senders extension_data into the encoded ExternalSender entries. */
function splitExternalSenders(data: Uint8Array): Uint8Array[] {
  const n = wrappedLengthPrefix(data);
  if (!n) throw new Error('external_senders is not a varint-prefixed vector');
  const body = data.subarray(n.size);
  const out: Uint8Array[] = [];
  let off = 0;
  while (off < body.length) {
    const r = decodeExternalSender(body, off);
    if (!r) throw new Error('external_senders entry does not decode as an ExternalSender');
    out.push(body.subarray(off, r[1]));
    off = r[1];
  }
  return out;
}

function wrappedLengthPrefix(b: Uint8Array): { size: number; length: number } | undefined {
  const n = wrappedLength(b);
  if (n === undefined) return undefined;
  return { size: b.length - n, length: n };
}

/** ts-mls processes an external-sender proposal in a group whose external_senders is RFC-encoded. */
export async function tsProcessExternalSenderProposal(impl: TsImpl, state: TsState, bytes: Uint8Array): Promise<TsState> {
  const original = state.groupContext.extensions;
  const shimmed: ts.Extension[] = [];
  for (const e of original) {
    if (e.extensionType !== 'external_senders') shimmed.push(e);
    else for (const entry of splitExternalSenders(e.extensionData)) shimmed.push({ extensionType: 'external_senders', extensionData: entry });
  }
  workarounds.externalSenders++;
  const out = await tsProcess(impl, { ...state, groupContext: { ...state.groupContext, extensions: shimmed } }, bytes);
  return { ...out, groupContext: { ...out.groupContext, extensions: original } };
}

/** A Remove proposal signed by external sender `senderIndex`, framed by ts-mls (§12.1.8). */
export async function tsExternalRemoveProposal(impl: TsImpl, groupInfo: Uint8Array, removed: number, senderIndex: number, signaturePrivateKey: Uint8Array): Promise<Uint8Array> {
  const m = tsDecode(groupInfo);
  if (m.wireformat !== 'mls_group_info') throw new Error('not a GroupInfo');
  const r = await protectExternalProposalPublic(signaturePrivateKey, m.groupInfo.groupContext, new Uint8Array(0), { proposalType: 'remove', remove: { removed } }, { senderType: 'external', senderIndex }, impl);
  return tsEncode({ version: 'mls10', wireformat: 'mls_public_message', publicMessage: r.publicMessage });
}
