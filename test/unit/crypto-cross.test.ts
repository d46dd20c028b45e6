// Cross-checks between the three backends, every suite: what one backend makes (key pairs,
// signatures, HPKE ciphertexts, exports, AEAD ciphertexts, KDF/HMAC/hash outputs) the others accept
// or reproduce. Large inputs exercise WebCrypto's native hash/HMAC path (>= SUBTLE_MIN_BYTES).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { equal, utf8 } from '../../shared/bytes/index.js';
import { SUITE_IDS, getCipherSuite, type CipherSuite, type CryptoBackend } from '../../shared/crypto/index.js';
import { SUBTLE_MIN_BYTES } from '../../shared/crypto/webcrypto.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';

const BACKENDS: [string, CryptoBackend][] = [['noble', 'noble'], ['webcrypto', 'webcrypto'], ['node', nodeCryptoProvider]];

function suites(id: (typeof SUITE_IDS)[number]): [string, CipherSuite][] {
  return BACKENDS.map(([name, b]) => [name, getCipherSuite(id, b)]);
}

function bytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + 7) & 0xff;
  return out;
}

for (const id of SUITE_IDS) {
  test(`suite ${id}: signatures made by each backend verify on every backend`, async () => {
    const msg = utf8(`suite ${id} cross-check message`);
    for (const [a, sa] of suites(id)) {
      const kp = await sa.signature.generateKeyPair();
      assert.equal(kp.privateKey.length, sa.signature.privateKeyLength, `${a} private key length`);
      assert.equal(kp.publicKey.length, sa.signature.publicKeyLength, `${a} public key length`);
      const sig = await sa.signature.sign(kp.privateKey, msg);
      for (const [b, sb] of suites(id)) {
        assert.ok(equal(await sb.signature.publicKeyFromPrivate(kp.privateKey), kp.publicKey), `${a} key pair, ${b} publicKeyFromPrivate`);
        assert.equal(await sb.signature.verify(kp.publicKey, msg, sig), true, `${a} signature, ${b} verify`);
        const bad = msg.slice();
        bad[0]! ^= 1;
        assert.equal(await sb.signature.verify(kp.publicKey, bad, sig), false, `${a} signature, ${b} verify of a changed message`);
        const sig2 = await sb.signature.sign(kp.privateKey, msg);
        assert.equal(await sa.signature.verify(kp.publicKey, msg, sig2), true, `${b} signs with ${a}'s key, ${a} verifies`);
      }
    }
  });

  test(`suite ${id}: HPKE key pairs, ciphertexts and exports interoperate across backends`, async () => {
    const info = utf8('cross info');
    const aad = utf8('cross aad');
    const pt = bytes(100, id);
    const ikm = bytes(32, id + 100);
    const derived = await Promise.all(suites(id).map(([, s]) => s.hpke.deriveKeyPair(ikm)));
    for (const d of derived) {
      assert.ok(equal(d.privateKey, derived[0]!.privateKey) && equal(d.publicKey, derived[0]!.publicKey), 'deriveKeyPair agrees');
    }
    for (const [a, sa] of suites(id)) {
      const kp = await sa.hpke.generateKeyPair();
      assert.equal(kp.privateKey.length, sa.hpke.Nsk, `${a} Nsk`);
      assert.equal(kp.publicKey.length, sa.hpke.Npk, `${a} Npk`);
      for (const [b, sb] of suites(id)) {
        assert.ok(equal(await sb.hpke.publicKeyFromPrivate(kp.privateKey), kp.publicKey), `${a} key pair, ${b} publicKeyFromPrivate`);
        const sealed = await sa.hpke.seal(kp.publicKey, info, aad, pt);
        assert.ok(equal(await sb.hpke.open(kp.privateKey, sealed.kemOutput, info, aad, sealed.ciphertext), pt), `${a} seal, ${b} open`);
        const exp = await sb.hpke.exportSender(kp.publicKey, info, utf8('ctx'), 32);
        assert.ok(equal(await sa.hpke.exportReceiver(kp.privateKey, exp.kemOutput, info, utf8('ctx'), 32), exp.secret), `${b} exportSender, ${a} exportReceiver`);
      }
    }
  });

  test(`suite ${id}: AEAD, HKDF, HMAC and hash agree across backends (small and large inputs)`, async () => {
    const all = suites(id);
    const s0 = all[0]![1];
    const key = bytes(s0.aead.Nk, 1);
    const nonce = bytes(s0.aead.Nn, 2);
    for (const size of [0, 1000, SUBTLE_MIN_BYTES + 5]) {
      const data = bytes(size, 3);
      const ref = {
        ct: await s0.aead.seal(key, nonce, data.subarray(0, 50), data),
        digest: await s0.hash.digest(data),
        hmac: await s0.hmac(key, data),
        prk: await s0.kdf.extract(data.subarray(0, 10), data),
        okm: await s0.kdf.expand(bytes(s0.kdf.Nh, 4), data, 3 * s0.kdf.Nh + 5),
      };
      for (const [b, s] of all) {
        assert.ok(equal(await s.aead.seal(key, nonce, data.subarray(0, 50), data), ref.ct), `${b} aead seal, ${size} bytes`);
        assert.ok(equal(await s.aead.open(key, nonce, data.subarray(0, 50), ref.ct), data), `${b} aead open, ${size} bytes`);
        assert.ok(equal(await s.hash.digest(data), ref.digest), `${b} digest, ${size} bytes`);
        assert.ok(equal(await s.hmac(key, data), ref.hmac), `${b} hmac, ${size} bytes`);
        assert.ok(equal(await s.kdf.extract(data.subarray(0, 10), data), ref.prk), `${b} extract, ${size} bytes`);
        assert.ok(equal(await s.kdf.expand(bytes(s0.kdf.Nh, 4), data, 3 * s0.kdf.Nh + 5), ref.okm), `${b} expand, ${size} bytes`);
        // An empty salt means Nh zero bytes (RFC 5869 §2.2).
        assert.ok(equal(await s.kdf.extract(new Uint8Array(0), data), await s0.kdf.extract(new Uint8Array(s0.kdf.Nh), data)), `${b} empty salt`);
      }
    }
  });
}
