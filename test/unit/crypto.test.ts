// shared/crypto: input validation, typed errors, DER conversion, key caches, HPKE context rules,
// labeled-helper encodings, backend selection. Every backend where behaviour must match.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { concat, fromHex, toHex, utf8 } from '../../shared/bytes/index.js';
import { Writer } from '../../shared/codec/index.js';
import {
  CryptoError, SUITE_IDS, decryptWithLabel, deriveTreeSecret, encryptWithLabel, expandWithLabel, getCipherSuite,
  getDefaultCryptoBackend, makeKeyPackageRef, makeProposalRef, refHash, setDefaultCryptoBackend, signWithLabel,
  verifyWithLabel, type CipherSuite, type CryptoBackend, type SuiteId,
} from '../../shared/crypto/index.js';
import { derToP1363, p1363ToDer } from '../../shared/crypto/der.js';
import { webcryptoFallbacks } from '../../shared/crypto/webcrypto.js';
import { nodeCryptoDiagnostics, nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';

const BACKENDS: [string, CryptoBackend][] = [['noble', 'noble'], ['webcrypto', 'webcrypto'], ['node', nodeCryptoProvider]];
const each = (id: SuiteId): [string, CipherSuite][] => BACKENDS.map(([n, b]) => [n, getCipherSuite(id, b)]);
const isCode = (code: string) => (e: unknown) => e instanceof CryptoError && e.code === code;
const EMPTY = new Uint8Array(0);

test('getCipherSuite: ids 1..7 with RFC 9420 names, unknown ids and backends rejected', () => {
  for (const id of SUITE_IDS) {
    for (const [name, b] of BACKENDS) {
      const s = getCipherSuite(id, b);
      assert.equal(s.id, id);
      assert.equal(s.backend, name);
      assert.equal(getCipherSuite(id, b), s, 'suites are cached');
    }
  }
  assert.equal(getCipherSuite(1).name, 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519');
  assert.equal(getCipherSuite(7).name, 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384');
  assert.throws(() => getCipherSuite(8 as SuiteId), isCode('unsupported-suite'));
  assert.throws(() => getCipherSuite(0 as SuiteId, nodeCryptoProvider), isCode('unsupported-suite'));
  assert.throws(() => getCipherSuite(1, 'openssl' as CryptoBackend), TypeError);
});

test('setDefaultCryptoBackend switches the default and rejects junk', () => {
  const before = getDefaultCryptoBackend();
  try {
    setDefaultCryptoBackend(nodeCryptoProvider);
    assert.equal(getCipherSuite(2).backend, 'node');
    setDefaultCryptoBackend('webcrypto');
    assert.equal(getCipherSuite(2).backend, 'webcrypto');
    assert.throws(() => setDefaultCryptoBackend({} as CryptoBackend), TypeError);
  } finally {
    setDefaultCryptoBackend(before);
  }
  assert.equal(getCipherSuite(2).backend, before === 'noble' ? 'noble' : getCipherSuite(2).backend);
});

test('inputs are validated: TypeError for wrong types, RangeError for wrong lengths, naming the argument', async () => {
  for (const [name, s] of each(1)) {
    await assert.rejects(s.aead.seal('k' as unknown as Uint8Array, new Uint8Array(12), EMPTY, EMPTY), (e: unknown) => e instanceof TypeError && /key/.test((e as Error).message), name);
    await assert.rejects(s.aead.seal(new Uint8Array(15), new Uint8Array(12), EMPTY, EMPTY), (e: unknown) => e instanceof RangeError && /key must be 16 bytes/.test((e as Error).message), name);
    await assert.rejects(s.aead.seal(new Uint8Array(16), new Uint8Array(11), EMPTY, EMPTY), (e: unknown) => e instanceof RangeError && /nonce/.test((e as Error).message), name);
    await assert.rejects(s.hpke.seal(new Uint8Array(31), EMPTY, EMPTY, EMPTY), (e: unknown) => e instanceof RangeError && /publicKey/.test((e as Error).message), name);
    await assert.rejects(s.hpke.open(new Uint8Array(32), new Uint8Array(33), EMPTY, EMPTY, new Uint8Array(16)), (e: unknown) => e instanceof RangeError && /kemOutput/.test((e as Error).message), name);
    await assert.rejects(s.signature.sign(new Uint8Array(31), EMPTY), (e: unknown) => e instanceof RangeError && /privateKey/.test((e as Error).message), name);
    await assert.rejects(s.kdf.expand(new Uint8Array(32), EMPTY, 255 * 32 + 1), isCode('kdf-length'), name);
    await assert.rejects(s.hash.digest(null as unknown as Uint8Array), TypeError, name);
  }
  const s = getCipherSuite(1);
  await assert.rejects(expandWithLabel(s, new Uint8Array(32), 'x', EMPTY, 0x10000), RangeError);
  await assert.rejects(deriveTreeSecret(s, new Uint8Array(32), 'x', 2 ** 32, 16), RangeError);
  await assert.rejects(expandWithLabel(s, new Uint8Array(32), 5 as unknown as string, EMPTY, 16), TypeError);
});

test('P-curve private keys outside [1, n-1] are rejected with invalid-private-key', async () => {
  for (const id of [2, 5, 7] as const) {
    for (const [name, s] of each(id)) {
      await assert.rejects(s.hpke.publicKeyFromPrivate(new Uint8Array(s.hpke.Nsk)), isCode('invalid-private-key'), `${name} suite ${id} zero`);
      await assert.rejects(s.hpke.publicKeyFromPrivate(new Uint8Array(s.hpke.Nsk).fill(0xff)), isCode('invalid-private-key'), `${name} suite ${id} >= n`);
    }
  }
});

test('AEAD: a changed tag, ciphertext or aad fails with aead-open-failed on every backend and suite', async () => {
  for (const id of SUITE_IDS) {
    for (const [name, s] of each(id)) {
      const key = new Uint8Array(s.aead.Nk).fill(7);
      const nonce = new Uint8Array(12).fill(9);
      const ct = await s.aead.seal(key, nonce, utf8('aad'), utf8('hello'));
      assert.equal(ct.length, 5 + 16);
      for (const i of [0, ct.length - 1]) {
        const bad = ct.slice();
        bad[i]! ^= 0x80;
        await assert.rejects(s.aead.open(key, nonce, utf8('aad'), bad), isCode('aead-open-failed'), `${name} suite ${id} byte ${i}`);
      }
      await assert.rejects(s.aead.open(key, nonce, utf8('aaD'), ct), isCode('aead-open-failed'), `${name} suite ${id} aad`);
      await assert.rejects(s.aead.open(key, nonce, utf8('aad'), ct.subarray(0, 15)), isCode('aead-open-failed'), `${name} suite ${id} short`);
    }
  }
});

test('HPKE: tampering, the wrong key and small-order / off-curve points fail with typed errors', async () => {
  for (const id of SUITE_IDS) {
    for (const [name, s] of each(id)) {
      const kp = await s.hpke.generateKeyPair();
      const other = await s.hpke.generateKeyPair();
      const { kemOutput, ciphertext } = await s.hpke.seal(kp.publicKey, utf8('info'), EMPTY, utf8('secret'));
      const bad = ciphertext.slice();
      bad[0]! ^= 1;
      await assert.rejects(s.hpke.open(kp.privateKey, kemOutput, utf8('info'), EMPTY, bad), isCode('hpke-open-failed'), `${name} ${id} ct`);
      await assert.rejects(s.hpke.open(other.privateKey, kemOutput, utf8('info'), EMPTY, ciphertext), isCode('hpke-open-failed'), `${name} ${id} key`);
      await assert.rejects(s.hpke.open(kp.privateKey, kemOutput, utf8('infO'), EMPTY, ciphertext), isCode('hpke-open-failed'), `${name} ${id} info`);
      if (s.hpke.kemId === 0x20 || s.hpke.kemId === 0x21) {
        // The all-zero u-coordinate is a small-order point: DH output all zero (RFC 9180 §7.1.4).
        await assert.rejects(s.hpke.seal(new Uint8Array(s.hpke.Npk), EMPTY, EMPTY, EMPTY), isCode('dh-failed'), `${name} ${id} small order`);
      } else {
        const offCurve = kp.publicKey.slice();
        offCurve[offCurve.length - 1]! ^= 1;
        await assert.rejects(s.hpke.seal(offCurve, EMPTY, EMPTY, EMPTY), (e: unknown) => e instanceof CryptoError && (e.code === 'invalid-public-key' || e.code === 'dh-failed'), `${name} ${id} off curve`);
        const compressed = kp.publicKey.slice();
        compressed[0] = 0x02;
        await assert.rejects(s.hpke.seal(compressed, EMPTY, EMPTY, EMPTY), isCode('invalid-public-key'), `${name} ${id} prefix`);
      }
    }
  }
});

test('HPKE contexts: roles, sequence numbers, destroy', async () => {
  for (const [name, s] of each(3)) {
    const kp = await s.hpke.generateKeyPair();
    const { enc, context: sender } = await s.hpke.setupSender(kp.publicKey, utf8('i'));
    const receiver = await s.hpke.setupReceiver(kp.privateKey, enc, utf8('i'));
    const c0 = await sender.seal(EMPTY, utf8('zero'));
    const c1 = await sender.seal(EMPTY, utf8('one'));
    // Out of order: the receiver's sequence number is 0, so c1 does not open (and does not advance it).
    await assert.rejects(receiver.open(EMPTY, c1), isCode('aead-open-failed'), name);
    assert.equal(new TextDecoder().decode(await receiver.open(EMPTY, c0)), 'zero');
    assert.equal(new TextDecoder().decode(await receiver.open(EMPTY, c1)), 'one');
    await assert.rejects(sender.open(EMPTY, c0), isCode('hpke-wrong-role'), name);
    await assert.rejects(receiver.seal(EMPTY, c0), isCode('hpke-wrong-role'), name);
    assert.equal(toHex(await sender.export(utf8('x'), 17)), toHex(await receiver.export(utf8('x'), 17)));
    sender.destroy();
    await assert.rejects(sender.seal(EMPTY, EMPTY), isCode('hpke-context-destroyed'), name);
    await assert.rejects(s.hpke.setupSender(kp.publicKey, EMPTY, { psk: { key: EMPTY, id: utf8('id') } }), isCode('hpke-bad-mode'), name);
  }
});

test('signatures: malformed DER, wrong-length keys and junk keys verify false (never throw)', async () => {
  for (const id of SUITE_IDS) {
    for (const [name, s] of each(id)) {
      const kp = await s.signature.generateKeyPair();
      const msg = utf8('m');
      const sig = await s.signature.sign(kp.privateKey, msg);
      assert.equal(await s.signature.verify(kp.publicKey, msg, sig), true, `${name} ${id}`);
      assert.equal(await s.signature.verify(kp.publicKey, msg, concat(sig, Uint8Array.of(0))), false, `${name} ${id} trailing byte`);
      assert.equal(await s.signature.verify(kp.publicKey, msg, sig.subarray(0, sig.length - 1)), false, `${name} ${id} short`);
      assert.equal(await s.signature.verify(kp.publicKey.subarray(1), msg, sig), false, `${name} ${id} short key`);
      assert.equal(await s.signature.verify(new Uint8Array(kp.publicKey.length).fill(0xff), msg, sig), false, `${name} ${id} junk key`);
      assert.equal(await s.signature.verify(kp.publicKey, msg, EMPTY), false, `${name} ${id} empty signature`);
    }
  }
});

test('ECDSA DER <-> P1363: round trip, high-bit padding, strict parsing', () => {
  const r = new Uint8Array(32).fill(0x80);
  const sv = new Uint8Array(32);
  sv[31] = 1;
  const der = p1363ToDer(concat(r, sv));
  assert.equal(toHex(der), '3026' + '0221' + '00' + '80'.repeat(32) + '020101');
  assert.equal(toHex(derToP1363(der, 32)!), toHex(concat(r, sv)));
  // P-521: 66-byte integers need the long length form.
  const big = new Uint8Array(132).fill(0x91);
  const der521 = p1363ToDer(big);
  assert.equal(der521[1], 0x81);
  assert.equal(toHex(derToP1363(der521, 66)!), toHex(big));
  // Non-minimal integer, negative integer, trailing data, long-form length for a short sequence.
  assert.equal(derToP1363(fromHex('3007020200010201 01'.replace(/ /g, '')), 32), undefined);
  assert.equal(derToP1363(fromHex('3006020180020101'), 32), undefined);
  assert.equal(derToP1363(fromHex('300602010102010100'), 32), undefined);
  assert.equal(derToP1363(fromHex('30810602010102010 1'.replace(/ /g, '')), 32), undefined);
  assert.equal(derToP1363(fromHex('3006020101020101'), 32)?.length, 64);
  // An integer longer than n bytes is rejected.
  assert.equal(derToP1363(p1363ToDer(new Uint8Array(66).fill(0x11)), 32), undefined);
});

test('key caches: a private key array changed after use is re-imported (never a stale key)', async () => {
  for (const id of [1, 2] as const) {
    for (const [name, s] of each(id)) {
      const a = await s.signature.generateKeyPair();
      const b = await s.signature.generateKeyPair();
      const sk = a.privateKey.slice();
      const msg = utf8('cache');
      assert.equal(await s.signature.verify(a.publicKey, msg, await s.signature.sign(sk, msg)), true);
      sk.set(b.privateKey);
      assert.equal(await s.signature.verify(b.publicKey, msg, await s.signature.sign(sk, msg)), true, `${name} ${id} signature key`);
      const h1 = await s.hpke.generateKeyPair();
      const h2 = await s.hpke.generateKeyPair();
      const hsk = h1.privateKey.slice();
      const sealed = await s.hpke.seal(h2.publicKey, EMPTY, EMPTY, utf8('x'));
      await assert.rejects(s.hpke.open(hsk, sealed.kemOutput, EMPTY, EMPTY, sealed.ciphertext), isCode('hpke-open-failed'));
      hsk.set(h2.privateKey);
      assert.equal(new TextDecoder().decode(await s.hpke.open(hsk, sealed.kemOutput, EMPTY, EMPTY, sealed.ciphertext)), 'x', `${name} ${id} hpke key`);
    }
  }
});

test('labeled helpers: KDFLabel / SignContent / EncryptContext / RefHashInput encodings (RFC 9420 §5, §8)', async () => {
  const s = getCipherSuite(1);
  const secret = new Uint8Array(32).fill(3);
  const ctx = utf8('context');
  const kdfLabel = new Writer().u16(20).varBytes(utf8('MLS 1.0 my label')).varBytes(ctx).finish();
  assert.equal(toHex(await expandWithLabel(s, secret, 'my label', ctx, 20)), toHex(await s.kdf.expand(secret, kdfLabel, 20)));
  const gen = new Writer().u16(16).varBytes(utf8('MLS 1.0 tree')).varBytes(fromHex('01020304')).finish();
  assert.equal(toHex(await deriveTreeSecret(s, secret, 'tree', 0x01020304, 16)), toHex(await s.kdf.expand(secret, gen, 16)));
  const value = utf8('kp');
  const refInput = new Writer().varBytes(utf8('MLS 1.0 KeyPackage Reference')).varBytes(value).finish();
  assert.equal(toHex(await makeKeyPackageRef(s, value)), toHex(await s.hash.digest(refInput)));
  assert.equal(toHex(await makeProposalRef(s, value)), toHex(await refHash(s, 'MLS 1.0 Proposal Reference', value)));
  const kp = await s.signature.generateKeyPair();
  const sig = await signWithLabel(s, kp.privateKey, 'L', utf8('content'));
  const signContent = new Writer().varBytes(utf8('MLS 1.0 L')).varBytes(utf8('content')).finish();
  assert.equal(await s.signature.verify(kp.publicKey, signContent, sig), true);
  assert.equal(await verifyWithLabel(s, kp.publicKey, 'L', utf8('content'), sig), true);
  const hk = await s.hpke.generateKeyPair();
  const enc = await encryptWithLabel(s, hk.publicKey, 'E', ctx, utf8('pt'));
  const info = new Writer().varBytes(utf8('MLS 1.0 E')).varBytes(ctx).finish();
  assert.equal(new TextDecoder().decode(await s.hpke.open(hk.privateKey, enc.kemOutput, info, EMPTY, enc.ciphertext)), 'pt');
  await assert.rejects(decryptWithLabel(s, hk.privateKey, 'F', ctx, enc.kemOutput, enc.ciphertext), isCode('hpke-open-failed'));
});

test('webcrypto backend in Node 20 uses SubtleCrypto for X25519, ECDH, Ed25519 and ECDSA (no silent fallback)', async () => {
  for (const id of [1, 2, 5, 7] as const) {
    const s = getCipherSuite(id, 'webcrypto');
    const kp = await s.hpke.generateKeyPair();
    await s.hpke.seal(kp.publicKey, EMPTY, EMPTY, EMPTY);
    const sk = await s.signature.generateKeyPair();
    await s.signature.verify(sk.publicKey, EMPTY, await s.signature.sign(sk.privateKey, EMPTY));
  }
  assert.deepEqual(webcryptoFallbacks(), []);
});

test('node backend uses the fast JWK import for OKP private keys in this Node version', async () => {
  for (const id of [1, 4] as const) {
    const s = getCipherSuite(id, nodeCryptoProvider);
    const kp = await s.signature.generateKeyPair();
    assert.equal(await s.signature.verify(kp.publicKey, EMPTY, await s.signature.sign(kp.privateKey.slice(), EMPTY)), true);
    const hk = await s.hpke.generateKeyPair();
    assert.equal(toHex(await s.hpke.publicKeyFromPrivate(hk.privateKey.slice())), toHex(hk.publicKey));
  }
  assert.deepEqual(nodeCryptoDiagnostics(), { okpJwkPrivateImport: true });
});

test('signature edge cases: every backend gives the same answer (MLS members must agree)', async () => {
  const { CURVE_ORDER } = await import('../../shared/crypto/primitives.js');
  const { bigintToBytes, bytesToBigint } = await import('../../shared/bytes/index.js');
  const msg = utf8('edge');
  for (const id of [2, 5, 7] as const) {
    const curve = id === 2 ? 'P-256' : id === 5 ? 'P-521' : 'P-384';
    const n = getCipherSuite(id).signature.privateKeyLength;
    const kp = await getCipherSuite(id).signature.generateKeyPair();
    const der = await getCipherSuite(id).signature.sign(kp.privateKey, msg);
    const rs = derToP1363(der, n)!;
    // (r, n - s) is the other valid signature of the pair: accepted everywhere (OpenSSL and WebCrypto accept high S).
    const flipped = concat(rs.subarray(0, n), bigintToBytes(CURVE_ORDER[curve] - bytesToBigint(rs.subarray(n)), n));
    // A non-minimal INTEGER (extra 0x00 before r) is not DER: rejected everywhere.
    const r = rs.subarray(0, n);
    let i = 0;
    while (r[i] === 0) i++;
    const rBody = (r[i]! & 0x80) !== 0 ? concat(Uint8Array.of(0, 0), r.subarray(i)) : concat(Uint8Array.of(0), r.subarray(i));
    const sDer = p1363ToDer(concat(new Uint8Array(n), rs.subarray(n))).subarray(2 + 3);
    const body = concat(Uint8Array.of(0x02, rBody.length), rBody, sDer);
    const nonMinimal = concat(body.length < 0x80 ? Uint8Array.of(0x30, body.length) : Uint8Array.of(0x30, 0x81, body.length), body);
    for (const [name, s] of each(id)) {
      assert.equal(await s.signature.verify(kp.publicKey, msg, p1363ToDer(flipped)), true, `${name} suite ${id} high/low S twin`);
      assert.equal(await s.signature.verify(kp.publicKey, msg, nonMinimal), false, `${name} suite ${id} non-minimal DER`);
      assert.equal(await s.signature.verify(kp.publicKey, msg, rs), false, `${name} suite ${id} raw r||s is not DER`);
    }
  }
  // Ed25519 / Ed448: S + L (non-canonical scalar) is rejected everywhere (RFC 8032 §5.1.7 / §5.2.7).
  for (const id of [1, 4] as const) {
    const s0 = getCipherSuite(id);
    const kp = await s0.signature.generateKeyPair();
    const sig = await s0.signature.sign(kp.privateKey, msg);
    const half = sig.length / 2;
    const L = id === 1
      ? 2n ** 252n + 27742317777372353535851937790883648493n
      : 2n ** 446n - 13818066809895115352007386748515426880336692474882178609894547503885n;
    const S = bytesToBigint(sig.subarray(half).slice().reverse()) + L;
    const big = bigintToBytes(S, half).reverse();
    const mauled = concat(sig.subarray(0, half), big);
    for (const [name, s] of each(id)) {
      assert.equal(await s.signature.verify(kp.publicKey, msg, sig), true, `${name} suite ${id}`);
      assert.equal(await s.signature.verify(kp.publicKey, msg, mauled), false, `${name} suite ${id} S + L`);
    }
  }
});
