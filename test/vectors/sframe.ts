// RFC 9605 Appendix C test vectors (header, AES-CTR+HMAC AEAD, full SFrame) on every SFrame backend.
// The file is read from ../shared/sframe-test-vectors/ relative to the repo root, or SFRAME_VECTORS_FILE.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { concat, equal, fromHex, toHex } from '../../shared/bytes/index.js';
import {
  decodeHeader,
  deriveKeySalt,
  deriveSubkeys,
  encodeHeader,
  formNonce,
  getSuite,
  isSFrameError,
  nobleBackend,
  SFrameContext,
  sframeKeyLabel,
  sframeSaltLabel,
  type SFrameBackend,
  type SFrameSuiteId,
} from '../../shared/sframe/index.js';
import { webCryptoBackend } from '../../shared/sframe/webcrypto.js';
import { nodeSFrameBackend } from '../../server/crypto-node/sframe-node.js';
import type { VectorFileResult } from './types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const SFRAME_BACKENDS: SFrameBackend[] = [nobleBackend, webCryptoBackend, nodeSFrameBackend];

interface HeaderCase { kid: bigint; ctr: bigint; encoded: string }
interface AesCtrHmacCase { cipher_suite: number; key: string; enc_key: string; auth_key: string; nonce: string; aad: string; pt: string; ct: string }
interface SFrameCase {
  cipher_suite: number; kid: bigint; ctr: bigint; base_key: string; sframe_key_label: string; sframe_salt_label: string;
  sframe_secret: string; sframe_key: string; sframe_salt: string; metadata: string; nonce: string; aad: string; pt: string; ct: string;
}
export interface SFrameVectors { header: HeaderCase[]; aes_ctr_hmac: AesCtrHmacCase[]; sframe: SFrameCase[] }

export function vectorsPath(): string {
  return process.env.SFRAME_VECTORS_FILE ?? path.resolve(ROOT, '../shared/sframe-test-vectors/rfc9605-test-vectors.json');
}

/**
 * Parses the vector file keeping 64-bit kid/ctr exact: JSON.parse rounds numbers above 2^53, so those fields
 * are quoted in the raw text first and turned into bigint.
 */
export function loadSFrameVectors(file = vectorsPath()): SFrameVectors {
  const raw = readFileSync(file, 'utf8');
  const quoted = raw.replace(/"(kid|ctr)"\s*:\s*(\d+)/g, '"$1": "$2"');
  const data = JSON.parse(quoted) as Record<string, Record<string, unknown>[]>;
  const big = (c: Record<string, unknown>) => ({ ...c, kid: BigInt(c.kid as string), ctr: BigInt(c.ctr as string) });
  return {
    header: (data.header ?? []).map(big) as unknown as HeaderCase[],
    aes_ctr_hmac: (data.aes_ctr_hmac ?? []) as unknown as AesCtrHmacCase[],
    sframe: (data.sframe ?? []).map(big) as unknown as SFrameCase[],
  };
}

type Check = (name: string, ok: boolean) => void;

function result(file: string): VectorFileResult & { check: (label: string, run: (check: Check) => Promise<void> | void) => Promise<void> } {
  const r = {
    file,
    passed: 0,
    failed: 0,
    failures: [] as string[],
    async check(label: string, run: (check: Check) => Promise<void> | void) {
      const bad: string[] = [];
      try {
        await run((name, ok) => {
          if (!ok) bad.push(name);
        });
      } catch (e) {
        bad.push(`threw ${(e as Error).name}: ${(e as Error).message}`);
      }
      if (bad.length === 0) r.passed++;
      else {
        r.failed++;
        r.failures.push(`${label}: ${bad.join(', ')}`);
      }
    },
  };
  return r;
}

function strip<T extends VectorFileResult>(r: T): VectorFileResult {
  return { file: r.file, passed: r.passed, failed: r.failed, failures: r.failures };
}

async function headerSection(v: SFrameVectors): Promise<VectorFileResult> {
  const r = result('rfc9605 header');
  for (const [i, c] of v.header.entries()) {
    await r.check(`header #${i} kid=${c.kid} ctr=${c.ctr}`, (check) => {
      check('encode', toHex(encodeHeader(c.kid, c.ctr)) === c.encoded);
      const bytes = fromHex(c.encoded);
      const h = decodeHeader(bytes);
      check('decode kid', h.kid === c.kid);
      check('decode ctr', h.ctr === c.ctr);
      check('decode length', h.length === bytes.length);
      // Decoding with trailing ciphertext bytes reads the same header.
      check('decode with payload', decodeHeader(concat(bytes, new Uint8Array([0xff, 0]))).length === bytes.length);
      // Every strict prefix is a truncated header.
      for (let n = 0; n < bytes.length; n++) {
        try {
          decodeHeader(bytes.subarray(0, n));
          check(`truncated to ${n} rejected`, false);
        } catch (e) {
          check(`truncated to ${n} typed error`, isSFrameError(e, 'malformed-header'));
        }
      }
    });
  }
  return strip(r);
}

async function aesCtrHmacSection(v: SFrameVectors, backend: SFrameBackend): Promise<VectorFileResult> {
  const r = result(`rfc9605 aes_ctr_hmac [${backend.name}]`);
  for (const [i, c] of v.aes_ctr_hmac.entries()) {
    await r.check(`aes_ctr_hmac #${i} suite ${c.cipher_suite}`, async (check) => {
      const suite = getSuite(c.cipher_suite);
      const key = fromHex(c.key);
      const { encKey, authKey } = deriveSubkeys(suite, key);
      check('enc_key', toHex(encKey) === c.enc_key);
      check('auth_key', toHex(authKey) === c.auth_key);
      const aead = await backend.importAead(suite, key);
      const nonce = fromHex(c.nonce);
      const aad = fromHex(c.aad);
      const ct = fromHex(c.ct);
      check('encrypt', toHex(await aead.seal(nonce, aad, fromHex(c.pt), new Uint8Array(0))) === c.ct);
      const pt = await aead.open(nonce, aad, ct);
      check('decrypt', pt !== null && toHex(pt) === c.pt);
      const bad = ct.slice();
      bad[bad.length - 1]! ^= 1;
      check('tampered tag rejected', (await aead.open(nonce, aad, bad)) === null);
      const badAad = aad.slice();
      badAad[0]! ^= 1;
      check('tampered aad rejected', (await aead.open(nonce, badAad, ct)) === null);
      aead.destroy();
    });
  }
  return strip(r);
}

async function sframeSection(v: SFrameVectors, backend: SFrameBackend): Promise<VectorFileResult> {
  const r = result(`rfc9605 sframe [${backend.name}]`);
  for (const [i, c] of v.sframe.entries()) {
    await r.check(`sframe #${i} suite ${c.cipher_suite}`, async (check) => {
      const suite = getSuite(c.cipher_suite);
      const baseKey = fromHex(c.base_key);
      check('sframe_key_label', toHex(sframeKeyLabel(c.kid, suite)) === c.sframe_key_label);
      check('sframe_salt_label', toHex(sframeSaltLabel(c.kid, suite)) === c.sframe_salt_label);
      const m = await deriveKeySalt(backend, suite, c.kid, baseKey, true);
      check('sframe_secret', m.secret !== undefined && toHex(m.secret) === c.sframe_secret);
      check('sframe_key', toHex(m.key) === c.sframe_key);
      check('sframe_salt', toHex(m.salt) === c.sframe_salt);
      check('nonce', toHex(formNonce(m.salt, c.ctr)) === c.nonce);
      const metadata = fromHex(c.metadata);
      check('aad', toHex(concat(encodeHeader(c.kid, c.ctr), metadata)) === c.aad);

      const sender = new SFrameContext({ suite: suite.id as SFrameSuiteId, backend });
      await sender.addEncryptionKey(c.kid, baseKey, { firstCounter: c.ctr });
      const ct = await sender.protect(c.kid, fromHex(c.pt), metadata);
      check('encrypt', toHex(ct) === c.ct);
      check('counter advanced', sender.nextCounter(c.kid) === c.ctr + 1n);
      sender.close();

      const receiver = new SFrameContext({ suite: suite.id as SFrameSuiteId, backend });
      await receiver.addDecryptionKey(c.kid, baseKey);
      const expected = fromHex(c.ct);
      const pt = await receiver.unprotect(expected, metadata);
      check('decrypt', toHex(pt) === c.pt);
      try {
        await receiver.unprotect(expected, metadata);
        check('replay rejected', false);
      } catch (e) {
        check('replay rejected', isSFrameError(e, 'replay'));
      }
      const tampered = expected.slice();
      tampered[tampered.length - 1]! ^= 0x80;
      try {
        await receiver.unprotect(tampered, metadata);
        check('tampered rejected', false);
      } catch (e) {
        check('tampered rejected', isSFrameError(e, 'auth-failed'));
      }
      receiver.close();
      check('vector unchanged', equal(expected, fromHex(c.ct)));
    });
  }
  return strip(r);
}

export async function run(log: (line: string) => void): Promise<VectorFileResult[]> {
  const file = vectorsPath();
  log(`sframe vectors: ${path.relative(ROOT, file)}`);
  const v = loadSFrameVectors(file);
  const out: VectorFileResult[] = [await headerSection(v)];
  for (const backend of SFRAME_BACKENDS) {
    out.push(await aesCtrHmacSection(v, backend));
    out.push(await sframeSection(v, backend));
  }
  return out;
}
