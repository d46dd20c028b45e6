// Builds a CipherSuite (types.ts) from a backend's primitives: input validation lives here, once,
// so every backend rejects the same inputs the same way.

import { assertBytes, assertInt } from '../bytes/index.js';
import { createHpke } from './hpke.js';
import { SUITE_PARAMS, SIGNATURE_PARAMS, type SuitePrimitives } from './primitives.js';
import { CryptoError, SUITE_NAMES, type CipherSuite, type SuiteId } from './types.js';

/** RFC 5869 §2.3: L <= 255 * HashLen. */
function checkExpandLength(length: unknown, Nh: number): asserts length is number {
  assertInt(length, 'length', 0, Number.MAX_SAFE_INTEGER);
  if (length > 255 * Nh) throw new CryptoError('kdf-length', `length must be <= ${255 * Nh}, got ${length}`);
}

export function buildCipherSuite(id: SuiteId, prim: SuitePrimitives): CipherSuite {
  const params = SUITE_PARAMS[id];
  const sig = prim.signature;
  const sigParams = SIGNATURE_PARAMS[sig.name];
  const { aead, kdf, hash } = prim;
  const hpke = createHpke(prim, params);

  return Object.freeze({
    id,
    name: SUITE_NAMES[id],
    backend: prim.backend,
    hash: Object.freeze({
      name: hash.name,
      outputLength: hash.outputLength,
      async digest(data: Uint8Array) {
        assertBytes(data, 'data');
        return hash.digest(data);
      },
    }),
    kdf: Object.freeze({
      Nh: kdf.Nh,
      async extract(salt: Uint8Array, ikm: Uint8Array) {
        assertBytes(salt, 'salt');
        assertBytes(ikm, 'ikm');
        return kdf.extract(salt, ikm);
      },
      async expand(prk: Uint8Array, info: Uint8Array, length: number) {
        assertBytes(prk, 'prk');
        assertBytes(info, 'info');
        checkExpandLength(length, kdf.Nh);
        return kdf.expand(prk, info, length);
      },
    }),
    aead: Object.freeze({
      name: aead.name,
      Nk: aead.Nk,
      Nn: aead.Nn,
      Nt: aead.Nt,
      async seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array) {
        assertBytes(key, 'key', aead.Nk);
        assertBytes(nonce, 'nonce', aead.Nn);
        assertBytes(aad, 'aad');
        assertBytes(plaintext, 'plaintext');
        return aead.seal(key, nonce, aad, plaintext);
      },
      async open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array) {
        assertBytes(key, 'key', aead.Nk);
        assertBytes(nonce, 'nonce', aead.Nn);
        assertBytes(aad, 'aad');
        assertBytes(ciphertext, 'ciphertext');
        if (ciphertext.length < aead.Nt) throw new CryptoError('aead-open-failed', `ciphertext shorter than the ${aead.Nt}-byte tag`);
        return aead.open(key, nonce, aad, ciphertext);
      },
    }),
    async hmac(key: Uint8Array, data: Uint8Array) {
      assertBytes(key, 'key');
      assertBytes(data, 'data');
      return prim.hmac(key, data);
    },
    hpke: Object.freeze(hpke),
    signature: Object.freeze({
      name: sig.name,
      publicKeyLength: sigParams.publicKeyLength,
      privateKeyLength: sigParams.privateKeyLength,
      generateKeyPair: () => sig.generateKeyPair(),
      async sign(privateKey: Uint8Array, message: Uint8Array) {
        assertBytes(privateKey, 'privateKey', sigParams.privateKeyLength);
        assertBytes(message, 'message');
        return sig.sign(privateKey, message);
      },
      async verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) {
        assertBytes(publicKey, 'publicKey');
        assertBytes(message, 'message');
        assertBytes(signature, 'signature');
        if (publicKey.length !== sigParams.publicKeyLength) return false;
        try {
          return await sig.verify(publicKey, message, signature);
        } catch {
          return false;
        }
      },
      async publicKeyFromPrivate(privateKey: Uint8Array) {
        assertBytes(privateKey, 'privateKey', sigParams.privateKeyLength);
        return sig.publicKeyFromPrivate(privateKey);
      },
    }),
  });
}
