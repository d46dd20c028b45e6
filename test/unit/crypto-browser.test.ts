// The WebCrypto backend in real browsers (Chromium and Firefox ESR, headless): all RFC 9180 HPKE
// entries and all RFC 9420 crypto-basics suites, plus generated key pairs and the large-input
// SubtleCrypto hash path. Browsers differ from Node's WebCrypto (e.g. Firefox cannot export the public
// point of an EC key imported without one), so Node alone does not prove the backend portable.
// Needs the browsers of scripts/setup-browsers.sh (CHROMIUM_PATH / FIREFOX_PATH override); fails without.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import puppeteer from 'puppeteer-core';
import { hpkeVectorsFile } from '../vectors/hpke.js';
import { mlsVectorsDir } from '../vectors/crypto-basics.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

// Runs inside the page (bundled by esbuild): window.runCryptoChecks(hpkeEntries, cryptoBasicsCases).
const PAGE_SOURCE = `
import { equal, fromHex as h } from '../../shared/bytes/index.js';
import {
  SUITE_IDS, getCipherSuite, decryptWithLabel, deriveSecret, deriveTreeSecret, encryptWithLabel, expandWithLabel,
  refHash, signWithLabel, verifyWithLabel,
} from '../../shared/crypto/index.js';
import { webcryptoFallbacks } from '../../shared/crypto/webcrypto.js';

async function hpkeEntry(e, s) {
  const kpR = await s.hpke.deriveKeyPair(h(e.ikmR));
  if (!equal(kpR.privateKey, h(e.skRm)) || !equal(kpR.publicKey, h(e.pkRm))) return 'DeriveKeyPair(ikmR)';
  if (!equal(await s.hpke.publicKeyFromPrivate(h(e.skRm)), h(e.pkRm))) return 'publicKeyFromPrivate';
  const so = { ephemeralIkm: h(e.ikmE) }, ro = {};
  if (e.mode === 1 || e.mode === 3) so.psk = ro.psk = { key: h(e.psk), id: h(e.psk_id) };
  if (e.mode === 2 || e.mode === 3) { so.senderPrivateKey = h(e.skSm); ro.senderPublicKey = h(e.pkSm); }
  const { enc, context } = await s.hpke.setupSender(h(e.pkRm), h(e.info), so);
  if (!equal(enc, h(e.enc))) return 'enc';
  const rc = await s.hpke.setupReceiver(h(e.skRm), enc, h(e.info), ro);
  for (const [i, x] of e.encryptions.entries()) {
    if (!equal(await context.seal(h(x.aad), h(x.pt)), h(x.ct))) return 'seal ' + i;
    if (!equal(await rc.open(h(x.aad), h(x.ct)), h(x.pt))) return 'open ' + i;
  }
  for (const [i, x] of e.exports.entries()) {
    if (!equal(await context.export(h(x.exporter_context), x.L), h(x.exported_value))) return 'export ' + i;
  }
  const g = await s.hpke.generateKeyPair();
  if (!equal(await s.hpke.publicKeyFromPrivate(g.privateKey), g.publicKey)) return 'generated key pair';
  const sealed = await s.hpke.seal(g.publicKey, h(e.info), new Uint8Array(0), h('0102'));
  if (!equal(await s.hpke.open(g.privateKey, sealed.kemOutput, h(e.info), new Uint8Array(0), sealed.ciphertext), h('0102'))) return 'single-shot';
  return undefined;
}

async function cryptoBasics(c, s) {
  const f = [];
  const ok = (name, good) => { if (!good) f.push(name); };
  ok('ref_hash', equal(await refHash(s, c.ref_hash.label, h(c.ref_hash.value)), h(c.ref_hash.out)));
  const e = c.expand_with_label;
  ok('expand_with_label', equal(await expandWithLabel(s, h(e.secret), e.label, h(e.context), e.length), h(e.out)));
  const d = c.derive_secret;
  ok('derive_secret', equal(await deriveSecret(s, h(d.secret), d.label), h(d.out)));
  const t = c.derive_tree_secret;
  ok('derive_tree_secret', equal(await deriveTreeSecret(s, h(t.secret), t.label, t.generation, t.length), h(t.out)));
  const g = c.sign_with_label;
  ok('verify vector signature', await verifyWithLabel(s, h(g.pub), g.label, h(g.content), h(g.signature)));
  ok('signature publicKeyFromPrivate', equal(await s.signature.publicKeyFromPrivate(h(g.priv)), h(g.pub)));
  ok('verify fresh signature', await verifyWithLabel(s, h(g.pub), g.label, h(g.content), await signWithLabel(s, h(g.priv), g.label, h(g.content))));
  const kp = await s.signature.generateKeyPair();
  ok('generated signature key pair', equal(await s.signature.publicKeyFromPrivate(kp.privateKey), kp.publicKey)
    && await s.signature.verify(kp.publicKey, h('00'), await s.signature.sign(kp.privateKey, h('00'))));
  const x = c.encrypt_with_label;
  ok('decrypt vector ciphertext', equal(await decryptWithLabel(s, h(x.priv), x.label, h(x.context), h(x.kem_output), h(x.ciphertext)), h(x.plaintext)));
  const r = await encryptWithLabel(s, h(x.pub), x.label, h(x.context), h(x.plaintext));
  ok('decrypt fresh ciphertext', equal(await decryptWithLabel(s, h(x.priv), x.label, h(x.context), r.kemOutput, r.ciphertext), h(x.plaintext)));
  const big = new Uint8Array(20000).fill(3);
  const n = getCipherSuite(s.id, 'noble');
  ok('large digest', equal(await s.hash.digest(big), await n.hash.digest(big)));
  ok('large hmac', equal(await s.hmac(big.subarray(0, 32), big), await n.hmac(big.subarray(0, 32), big)));
  return f;
}

window.runCryptoChecks = async (hpke, basics) => {
  let passed = 0;
  const failures = [];
  for (const [i, e] of hpke.entries()) {
    const s = SUITE_IDS.map((id) => getCipherSuite(id, 'webcrypto'))
      .find((s) => s.hpke.kemId === e.kem_id && s.hpke.kdfId === e.kdf_id && s.hpke.aeadId === e.aead_id);
    try {
      const r = s === undefined ? 'no suite' : await hpkeEntry(e, s);
      if (r === undefined) passed++; else failures.push('hpke entry ' + i + ': ' + r);
    } catch (err) { failures.push('hpke entry ' + i + ': threw ' + err.name + ' ' + err.message); }
  }
  for (const c of basics) {
    try {
      const r = await cryptoBasics(c, getCipherSuite(c.cipher_suite, 'webcrypto'));
      if (r.length === 0) passed++; else failures.push('crypto-basics suite ' + c.cipher_suite + ': ' + r.join(', '));
    } catch (err) { failures.push('crypto-basics suite ' + c.cipher_suite + ': threw ' + err.name + ' ' + err.message); }
  }
  return { passed, failures, fallbacks: webcryptoFallbacks(), hasSubtle: globalThis.crypto?.subtle !== undefined };
};
`;

let server: http.Server;
let url = '';

before(async () => {
  const bundle = await build({
    stdin: { contents: PAGE_SOURCE, resolveDir: HERE, loader: 'ts', sourcefile: 'crypto-browser-page.ts' },
    bundle: true, write: false, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'silent',
  });
  const js = bundle.outputFiles[0]!.text;
  // A secure context (http://127.0.0.1) is required for crypto.subtle.
  server = http.createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(() => {
  server?.close();
});

const hpkeEntries = (): unknown[] => JSON.parse(readFileSync(hpkeVectorsFile(), 'utf8')) as unknown[];
const basicsCases = (): unknown[] => JSON.parse(readFileSync(path.join(mlsVectorsDir(), 'crypto-basics.json'), 'utf8')) as unknown[];

async function runIn(kind: 'chromium' | 'firefox'): Promise<{ passed: number; failures: string[]; fallbacks: string[]; hasSubtle: boolean }> {
  const executablePath = kind === 'chromium' ? CHROMIUM_PATH : FIREFOX_PATH;
  assert.ok(existsSync(executablePath), `${kind} not found at ${executablePath}: run scripts/setup-browsers.sh or set ${kind === 'chromium' ? 'CHROMIUM_PATH' : 'FIREFOX_PATH'}`);
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), `crypto-${kind}-`));
  const browser = await puppeteer.launch(kind === 'chromium'
    ? {
      executablePath, headless: true, userDataDir, protocolTimeout: 120_000,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    }
    : {
      browser: 'firefox', executablePath, headless: true, userDataDir, protocolTimeout: 120_000,
      extraPrefsFirefox: { 'network.captive-portal-service.enabled': false, 'app.update.enabled': false, 'network.connectivity-service.enabled': false, 'toolkit.telemetry.enabled': false },
    });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction('typeof window.runCryptoChecks === "function"', { timeout: 30_000 });
    return await page.evaluate(
      (h, c) => (window as unknown as { runCryptoChecks: (h: unknown, c: unknown) => Promise<{ passed: number; failures: string[]; fallbacks: string[]; hasSubtle: boolean }> }).runCryptoChecks(h, c),
      hpkeEntries(), basicsCases(),
    );
  } finally {
    await browser.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}

test('Chromium: webcrypto backend passes all HPKE entries and crypto-basics suites', { timeout: 300_000 }, async () => {
  const r = await runIn('chromium');
  assert.equal(r.hasSubtle, true);
  assert.deepEqual(r.failures, []);
  assert.equal(r.passed, hpkeEntries().length + basicsCases().length);
  assert.deepEqual(r.fallbacks, [], 'Chromium has X25519, Ed25519, ECDH and ECDSA natively');
});

test('Firefox: webcrypto backend passes all HPKE entries and crypto-basics suites', { timeout: 300_000 }, async () => {
  const r = await runIn('firefox');
  assert.equal(r.hasSubtle, true);
  assert.deepEqual(r.failures, []);
  assert.equal(r.passed, hpkeEntries().length + basicsCases().length);
  // Firefox/NSS: EC public keys from private keys come from noble (see webcrypto.ts); nothing else falls back.
  assert.ok(r.fallbacks.every((f) => f === 'EC public key from private key (JWK export)'), r.fallbacks.join(', '));
});
