// RFC 9180 Appendix A test vectors (the entries for RFC 9420 suites' KEM/KDF/AEAD, all four modes)
// on every crypto backend. One case = one entry; an entry passes when DeriveKeyPair of R, E and S,
// enc, every encryption (sealed by the sender context and opened by the receiver context, sequence
// numbers in order) and every export (sender and receiver) match. shared_secret, key, base_nonce and
// exporter_secret are not exposed by the API; they are checked through the ciphertexts and exports.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { equal, fromHex } from '../../shared/bytes/index.js';
import { SUITE_IDS, getCipherSuite, type CipherSuite, type CryptoBackend, type HpkeSetupOptions } from '../../shared/crypto/index.js';
import { CRYPTO_BACKENDS } from './crypto-basics.js';
import type { VectorFileResult } from './types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export function hpkeVectorsFile(): string {
  return process.env.HPKE_VECTORS_FILE ?? path.resolve(ROOT, '../shared/hpke-test-vectors/rfc9180-test-vectors.json');
}

interface HpkeEntry {
  mode: number; kem_id: number; kdf_id: number; aead_id: number;
  info: string; ikmR: string; ikmE: string; ikmS?: string; psk?: string; psk_id?: string;
  skRm: string; pkRm: string; skEm: string; pkEm: string; skSm?: string; pkSm?: string;
  enc: string; shared_secret: string; key_schedule_context: string; secret: string; key: string; base_nonce: string; exporter_secret: string;
  encryptions: { aad: string; ct: string; nonce: string; pt: string }[];
  exports: { exporter_context: string; L: number; exported_value: string }[];
}

/** The suite whose HPKE triple is (kem, kdf, aead), on a backend. */
function suiteFor(e: HpkeEntry, backend: CryptoBackend): CipherSuite | undefined {
  for (const id of SUITE_IDS) {
    const s = getCipherSuite(id, backend);
    if (s.hpke.kemId === e.kem_id && s.hpke.kdfId === e.kdf_id && s.hpke.aeadId === e.aead_id) return s;
  }
  return undefined;
}

/** Checks one entry; returns undefined on success or the first failing check. */
async function checkEntry(e: HpkeEntry, s: CipherSuite): Promise<string | undefined> {
  const h = fromHex;
  const kpR = await s.hpke.deriveKeyPair(h(e.ikmR));
  if (!equal(kpR.privateKey, h(e.skRm))) return 'DeriveKeyPair(ikmR) skRm';
  if (!equal(kpR.publicKey, h(e.pkRm))) return 'DeriveKeyPair(ikmR) pkRm';
  const kpE = await s.hpke.deriveKeyPair(h(e.ikmE));
  if (!equal(kpE.privateKey, h(e.skEm)) || !equal(kpE.publicKey, h(e.pkEm))) return 'DeriveKeyPair(ikmE)';
  if (!equal(await s.hpke.publicKeyFromPrivate(h(e.skRm)), h(e.pkRm))) return 'publicKeyFromPrivate(skRm)';

  const senderOpts: HpkeSetupOptions = { ephemeralIkm: h(e.ikmE) };
  const receiverOpts: HpkeSetupOptions = {};
  if (e.mode === 1 || e.mode === 3) {
    if (e.psk === undefined || e.psk_id === undefined) return 'psk mode without psk';
    senderOpts.psk = receiverOpts.psk = { key: h(e.psk), id: h(e.psk_id) };
  }
  if (e.mode === 2 || e.mode === 3) {
    if (e.ikmS === undefined || e.skSm === undefined || e.pkSm === undefined) return 'auth mode without sender key';
    const kpS = await s.hpke.deriveKeyPair(h(e.ikmS));
    if (!equal(kpS.privateKey, h(e.skSm)) || !equal(kpS.publicKey, h(e.pkSm))) return 'DeriveKeyPair(ikmS)';
    senderOpts.senderPrivateKey = h(e.skSm);
    receiverOpts.senderPublicKey = h(e.pkSm);
  }
  const { enc, context: sender } = await s.hpke.setupSender(h(e.pkRm), h(e.info), senderOpts);
  if (!equal(enc, h(e.enc))) return 'enc';
  const receiver = await s.hpke.setupReceiver(h(e.skRm), h(e.enc), h(e.info), receiverOpts);
  try {
    for (let i = 0; i < e.encryptions.length; i++) {
      const x = e.encryptions[i]!;
      const ct = await sender.seal(h(x.aad), h(x.pt));
      if (!equal(ct, h(x.ct))) return `encryption ${i}: seal ciphertext`;
      const pt = await receiver.open(h(x.aad), h(x.ct));
      if (!equal(pt, h(x.pt))) return `encryption ${i}: open plaintext`;
    }
    for (let i = 0; i < e.exports.length; i++) {
      const x = e.exports[i]!;
      if (!equal(await sender.export(h(x.exporter_context), x.L), h(x.exported_value))) return `export ${i}: sender`;
      if (!equal(await receiver.export(h(x.exporter_context), x.L), h(x.exported_value))) return `export ${i}: receiver`;
    }
  } finally {
    sender.destroy();
    receiver.destroy();
  }
  // Base-mode single-shot round trip with a fresh ephemeral key (the API MLS uses).
  if (e.mode === 0) {
    const pt = h(e.encryptions[0]?.pt ?? '');
    const aad = h(e.encryptions[0]?.aad ?? '');
    const sealed = await s.hpke.seal(h(e.pkRm), h(e.info), aad, pt);
    if (!equal(await s.hpke.open(h(e.skRm), sealed.kemOutput, h(e.info), aad, sealed.ciphertext), pt)) return 'single-shot round trip';
  }
  return undefined;
}

export async function run(log: (line: string) => void): Promise<VectorFileResult[]> {
  const file = hpkeVectorsFile();
  const entries = JSON.parse(readFileSync(file, 'utf8')) as HpkeEntry[];
  const results: VectorFileResult[] = [];
  for (const { name, backend } of CRYPTO_BACKENDS) {
    const r: VectorFileResult = { file: `${path.basename(file)} [${name}]`, passed: 0, failed: 0, failures: [] };
    let encryptions = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const where = `entry ${i} (mode ${e.mode}, kem 0x${e.kem_id.toString(16)}, kdf ${e.kdf_id}, aead ${e.aead_id})`;
      let failure: string | undefined;
      try {
        const s = suiteFor(e, backend);
        failure = s === undefined ? 'no RFC 9420 suite has this KEM/KDF/AEAD' : await checkEntry(e, s);
      } catch (err) {
        failure = `threw ${(err as Error).name}: ${(err as Error).message.slice(0, 80)}`;
      }
      if (failure === undefined) {
        r.passed++;
        encryptions += e.encryptions.length;
      } else {
        r.failed++;
        r.failures.push(`${where}: ${failure}`);
      }
    }
    log(`${r.file}: ${entries.length} entries, ${encryptions} encryptions checked in passing entries`);
    results.push(r);
  }
  return results;
}
