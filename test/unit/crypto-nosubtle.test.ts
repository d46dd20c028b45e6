// The webcrypto backend where globalThis.crypto.subtle is missing (insecure browser contexts):
// every operation runs on noble and webcryptoFallbacks() says so. Own file: it changes a global.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { equal, utf8 } from '../../shared/bytes/index.js';
import { buildCipherSuite } from '../../shared/crypto/suite.js';
import { webcryptoFallbacks, webcryptoPrimitives } from '../../shared/crypto/webcrypto.js';
import { getCipherSuite } from '../../shared/crypto/index.js';

test('webcrypto backend without crypto.subtle falls back to noble for everything', async () => {
  Object.defineProperty(globalThis.crypto, 'subtle', { value: undefined, configurable: true });
  try {
    assert.equal(globalThis.crypto.subtle, undefined);
    const s = buildCipherSuite(2, webcryptoPrimitives(2));
    assert.equal(s.backend, 'webcrypto');
    assert.deepEqual(webcryptoFallbacks(), ['all algorithms (globalThis.crypto.subtle missing)']);
    const kp = await s.signature.generateKeyPair();
    const sig = await s.signature.sign(kp.privateKey, utf8('m'));
    const hk = await s.hpke.generateKeyPair();
    const sealed = await s.hpke.seal(hk.publicKey, utf8('i'), utf8('a'), utf8('p'));
    // Interoperates with the noble suite (same algorithms, same formats).
    const n = getCipherSuite(2, 'noble');
    assert.equal(await n.signature.verify(kp.publicKey, utf8('m'), sig), true);
    assert.ok(equal(await n.hpke.open(hk.privateKey, sealed.kemOutput, utf8('i'), utf8('a'), sealed.ciphertext), utf8('p')));
  } finally {
    delete (globalThis.crypto as { subtle?: unknown }).subtle;
  }
  assert.notEqual(globalThis.crypto.subtle, undefined, 'the global is restored');
});
