// RFC 9420 crypto-basics.json (mls-implementations test vectors, FORMAT.md "Crypto Basics") on every
// crypto backend: RefHash, ExpandWithLabel, DeriveSecret, DeriveTreeSecret, SignWithLabel /
// VerifyWithLabel, EncryptWithLabel / DecryptWithLabel, each suite. One case = one check.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { equal, fromHex } from '../../shared/bytes/index.js';
import {
  decryptWithLabel, deriveSecret, deriveTreeSecret, encryptWithLabel, expandWithLabel, getCipherSuite, isSuiteId,
  refHash, signWithLabel, verifyWithLabel, type CipherSuite, type CryptoBackend,
} from '../../shared/crypto/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import type { VectorFileResult } from './types.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every backend the vector suites run on, with the name used in result lines. */
export const CRYPTO_BACKENDS: { name: string; backend: CryptoBackend }[] = [
  { name: 'noble', backend: 'noble' },
  { name: 'webcrypto', backend: 'webcrypto' },
  { name: 'node', backend: nodeCryptoProvider },
];

export function mlsVectorsDir(): string {
  return process.env.MLS_VECTORS_DIR ?? path.resolve(ROOT, '../shared/mls-test-vectors');
}

interface CryptoBasicsCase {
  cipher_suite: number;
  ref_hash: { label: string; value: string; out: string };
  expand_with_label: { secret: string; label: string; context: string; length: number; out: string };
  derive_secret: { secret: string; label: string; out: string };
  derive_tree_secret: { secret: string; label: string; generation: number; length: number; out: string };
  sign_with_label: { priv: string; pub: string; content: string; label: string; signature: string };
  encrypt_with_label: { priv: string; pub: string; label: string; context: string; plaintext: string; kem_output: string; ciphertext: string };
}

export async function run(log: (line: string) => void): Promise<VectorFileResult[]> {
  const file = path.join(mlsVectorsDir(), 'crypto-basics.json');
  const cases = JSON.parse(readFileSync(file, 'utf8')) as CryptoBasicsCase[];
  const results: VectorFileResult[] = [];
  for (const { name, backend } of CRYPTO_BACKENDS) {
    const r: VectorFileResult = { file: `crypto-basics.json [${name}]`, passed: 0, failed: 0, failures: [] };
    const check = async (what: string, fn: () => Promise<boolean>): Promise<void> => {
      let ok = false;
      let why = 'mismatch';
      try {
        ok = await fn();
      } catch (err) {
        why = `threw ${(err as Error).name}: ${(err as Error).message.slice(0, 80)}`;
      }
      if (ok) r.passed++;
      else {
        r.failed++;
        r.failures.push(`${what}: ${why}`);
      }
    };
    for (const c of cases) {
      const id = c.cipher_suite;
      if (!isSuiteId(id)) {
        r.failed++;
        r.failures.push(`suite ${id}: unknown cipher suite`);
        continue;
      }
      let s: CipherSuite;
      try {
        s = getCipherSuite(id, backend);
      } catch (err) {
        r.failed += 8;
        r.failures.push(`suite ${id}: getCipherSuite threw ${(err as Error).message.slice(0, 80)} (8 checks)`);
        continue;
      }
      const h = fromHex;
      await check(`suite ${id} ref_hash`, async () => equal(await refHash(s, c.ref_hash.label, h(c.ref_hash.value)), h(c.ref_hash.out)));
      const e = c.expand_with_label;
      await check(`suite ${id} expand_with_label`, async () => equal(await expandWithLabel(s, h(e.secret), e.label, h(e.context), e.length), h(e.out)));
      const d = c.derive_secret;
      await check(`suite ${id} derive_secret`, async () => equal(await deriveSecret(s, h(d.secret), d.label), h(d.out)));
      const t = c.derive_tree_secret;
      await check(`suite ${id} derive_tree_secret`, async () => equal(await deriveTreeSecret(s, h(t.secret), t.label, t.generation, t.length), h(t.out)));
      const g = c.sign_with_label;
      await check(`suite ${id} sign_with_label verify(vector signature)`, () => verifyWithLabel(s, h(g.pub), g.label, h(g.content), h(g.signature)));
      await check(`suite ${id} sign_with_label verify(fresh signature)`, async () => {
        const pub = await s.signature.publicKeyFromPrivate(h(g.priv));
        if (!equal(pub, h(g.pub))) return false;
        const sig = await signWithLabel(s, h(g.priv), g.label, h(g.content));
        const good = await verifyWithLabel(s, h(g.pub), g.label, h(g.content), sig);
        // The same signature must not verify under another label (the label is bound).
        const bad = await verifyWithLabel(s, h(g.pub), g.label + 'x', h(g.content), sig);
        return good && !bad;
      });
      const x = c.encrypt_with_label;
      await check(`suite ${id} encrypt_with_label decrypt(vector ciphertext)`, async () =>
        equal(await decryptWithLabel(s, h(x.priv), x.label, h(x.context), h(x.kem_output), h(x.ciphertext)), h(x.plaintext)));
      await check(`suite ${id} encrypt_with_label decrypt(fresh ciphertext)`, async () => {
        const pub = await s.hpke.publicKeyFromPrivate(h(x.priv));
        if (!equal(pub, h(x.pub))) return false;
        const { kemOutput, ciphertext } = await encryptWithLabel(s, h(x.pub), x.label, h(x.context), h(x.plaintext));
        return equal(await decryptWithLabel(s, h(x.priv), x.label, h(x.context), kemOutput, ciphertext), h(x.plaintext));
      });
    }
    log(`crypto-basics.json [${name}]: ${cases.length} suites, ${r.passed + r.failed} checks`);
    results.push(r);
  }
  return results;
}
