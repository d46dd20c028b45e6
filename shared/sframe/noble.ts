// Portable SFrame backend on @noble/ciphers and @noble/hashes (runs everywhere; synchronous work behind
// the async interface). RFC 9605 §4.5 (AES-GCM) and §4.5.1 (AES-CTR + HMAC compound AEAD).

import { ctr, gcm } from '@noble/ciphers/aes.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { assertBytes, assertInt, equal, wipe } from '../bytes/index.js';
import { checkAeadArgs, type SFrameAead, type SFrameBackend } from './backend.js';
import { SFrameError } from './errors.js';
import { ctrHmacAuthPrefix, ctrInitialCounter, deriveSubkeys, type HashName, type SFrameSuite } from './suites.js';

function hashFn(hash: HashName) {
  return hash === 'SHA-256' ? sha256 : sha512;
}

function closedError(): SFrameError {
  return new SFrameError('closed', 'AEAD key was destroyed');
}

class NobleGcm implements SFrameAead {
  #key: Uint8Array | undefined;
  readonly #suite: SFrameSuite;
  constructor(suite: SFrameSuite, key: Uint8Array) {
    this.#suite = suite;
    this.#key = key.slice();
  }
  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array> {
    checkAeadArgs(this.#suite, nonce, aad, plaintext);
    if (this.#key === undefined) throw closedError();
    const sealed = gcm(this.#key, nonce, aad).encrypt(plaintext);
    const out = new Uint8Array(prefix.length + sealed.length);
    out.set(prefix, 0);
    out.set(sealed, prefix.length);
    return out;
  }
  async open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null> {
    checkAeadArgs(this.#suite, nonce, aad, ciphertext);
    if (this.#key === undefined) throw closedError();
    if (ciphertext.length < this.#suite.Nt) return null;
    try {
      // noble computes and compares the GHASH tag (constant time) before running CTR.
      return gcm(this.#key, nonce, aad).decrypt(ciphertext);
    } catch {
      return null;
    }
  }
  destroy(): void {
    wipe(this.#key);
    this.#key = undefined;
  }
}

class NobleCtrHmac implements SFrameAead {
  #encKey: Uint8Array | undefined;
  #authKey: Uint8Array | undefined;
  readonly #suite: SFrameSuite;
  constructor(suite: SFrameSuite, key: Uint8Array) {
    this.#suite = suite;
    const { encKey, authKey } = deriveSubkeys(suite, key);
    this.#encKey = encKey.slice();
    this.#authKey = authKey.slice();
  }
  /** compute_tag (RFC 9605 §4.5.1): HMAC(auth_key, aad_len || ct_len || tag_len || nonce || aad || ct)[..Nt]. */
  #tag(nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
    const mac = hmac
      .create(hashFn(this.#suite.hash), this.#authKey!)
      .update(ctrHmacAuthPrefix(this.#suite, nonce, aad.length, ct.length))
      .update(aad)
      .update(ct)
      .digest();
    return mac.subarray(0, this.#suite.Nt);
  }
  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array> {
    checkAeadArgs(this.#suite, nonce, aad, plaintext);
    if (this.#encKey === undefined) throw closedError();
    const ct = ctr(this.#encKey, ctrInitialCounter(nonce)).encrypt(plaintext);
    const tag = this.#tag(nonce, aad, ct);
    const out = new Uint8Array(prefix.length + ct.length + tag.length);
    out.set(prefix, 0);
    out.set(ct, prefix.length);
    out.set(tag, prefix.length + ct.length);
    return out;
  }
  async open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null> {
    checkAeadArgs(this.#suite, nonce, aad, ciphertext);
    if (this.#encKey === undefined) throw closedError();
    const Nt = this.#suite.Nt;
    if (ciphertext.length < Nt) return null;
    const inner = ciphertext.subarray(0, ciphertext.length - Nt);
    const tag = ciphertext.subarray(ciphertext.length - Nt);
    // Tag first (constant time), decrypt only if it verifies.
    if (!equal(this.#tag(nonce, aad, inner), tag)) return null;
    return ctr(this.#encKey, ctrInitialCounter(nonce)).decrypt(inner);
  }
  destroy(): void {
    wipe(this.#encKey, this.#authKey);
    this.#encKey = undefined;
    this.#authKey = undefined;
  }
}

export const nobleBackend: SFrameBackend = {
  name: 'noble',
  async hkdfExtract(hash, salt, ikm) {
    assertBytes(salt, 'salt');
    assertBytes(ikm, 'ikm');
    return extract(hashFn(hash), ikm, salt);
  },
  async hkdfExpand(hash, prk, info, length) {
    assertBytes(prk, 'prk');
    assertBytes(info, 'info');
    assertInt(length, 'length', 1, 255 * (hash === 'SHA-256' ? 32 : 64));
    return expand(hashFn(hash), prk, info, length);
  },
  async importAead(suite, key) {
    assertBytes(key, 'key', suite.Nk);
    return suite.aead === 'aes-gcm' ? new NobleGcm(suite, key) : new NobleCtrHmac(suite, key);
  },
};
