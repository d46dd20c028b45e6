// Fuzzing the MLS (RFC 9420) decoders and group processing of shared/mls with random and mutated
// inputs seeded from the official interop vectors ($MLS_VECTORS_DIR, default
// ../shared/mls-test-vectors: messages.json, welcome.json, passive-client-*.json, treekem.json,
// tree-validation.json, tree-operations.json, message-protection.json) and from a live group.
//
// Properties checked for every input:
//  - decoders (wire layer + facade): a CodecError (MlsError for the facade's deserializeState), or
//    a value that re-encodes to exactly the input bytes (canonical encoding, §2.1.2);
//  - group processing (processMessage on a live 3-member group, joinWelcome, joinExternal,
//    createCommit with a KeyPackage to add): an MlsError (or CodecError), or acceptance of an
//    input that is byte-identical to a genuine message (a modified message that is accepted is a
//    forgery);
//  - never a crash (any other exception class), never a hang (one case over HANG_MS), never a huge
//    allocation (array buffers / heap sampled during the run, limit MEMORY_LIMIT).
// Deterministic: mulberry32 PRNG from the seed; live-group secrets come from the crypto RNG, so
// only the group-processing seeds differ between runs.
//
// `npx tsx test/fuzz/mls.ts [casesPerDecoder] [seed]` (default 100000, 1); node --expose-gc makes
// the heap-growth figure exact.
import { heapUsed, mutateBytes, prng } from './common.js';
import { equal, fromHex, toHex, utf8 } from '../../shared/bytes/index.js';
import { CodecError, decode, encode, Reader, type Writer } from '../../shared/codec/index.js';
import { getCipherSuite } from '../../shared/crypto/index.js';
import * as mls from '../../shared/mls/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import { readCapabilities, writeCapabilities } from '../../shared/mls/wire/capabilities.js';
import { readCommit, writeCommit } from '../../shared/mls/wire/commit.js';
import { CredentialType, readCredential, writeCredential } from '../../shared/mls/wire/credential.js';
import { readExtensions, writeExtensions } from '../../shared/mls/wire/extension.js';
import { decodeExternalPub, encodeExternalPub } from '../../shared/mls/wire/externalPub.js';
import { decodeExternalSenders, encodeExternalSenders } from '../../shared/mls/wire/externalSenders.js';
import {
  ContentType,
  encodeAuthenticatedContent,
  readAuthenticatedContent,
  readFramedContent,
  readSender,
  writeAuthenticatedContent,
  writeFramedContent,
  writeSender,
  type FramedContent,
} from '../../shared/mls/wire/framedContent.js';
import { encodeGroupContext, readGroupContext, writeGroupContext } from '../../shared/mls/wire/groupContext.js';
import { readGroupInfo, writeGroupInfo } from '../../shared/mls/wire/groupInfo.js';
import { readGroupSecrets, writeGroupSecrets } from '../../shared/mls/wire/groupSecrets.js';
import { readKeyPackage, writeKeyPackage } from '../../shared/mls/wire/keyPackage.js';
import { readLeafNode, writeLeafNode } from '../../shared/mls/wire/leafNode.js';
import { decodeMLSMessage, encodeMLSMessage, type MLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { readRatchetTree, writeRatchetTree } from '../../shared/mls/wire/node.js';
import { readPreSharedKeyID, writePreSharedKeyID } from '../../shared/mls/wire/preSharedKeyId.js';
import { decodePrivateMessageContent, encodePrivateMessageContent, encodeSenderData, readPrivateMessage, readSenderData, writePrivateMessage } from '../../shared/mls/wire/privateMessage.js';
import { readProposal, writeProposal } from '../../shared/mls/wire/proposal.js';
import { readPublicMessage, writePublicMessage } from '../../shared/mls/wire/publicMessage.js';
import { decodeRequiredCapabilities, encodeRequiredCapabilities } from '../../shared/mls/wire/requiredCapabilities.js';
import { readUpdatePath, writeUpdatePath } from '../../shared/mls/wire/updatePath.js';
import { readWelcome, writeWelcome } from '../../shared/mls/wire/welcome.js';
import { WireFormat } from '../../shared/mls/wire/wireFormat.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One case slower than this is reported as a hang. */
const HANG_MS = 5000;
/** Array buffers or heap above this (sampled) is reported as a huge allocation. */
const MEMORY_LIMIT = 768 * 1024 * 1024;

export interface TargetCounts {
  cases: number;
  /** Decoded and re-encoded identically / accepted a genuine message. */
  ok: number;
  /** Rejected with a typed error. */
  rejected: number;
  failures: number;
  seconds: number;
}

export interface MlsFuzzReport {
  seed: number;
  casesPerDecoder: number;
  /** Total cases over all targets. */
  cases: number;
  targets: Record<string, TargetCounts>;
  /** Outcome histogram: "target:ok" or "target:<error code>". */
  outcomes: Record<string, number>;
  /** One line per unexpected outcome (crash, untyped error, non-canonical decode, forgery, hang, memory). */
  failures: string[];
  heapGrowth: number;
  peakArrayBuffers: number;
  slowestCaseMs: number;
  seconds: number;
}

export interface MlsFuzzOptions {
  log?: (line: string) => void;
  /** Only these targets (names as in the report). */
  only?: string[];
}

// ---------------------------------------------------------------------------------------------
// PRNG and mutations

/** Length-field bombs and reserved patterns written over a random position (§2.1.2 varints, u32 counts). */
const BOMBS: Uint8Array[] = [
  Uint8Array.of(0xbf, 0xff, 0xff, 0xff), // varint 2^30 - 1
  Uint8Array.of(0x80, 0x10, 0x00, 0x00), // varint 1 MiB
  Uint8Array.of(0x7f, 0xff), // varint 16383
  Uint8Array.of(0xc0), // reserved varint prefix
  Uint8Array.of(0x40, 0x01), // non-minimal varint 1
  Uint8Array.of(0x80, 0x00, 0x00, 0x05), // non-minimal varint 5
  Uint8Array.of(0xff, 0xff, 0xff, 0xff), // u32 max (leaf index, counts)
  Uint8Array.of(0x00, 0x00), // zero length / blank
  Uint8Array.of(0x01), // optional present / small enum
  Uint8Array.of(0x02), // optional invalid
];

function mutate(rand: () => number, src: Uint8Array, pool: readonly Uint8Array[]): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  const out = src.slice();
  switch (int(13)) {
    case 0:
      return mutateBytes('flip', rand, out, 0, 0);
    case 1:
      return mutateBytes('byte', rand, out, 0, 0);
    case 2:
      return mutateBytes('truncate', rand, out, 0, 0);
    case 3:
      return mutateBytes('append', rand, out, 0, 0);
    case 4: // delete a run
      if (out.length === 0) return out;
      {
        const i = int(out.length);
        const n = 1 + int(Math.min(16, out.length - i));
        return Uint8Array.from([...out.subarray(0, i), ...out.subarray(i + n)]);
      }
    case 5:
      return mutateBytes('insert', rand, out, 0, 0);
    case 6:
      return mutateBytes('flips', rand, out, 6, 0);
    case 7: // overwrite with a length bomb / reserved pattern
    case 8: {
      const b = BOMBS[int(BOMBS.length)]!;
      if (out.length < b.length) return b.slice();
      out.set(b, int(out.length - b.length + 1));
      return out;
    }
    case 9: // splice: prefix of this seed + suffix of another
    {
      const other = pool[int(pool.length)] ?? src;
      return Uint8Array.from([...out.subarray(0, int(out.length + 1)), ...other.subarray(int(other.length + 1))]);
    }
    case 10: // duplicate a chunk
    {
      if (out.length === 0) return out;
      const i = int(out.length);
      const n = 1 + int(Math.min(32, out.length - i));
      const at = int(out.length + 1);
      return Uint8Array.from([...out.subarray(0, at), ...out.subarray(i, i + n), ...out.subarray(at)]);
    }
    case 11: // zero a run
    {
      if (out.length === 0) return out;
      const i = int(out.length);
      out.fill(0, i, i + 1 + int(8));
      return out;
    }
    default:
      return mutateBytes('random', rand, out, 0, 64);
  }
}

/**
 * Structure-aware mutation of a serialized GroupState (shared/mls/stateCodec.ts format: version byte,
 * then tagged values: 2/3 false/true, 4 float64, 5 bigint as hex text<V>, 6 string<V>, 7 bytes<V>,
 * 8 array (u32 count), 9 object (u32 count, key<V> value pairs)). Picks one bigint, object or number
 * and rewrites it into a non-canonical encoding of the same value: upper-case or zero-padded hex,
 * "-0", two object entries swapped, an entry repeated, a NaN with another payload. Undefined when
 * the input does not parse or has no such site.
 */
function stateFormMutation(rand: () => number, src: Uint8Array): Uint8Array | undefined {
  type Site = { kind: 'big'; at: number; end: number; text: string } | { kind: 'obj'; countAt: number; entries: [number, number][] } | { kind: 'num'; at: number };
  const sites: Site[] = [];
  try {
    const r = new Reader(src);
    r.u8('version');
    const value = (depth: number): void => {
      if (depth > 64) throw new RangeError('deep');
      const start = r.position;
      const tag = r.u8();
      if (tag === 4) {
        sites.push({ kind: 'num', at: r.position });
        r.fixed(8);
      } else if (tag === 5) {
        const text = new TextDecoder().decode(r.varBytes());
        sites.push({ kind: 'big', at: start, end: r.position, text });
      } else if (tag === 6 || tag === 7) r.varBytes();
      else if (tag === 8) {
        const n = r.u32();
        for (let i = 0; i < n; i++) value(depth + 1);
      } else if (tag === 9) {
        const countAt = r.position;
        const n = r.u32();
        const entries: [number, number][] = [];
        for (let i = 0; i < n; i++) {
          const e = r.position;
          r.varBytes();
          value(depth + 1);
          entries.push([e, r.position]);
        }
        sites.push({ kind: 'obj', countAt, entries });
      } else if (tag > 3) throw new RangeError('tag');
    };
    value(0);
    r.end();
  } catch {
    return undefined;
  }
  const int = (n: number) => Math.floor(rand() * n);
  const usable = sites.filter((x) => x.kind !== 'obj' || x.entries.length > 0);
  const site = usable[int(usable.length)];
  if (!site) return undefined;
  const join = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
  if (site.kind === 'big') {
    const { text } = site;
    const neg = text.startsWith('-');
    const digits = neg ? text.slice(1) : text;
    const variants = [(neg ? '-' : '') + '0' + digits, text === '0' ? '-0' : (neg ? '-' : '') + '00' + digits];
    if (/[a-f]/.test(digits)) variants.push(text.toUpperCase());
    const t = variants[int(variants.length)]!;
    return join(src.subarray(0, site.at), encode((w) => w.u8(5).varBytes(utf8(t))), src.subarray(site.end));
  }
  if (site.kind === 'num') {
    const out = src.slice();
    out.set(Uint8Array.of(0x7f, 0xf8, 0, 0, 0, 0, 0, 1 + int(255)), site.at); // NaN, non-canonical payload
    return out;
  }
  const { countAt, entries } = site;
  const i = int(entries.length);
  const [a, b] = entries[i]!;
  if (entries.length >= 2 && rand() < 0.5) {
    // Swap entry i with its neighbour.
    const j = i + 1 < entries.length ? i + 1 : i - 1;
    const [lo, hi] = i < j ? [entries[i]!, entries[j]!] : [entries[j]!, entries[i]!];
    return join(src.subarray(0, lo[0]), src.subarray(hi[0], hi[1]), src.subarray(lo[0], lo[1]), src.subarray(hi[1]));
  }
  // Repeat entry i right after itself and bump the count.
  const out = join(src.subarray(0, b), src.subarray(a, b), src.subarray(b));
  new DataView(out.buffer).setUint32(countAt, new DataView(src.buffer, src.byteOffset).getUint32(countAt) + 1);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Seeds from the vectors

const here = dirname(fileURLToPath(import.meta.url));

export function mlsVectorsDir(): string {
  return process.env.MLS_VECTORS_DIR ?? resolve(here, '..', '..', '..', 'shared', 'mls-test-vectors');
}

type Seeds = Map<string, Uint8Array[]>;

function addSeed(seeds: Seeds, target: string, b: Uint8Array | undefined | null): void {
  if (!b) return;
  let l = seeds.get(target);
  if (!l) seeds.set(target, (l = []));
  l.push(b);
}

function hex(v: unknown): Uint8Array | undefined {
  return typeof v === 'string' && v.length > 0 ? fromHex(v) : undefined;
}

function loadJson(file: string): any[] {
  const p = join(mlsVectorsDir(), file);
  if (!existsSync(p)) throw new Error(`MLS vector file missing: ${p} (set MLS_VECTORS_DIR)`);
  return JSON.parse(readFileSync(p, 'utf8')) as any[];
}

const PROPOSAL_FIELDS: [string, number][] = [
  ['add_proposal', 1],
  ['update_proposal', 2],
  ['remove_proposal', 3],
  ['pre_shared_key_proposal', 4],
  ['re_init_proposal', 5],
  ['external_init_proposal', 6],
  ['group_context_extensions_proposal', 7],
];

/** Seeds every decoder target from the vector files and from structures decoded out of them. */
function vectorSeeds(): Seeds {
  const s: Seeds = new Map();
  const mlsMessages: Uint8Array[] = [];
  for (const c of loadJson('messages.json')) {
    for (const f of ['mls_welcome', 'mls_group_info', 'mls_key_package', 'public_message_application', 'public_message_proposal', 'public_message_commit', 'private_message']) {
      const b = hex(c[f]);
      if (b) mlsMessages.push(b);
    }
    addSeed(s, 'ratchet-tree', hex(c.ratchet_tree));
    addSeed(s, 'group-secrets', hex(c.group_secrets));
    addSeed(s, 'commit', hex(c.commit));
    for (const [f, t] of PROPOSAL_FIELDS) {
      const b = hex(c[f]);
      if (b) addSeed(s, 'proposal', Uint8Array.from([t >> 8, t & 0xff, ...b]));
      if (b && t === 4) addSeed(s, 'psk-id', b);
    }
  }
  for (const c of loadJson('welcome.json')) {
    mlsMessages.push(fromHex(c.welcome), fromHex(c.key_package));
  }
  for (const file of ['passive-client-welcome.json', 'passive-client-handling-commit.json']) {
    for (const c of loadJson(file)) {
      mlsMessages.push(fromHex(c.key_package), fromHex(c.welcome));
      addSeed(s, 'ratchet-tree', hex(c.ratchet_tree));
      for (const e of c.epochs ?? []) {
        for (const p of e.proposals ?? []) mlsMessages.push(fromHex(p));
        if (e.commit) mlsMessages.push(fromHex(e.commit));
      }
    }
  }
  for (const c of loadJson('treekem.json')) {
    addSeed(s, 'ratchet-tree', hex(c.ratchet_tree));
    for (const u of c.update_paths ?? []) addSeed(s, 'update-path', hex(u.update_path));
  }
  for (const c of loadJson('tree-validation.json')) addSeed(s, 'ratchet-tree', hex(c.tree));
  for (const c of loadJson('tree-operations.json')) {
    addSeed(s, 'ratchet-tree', hex(c.tree_before));
    addSeed(s, 'ratchet-tree', hex(c.tree_after));
    addSeed(s, 'proposal', hex(c.proposal));
  }
  for (const c of loadJson('message-protection.json')) {
    addSeed(s, 'proposal', hex(c.proposal));
    addSeed(s, 'commit', hex(c.commit));
    for (const f of ['proposal_pub', 'proposal_priv', 'commit_pub', 'commit_priv', 'application_priv']) {
      const b = hex(c[f]);
      if (b) mlsMessages.push(b);
    }
  }
  for (const m of mlsMessages) addMessageSeeds(s, m);
  return s;
}

/** An MLSMessage and every structure inside it that has its own decoder. */
function addMessageSeeds(s: Seeds, bytes: Uint8Array): void {
  addSeed(s, 'mls-message', bytes);
  let m: MLSMessage;
  try {
    m = decodeMLSMessage(bytes);
  } catch {
    return;
  }
  const body = bytes.subarray(4); // version (u16) + wire_format (u16)
  switch (m.wireFormat) {
    case WireFormat.mls_welcome:
      addSeed(s, 'welcome', body);
      break;
    case WireFormat.mls_group_info:
      addSeed(s, 'group-info', body);
      addSeed(s, 'group-context', encodeGroupContext(m.groupInfo.groupContext));
      addSeed(s, 'extensions', encode((w) => writeExtensions(w, m.groupInfo.groupContext.extensions)));
      break;
    case WireFormat.mls_key_package: {
      addSeed(s, 'key-package', body);
      const ln = m.keyPackage.leafNode;
      addSeed(s, 'leaf-node', encode((w) => writeLeafNode(w, ln)));
      addSeed(s, 'credential', encode((w) => writeCredential(w, ln.credential)));
      addSeed(s, 'capabilities', encode((w) => writeCapabilities(w, ln.capabilities)));
      break;
    }
    case WireFormat.mls_public_message: {
      addSeed(s, 'public-message', body);
      const pm = m.publicMessage;
      addSeed(s, 'framed-content', encode((w) => writeFramedContent(w, pm.content)));
      addSeed(s, 'authenticated-content', encodeAuthenticatedContent({ wireFormat: WireFormat.mls_public_message, content: pm.content, auth: pm.auth }));
      addSeed(s, 'sender', encode((w) => writeSender(w, pm.content.sender)));
      addPrivateContentSeed(s, pm.content, pm.auth);
      break;
    }
    case WireFormat.mls_private_message:
      addSeed(s, 'private-message', body);
      break;
  }
}

function addPrivateContentSeed(s: Seeds, content: FramedContent, auth: { signature: Uint8Array; confirmationTag?: Uint8Array }): void {
  const c = { ...content, auth } as Parameters<typeof encodePrivateMessageContent>[0];
  const ct = content.contentType;
  const b = encodePrivateMessageContent(c, (s.get('private-content')?.length ?? 0) % 4 === 0 ? 0 : 7);
  addSeed(s, 'private-content', Uint8Array.from([ct, ...b])); // first byte: the content type to decode with
}

function syntheticSeeds(s: Seeds): void {
  const cred = { credentialType: CredentialType.basic, identity: utf8('server') };
  const key = (n: number, v: number) => new Uint8Array(n).fill(v);
  addSeed(s, 'external-senders', encodeExternalSenders([{ signatureKey: key(32, 1), credential: cred }]));
  addSeed(s, 'external-senders', encodeExternalSenders([{ signatureKey: key(32, 1), credential: cred }, { signatureKey: key(65, 4), credential: { credentialType: CredentialType.basic, identity: utf8('sfu-2') } }]));
  addSeed(s, 'external-senders', encodeExternalSenders([]));
  addSeed(s, 'external-pub', encodeExternalPub(key(32, 9)));
  addSeed(s, 'external-pub', encodeExternalPub(key(97, 4)));
  addSeed(s, 'required-capabilities', encodeRequiredCapabilities({ extensionTypes: [5], proposalTypes: [], credentialTypes: [1] }));
  addSeed(s, 'required-capabilities', encodeRequiredCapabilities({ extensionTypes: [], proposalTypes: [8, 9], credentialTypes: [1, 2] }));
  addSeed(s, 'sender-data', encodeSenderData({ leafIndex: 3, generation: 17, reuseGuard: Uint8Array.of(1, 2, 3, 4) }));
  addSeed(s, 'sender-data', encodeSenderData({ leafIndex: 0xffffffff, generation: 0, reuseGuard: key(4, 0) }));
}

// ---------------------------------------------------------------------------------------------
// Targets

type Outcome = { kind: 'ok' } | { kind: 'rejected'; code: string } | { kind: 'failure'; message: string };

interface Target {
  name: string;
  seeds: Uint8Array[];
  /** Full cases per casesPerDecoder (expensive processing targets run fewer). */
  weight: number;
  run(input: Uint8Array, seedBytes: Uint8Array): Promise<Outcome> | Outcome;
  /** Target-specific mutation (default: `mutate`). */
  mutate?: (rand: () => number, src: Uint8Array, pool: readonly Uint8Array[]) => Uint8Array;
}

function errorCode(e: unknown, allowed: 'codec' | 'mls' | 'both'): Outcome {
  if (e instanceof CodecError && allowed !== 'mls') return { kind: 'rejected', code: e.code };
  if (e instanceof mls.MlsError && allowed !== 'codec') return { kind: 'rejected', code: e.code };
  const err = e as Error;
  return { kind: 'failure', message: `threw ${err?.name ?? typeof e}: ${err?.message ?? String(e)}`.slice(0, 300) };
}

/** A wire decoder: CodecError, or canonical (re-encodes to the same bytes). */
/** Describes where a decoded value's re-encoding departs from the input. */
function nonCanonical(input: Uint8Array, again: Uint8Array): string {
  let i = 0;
  while (i < input.length && i < again.length && input[i] === again[i]) i++;
  const from = Math.max(0, i - 8);
  return `non-canonical input accepted (${input.length} bytes, re-encodes to ${again.length}; first difference at byte ${i}: input ...${toHex(input.subarray(from, i + 16))} re-encoded ...${toHex(again.subarray(from, i + 16))})`;
}

function codecTarget<T>(name: string, seeds: Seeds, read: (r: Reader) => T, write: (w: Writer, v: T) => void): Target {
  return {
    name,
    seeds: seeds.get(name) ?? [],
    weight: 1,
    run(input) {
      let v: T;
      try {
        v = decode(input, read, name);
      } catch (e) {
        return errorCode(e, 'codec');
      }
      let again: Uint8Array;
      try {
        again = encode((w) => write(w, v));
      } catch (e) {
        return { kind: 'failure', message: `decoded value does not re-encode: ${(e as Error).name}: ${(e as Error).message}` };
      }
      return equal(again, input) ? { kind: 'ok' } : { kind: 'failure', message: nonCanonical(input, again) };
    },
  };
}

function bytesTarget<T>(name: string, seeds: Seeds, dec: (b: Uint8Array) => T, enc: (v: T) => Uint8Array, allowed: 'codec' | 'mls' = 'codec'): Target {
  return {
    name,
    seeds: seeds.get(name) ?? [],
    weight: 1,
    run(input) {
      let v: T;
      try {
        v = dec(input);
      } catch (e) {
        return errorCode(e, allowed);
      }
      let again: Uint8Array;
      try {
        again = enc(v);
      } catch (e) {
        return { kind: 'failure', message: `decoded value does not re-encode: ${(e as Error).name}: ${(e as Error).message}` };
      }
      return equal(again, input) ? { kind: 'ok' } : { kind: 'failure', message: nonCanonical(input, again) };
    },
  };
}

function decoderTargets(seeds: Seeds): Target[] {
  return [
    bytesTarget('mls-message', seeds, decodeMLSMessage, encodeMLSMessage),
    codecTarget('welcome', seeds, readWelcome, writeWelcome),
    codecTarget('group-info', seeds, readGroupInfo, writeGroupInfo),
    codecTarget('key-package', seeds, readKeyPackage, writeKeyPackage),
    codecTarget('public-message', seeds, readPublicMessage, writePublicMessage),
    codecTarget('private-message', seeds, readPrivateMessage, writePrivateMessage),
    codecTarget('ratchet-tree', seeds, readRatchetTree, writeRatchetTree),
    codecTarget('group-secrets', seeds, readGroupSecrets, writeGroupSecrets),
    codecTarget('proposal', seeds, readProposal, writeProposal),
    codecTarget('commit', seeds, readCommit, writeCommit),
    codecTarget('update-path', seeds, readUpdatePath, writeUpdatePath),
    codecTarget('leaf-node', seeds, readLeafNode, writeLeafNode),
    codecTarget('credential', seeds, readCredential, writeCredential),
    codecTarget('capabilities', seeds, readCapabilities, writeCapabilities),
    codecTarget('extensions', seeds, readExtensions, writeExtensions),
    codecTarget('group-context', seeds, readGroupContext, writeGroupContext),
    codecTarget('framed-content', seeds, readFramedContent, writeFramedContent),
    codecTarget('authenticated-content', seeds, readAuthenticatedContent, writeAuthenticatedContent),
    codecTarget('sender', seeds, readSender, writeSender),
    codecTarget('psk-id', seeds, readPreSharedKeyID, writePreSharedKeyID),
    codecTarget('sender-data', seeds, readSenderData, (w, v) => w.fixed(encodeSenderData(v))),
    bytesTarget('external-senders', seeds, decodeExternalSenders, encodeExternalSenders),
    bytesTarget('external-pub', seeds, decodeExternalPub, encodeExternalPub),
    bytesTarget('required-capabilities', seeds, decodeRequiredCapabilities, encodeRequiredCapabilities),
    {
      // PrivateMessageContent (§6.3.1): first input byte = content type to decode with; padding must be zeros.
      name: 'private-content',
      seeds: seeds.get('private-content') ?? [],
      weight: 1,
      run(input) {
        if (input.length === 0) return { kind: 'rejected', code: 'empty' };
        const ct = input[0]!;
        const body = input.subarray(1);
        let v: ReturnType<typeof decodePrivateMessageContent>;
        try {
          v = decodePrivateMessageContent(body, ct);
        } catch (e) {
          return errorCode(e, 'codec');
        }
        try {
          const bare = encodePrivateMessageContent(v, 0);
          const again = encodePrivateMessageContent(v, body.length - bare.length);
          return equal(again, body) ? { kind: 'ok' } : { kind: 'failure', message: `non-canonical PrivateMessageContent accepted: ${toHex(body).slice(0, 160)}` };
        } catch (e) {
          return { kind: 'failure', message: `decoded PrivateMessageContent does not re-encode: ${(e as Error).message}` };
        }
      },
    },
    {
      ...bytesTarget('state', seeds, (b) => mls.deserializeState(b), (v) => mls.serializeState(v), 'mls'),
      // A third of the cases rewrite one value of the state into a form that decodes to the same
      // value but is not the encoding serializeState writes (must be rejected, not accepted).
      mutate: (rand, src, pool) => (rand() < 0.33 ? stateFormMutation(rand, src) : undefined) ?? mutate(rand, src, pool),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Live group (node crypto backend, suite 1)

interface LiveGroup {
  alice: mls.GroupState;
  /** Genuine messages alice can process in her current epoch. */
  messages: Uint8Array[];
  welcome: Uint8Array;
  welcomeSecrets: Awaited<ReturnType<typeof mls.createKeyPackage>>['private'];
  groupInfo: Uint8Array;
  keyPackages: Uint8Array[];
  states: Uint8Array[];
  signatureKeyPair: mls.SignatureKeyPair;
}

async function liveGroup(): Promise<LiveGroup> {
  const crypto = nodeCryptoProvider;
  const o = { crypto };
  const server = await getCipherSuite(1, crypto).signature.generateKeyPair();
  const groupId = utf8('fuzz-group');
  let alice = await mls.createGroup({ groupId, identity: utf8('alice'), crypto, externalSenders: [{ signatureKey: server.publicKey, identity: utf8('sfu') }] });
  const bobKp = await mls.createKeyPackage({ identity: utf8('bob'), crypto });
  const carolKp = await mls.createKeyPackage({ identity: utf8('carol'), crypto });
  const c1 = await mls.createCommit(alice, { add: [bobKp.keyPackage, carolKp.keyPackage], crypto });
  alice = c1.pendingState;
  let bob = await mls.joinWelcome({ welcome: c1.welcome!, keyPackagePrivate: bobKp.private, crypto });
  // One more epoch so the tree has a path from bob too.
  const c2 = await mls.createCommit(bob, o);
  bob = c2.pendingState;
  alice = (await mls.processMessage(alice, c2.commit, o)).newState;

  const messages: Uint8Array[] = [];
  const daveKp = await mls.createKeyPackage({ identity: utf8('dave'), crypto });
  const add = await mls.createCommit(bob, { add: [daveKp.keyPackage], crypto });
  messages.push(add.commit);
  messages.push((await mls.createCommit(bob, o)).commit);
  messages.push((await mls.createCommit(bob, { remove: [2], crypto })).commit);
  const prop = await mls.proposeRemove(bob, 2, o);
  messages.push(prop.message);
  const app = await mls.createApplicationMessage(bob, utf8('hello alice, this is application data'), o);
  messages.push(app.message);
  messages.push(await mls.createExternalRemoveProposal({ groupId, epoch: mls.epoch(alice), removedLeaf: 2, senderIndex: 0, signaturePrivateKey: server.privateKey, crypto }));
  const gi = await mls.groupInfo(alice, o);
  messages.push((await mls.joinExternal({ groupInfo: gi, identity: utf8('erin'), crypto })).commit);
  // Genuine messages all process.
  for (const m of messages) await mls.processMessage(alice, m, o);
  const eveKp = await mls.createKeyPackage({ identity: utf8('eve'), crypto });
  return {
    alice,
    messages,
    welcome: add.welcome!,
    welcomeSecrets: daveKp.private,
    groupInfo: gi,
    keyPackages: [eveKp.keyPackage, (await mls.createKeyPackage({ identity: utf8('frank'), crypto })).keyPackage],
    states: [mls.serializeState(alice), mls.serializeState(bob)],
    signatureKeyPair: await mls.generateSignatureKeyPair(1, o),
  };
}

/** Accepted only if byte-identical to a genuine input; otherwise the error must be typed. */
async function processing(genuine: readonly Uint8Array[], input: Uint8Array, f: () => Promise<unknown>): Promise<Outcome> {
  try {
    await f();
  } catch (e) {
    return errorCode(e, 'both');
  }
  return genuine.some((g) => equal(g, input)) ? { kind: 'ok' } : { kind: 'failure', message: `modified input accepted (forgery): ${toHex(input).slice(0, 200)}` };
}

function processingTargets(g: LiveGroup): Target[] {
  const o = { crypto: nodeCryptoProvider };
  return [
    {
      name: 'process-message',
      seeds: g.messages,
      weight: 1,
      run: (input) => processing(g.messages, input, () => mls.processMessage(g.alice, input, o)),
    },
    {
      name: 'join-welcome',
      seeds: [g.welcome],
      weight: 0.25,
      run: (input) => processing([g.welcome], input, () => mls.joinWelcome({ welcome: input, keyPackagePrivate: g.welcomeSecrets, ...o })),
    },
    {
      name: 'join-external',
      seeds: [g.groupInfo],
      weight: 0.1,
      // Alternates between a fresh signature key (generated for the GroupInfo's suite) and a given one.
      run: (input) => processing([g.groupInfo], input, () => mls.joinExternal({ groupInfo: input, identity: utf8('mallory'), ...(input.length % 2 === 0 ? { signatureKeyPair: g.signatureKeyPair } : {}), ...o })),
    },
    {
      name: 'commit-add',
      seeds: g.keyPackages,
      weight: 0.1,
      run: (input) => processing(g.keyPackages, input, () => mls.createCommit(g.alice, { add: [input], ...o })),
    },
  ];
}

// ---------------------------------------------------------------------------------------------


/**
 * Runs `casesPerDecoder` cases against every decoder target (and a weighted share against the
 * group-processing targets: process-message 1x, join-welcome 0.25x, join-external and commit-add
 * 0.1x, at least 1 case each). Returns counts; failures are listed in the report, not thrown.
 */
export async function fuzzMls(casesPerDecoder: number, seed: number, opts: MlsFuzzOptions = {}): Promise<MlsFuzzReport> {
  if (!Number.isInteger(casesPerDecoder) || casesPerDecoder < 0) throw new RangeError(`casesPerDecoder must be a non-negative integer, got ${casesPerDecoder}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const log = opts.log ?? ((l: string) => console.log(l));
  const started = performance.now();
  const heapBefore = heapUsed();
  const seeds = vectorSeeds();
  syntheticSeeds(seeds);
  const g = await liveGroup();
  for (const m of g.messages) addMessageSeeds(seeds, m);
  addMessageSeeds(seeds, g.welcome);
  addMessageSeeds(seeds, g.groupInfo);
  for (const k of g.keyPackages) addMessageSeeds(seeds, k);
  for (const st of g.states) addSeed(seeds, 'state', st);
  {
    const gi = decodeMLSMessage(g.groupInfo);
    if (gi.wireFormat === WireFormat.mls_group_info) {
      const ext = gi.groupInfo.groupContext.extensions.find((e) => e.extensionType === 5);
      if (ext) addSeed(seeds, 'external-senders', ext.extensionData);
      for (const e of gi.groupInfo.extensions) if (e.extensionType === 4) addSeed(seeds, 'external-pub', e.extensionData);
      for (const e of gi.groupInfo.extensions) if (e.extensionType === 2) addSeed(seeds, 'ratchet-tree', e.extensionData);
    }
  }
  // An application message's content as PrivateMessageContent.
  addPrivateContentSeed(seeds, { groupId: utf8('g'), epoch: 3n, sender: { senderType: 1, leafIndex: 1 }, authenticatedData: new Uint8Array(0), contentType: ContentType.application, applicationData: utf8('data') } as FramedContent, { signature: new Uint8Array(64).fill(7) });

  let targets = [...decoderTargets(seeds), ...processingTargets(g)];
  if (opts.only) targets = targets.filter((t) => opts.only!.includes(t.name));
  const report: MlsFuzzReport = {
    seed,
    casesPerDecoder,
    cases: 0,
    targets: {},
    outcomes: {},
    failures: [],
    heapGrowth: 0,
    peakArrayBuffers: 0,
    slowestCaseMs: 0,
    seconds: 0,
  };
  const fail = (msg: string) => {
    if (report.failures.length < 100) report.failures.push(msg);
  };
  const seedCount = [...seeds.values()].reduce((a, l) => a + l.length, 0);
  log(`mls fuzz: seed ${seed}, ${casesPerDecoder} cases per decoder, ${targets.length} targets, ${seedCount} seeds from ${mlsVectorsDir()} + a live group`);
  let memoryFlagged = false;
  for (const [ti, t] of targets.entries()) {
    if (t.seeds.length === 0) {
      fail(`${t.name}: no seeds (vector files incomplete?)`);
      continue;
    }
    // Per-target PRNG stream so one target's count does not shift the others' inputs.
    const rand = prng((seed ^ Math.imul(ti + 1, 0x9e3779b1)) >>> 0);
    const n = casesPerDecoder === 0 ? 0 : Math.max(1, Math.round(casesPerDecoder * t.weight));
    const counts: TargetCounts = { cases: 0, ok: 0, rejected: 0, failures: 0, seconds: 0 };
    const t0 = performance.now();
    let lastLog = t0;
    for (let i = 0; i < n; i++) {
      const s = t.seeds[Math.floor(rand() * t.seeds.length)]!;
      const input = rand() < 0.92 ? (t.mutate ?? mutate)(rand, s, t.seeds) : s.slice();
      const c0 = performance.now();
      let out: Outcome;
      try {
        out = await t.run(input, s);
      } catch (e) {
        out = { kind: 'failure', message: `harness: ${(e as Error).message}` };
      }
      const ms = performance.now() - c0;
      if (ms > report.slowestCaseMs) report.slowestCaseMs = ms;
      if (ms > HANG_MS) fail(`${t.name} case ${i} (seed ${seed}): took ${ms.toFixed(0)} ms (hang?) input ${toHex(input).slice(0, 120)}`);
      counts.cases++;
      const key = out.kind === 'ok' ? `${t.name}:ok` : out.kind === 'rejected' ? `${t.name}:${out.code}` : `${t.name}:FAILURE`;
      report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
      if (out.kind === 'ok') counts.ok++;
      else if (out.kind === 'rejected') counts.rejected++;
      else {
        counts.failures++;
        fail(`${t.name} case ${i} (seed ${seed}): ${out.message}`);
      }
      if ((i & 255) === 255) {
        const mem = process.memoryUsage();
        report.peakArrayBuffers = Math.max(report.peakArrayBuffers, mem.arrayBuffers);
        if (!memoryFlagged && (mem.arrayBuffers > MEMORY_LIMIT || mem.heapUsed > MEMORY_LIMIT)) {
          memoryFlagged = true;
          fail(`${t.name} near case ${i}: memory ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB heap, ${(mem.arrayBuffers / 2 ** 20).toFixed(0)} MiB array buffers`);
        }
        const now = performance.now();
        if (now - lastLog > 5000) {
          log(`  ${t.name}: ${i + 1}/${n} cases, ${(((i + 1) * 1000) / (now - t0)).toFixed(0)} cases/s`);
          lastLog = now;
        }
      }
    }
    counts.seconds = (performance.now() - t0) / 1000;
    report.targets[t.name] = counts;
    report.cases += counts.cases;
    log(
      `  ${t.name.padEnd(22)} ${String(counts.cases).padStart(7)} cases ${(counts.cases / Math.max(counts.seconds, 1e-6)).toFixed(0).padStart(7)} cases/s  ok ${counts.ok}  rejected ${counts.rejected}  failures ${counts.failures}`,
    );
  }
  report.heapGrowth = heapUsed() - heapBefore;
  report.seconds = (performance.now() - started) / 1000;
  log(
    `mls fuzz: ${report.cases} cases in ${report.seconds.toFixed(1)} s, ${report.failures.length} failures, heap growth ${(report.heapGrowth / 2 ** 20).toFixed(1)} MiB, peak array buffers ${(report.peakArrayBuffers / 2 ** 20).toFixed(1)} MiB, slowest case ${report.slowestCaseMs.toFixed(1)} ms`,
  );
  return report;
}

// `npx tsx test/fuzz/mls.ts [casesPerDecoder] [seed] [target,...]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const cases = Number(process.argv[2] ?? 100000);
  const seed = Number(process.argv[3] ?? 1);
  const only = process.argv[4]?.split(',');
  const r = await fuzzMls(cases, seed, only ? { only } : {});
  for (const f of r.failures) console.log(`  FAIL ${f}`);
  process.exitCode = r.failures.length === 0 ? 0 : 1;
}
