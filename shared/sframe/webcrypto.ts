// SFrame backend on WebCrypto (globalThis.crypto.subtle): AES-GCM, AES-CTR, HMAC. Works in browsers, workers
// and Node. CryptoKeys are imported once per SFrame key (KID) and reused for every frame.
// RFC 9605 §4.5 (AES-GCM) and §4.5.1 (AES-CTR + HMAC compound AEAD, tag checked before decrypting).

import { assertBytes, assertInt, equal, wipe } from '../bytes/index.js';
import { checkAeadArgs, type SFrameAead, type SFrameBackend } from './backend.js';
import { SFrameError } from './errors.js';
import { ctrHmacAuthPrefix, ctrInitialCounter, deriveSubkeys, type HashName, type SFrameSuite } from './suites.js';

type Buf = Uint8Array<ArrayBuffer>;
/** WebCrypto's BufferSource typing wants ArrayBuffer-backed views; ours always are. */
const bs = (u: Uint8Array): Buf => u as Buf;

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: { subtle?: SubtleCrypto } }).crypto?.subtle;
  if (s === undefined) throw new SFrameError('unsupported-suite', 'WebCrypto (globalThis.crypto.subtle) is not available');
  return s;
}

function closedError(): SFrameError {
  return new SFrameError('closed', 'AEAD key was destroyed');
}

const hashLen = (hash: HashName) => (hash === 'SHA-256' ? 32 : 64);

async function hmacSign(hash: HashName, key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await subtle().importKey('raw', bs(key), { name: 'HMAC', hash }, false, ['sign']);
  return new Uint8Array(await subtle().sign('HMAC', k, bs(data)));
}

class WebCryptoGcm implements SFrameAead {
  #key: CryptoKey | undefined;
  readonly #suite: SFrameSuite;
  constructor(suite: SFrameSuite, key: CryptoKey) {
    this.#suite = suite;
    this.#key = key;
  }
  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array> {
    checkAeadArgs(this.#suite, nonce, aad, plaintext);
    if (this.#key === undefined) throw closedError();
    const sealed = await subtle().encrypt({ name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad), tagLength: 128 }, this.#key, bs(plaintext));
    // One copy: WebCrypto always returns a fresh ArrayBuffer, and the header must precede it.
    const out = new Uint8Array(prefix.length + sealed.byteLength);
    out.set(prefix, 0);
    out.set(new Uint8Array(sealed), prefix.length);
    return out;
  }
  async open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null> {
    checkAeadArgs(this.#suite, nonce, aad, ciphertext);
    if (this.#key === undefined) throw closedError();
    if (ciphertext.length < this.#suite.Nt) return null;
    try {
      const pt = await subtle().decrypt({ name: 'AES-GCM', iv: bs(nonce), additionalData: bs(aad), tagLength: 128 }, this.#key, bs(ciphertext));
      return new Uint8Array(pt);
    } catch {
      return null; // OperationError: the tag does not verify
    }
  }
  destroy(): void {
    this.#key = undefined; // non-extractable CryptoKey: dropping the reference is all WebCrypto allows
  }
}

class WebCryptoCtrHmac implements SFrameAead {
  #encKey: CryptoKey | undefined;
  #authKey: CryptoKey | undefined;
  readonly #suite: SFrameSuite;
  constructor(suite: SFrameSuite, encKey: CryptoKey, authKey: CryptoKey) {
    this.#suite = suite;
    this.#encKey = encKey;
    this.#authKey = authKey;
  }
  /** compute_tag (RFC 9605 §4.5.1); WebCrypto HMAC is one-shot, so auth_data is assembled in one buffer. */
  async #tag(nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Promise<Uint8Array> {
    const prefix = ctrHmacAuthPrefix(this.#suite, nonce, aad.length, ct.length);
    const data = new Uint8Array(prefix.length + aad.length + ct.length);
    data.set(prefix, 0);
    data.set(aad, prefix.length);
    data.set(ct, prefix.length + aad.length);
    const mac = await subtle().sign('HMAC', this.#authKey!, data);
    return new Uint8Array(mac, 0, this.#suite.Nt);
  }
  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array> {
    checkAeadArgs(this.#suite, nonce, aad, plaintext);
    if (this.#encKey === undefined) throw closedError();
    const ct = new Uint8Array(
      await subtle().encrypt({ name: 'AES-CTR', counter: bs(ctrInitialCounter(nonce)), length: 32 }, this.#encKey, bs(plaintext)),
    );
    const tag = await this.#tag(nonce, aad, ct);
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
    // Tag first (constant-time compare), decrypt only if it verifies.
    if (!equal(await this.#tag(nonce, aad, inner), ciphertext.subarray(ciphertext.length - Nt))) return null;
    if (this.#encKey === undefined) throw closedError();
    const pt = await subtle().decrypt({ name: 'AES-CTR', counter: bs(ctrInitialCounter(nonce)), length: 32 }, this.#encKey, bs(inner));
    return new Uint8Array(pt);
  }
  destroy(): void {
    this.#encKey = undefined;
    this.#authKey = undefined;
  }
}

export const webCryptoBackend: SFrameBackend = {
  name: 'webcrypto',
  async hkdfExtract(hash, salt, ikm) {
    assertBytes(salt, 'salt');
    assertBytes(ikm, 'ikm');
    // RFC 5869 §2.2: an absent salt is HashLen zeros (WebCrypto HMAC rejects empty keys).
    const key = salt.length === 0 ? new Uint8Array(hashLen(hash)) : salt;
    return hmacSign(hash, key, ikm);
  },
  async hkdfExpand(hash, prk, info, length) {
    assertBytes(prk, 'prk');
    assertBytes(info, 'info');
    const n = hashLen(hash);
    assertInt(length, 'length', 1, 255 * n);
    const k = await subtle().importKey('raw', bs(prk), { name: 'HMAC', hash }, false, ['sign']);
    const out = new Uint8Array(length);
    let t = new Uint8Array(0);
    for (let i = 1, off = 0; off < length; i++) {
      const input = new Uint8Array(t.length + info.length + 1);
      input.set(t, 0);
      input.set(info, t.length);
      input[input.length - 1] = i;
      const next = new Uint8Array(await subtle().sign('HMAC', k, input));
      wipe(t, input);
      t = next;
      out.set(t.subarray(0, Math.min(n, length - off)), off);
      off += n;
    }
    wipe(t);
    return out;
  },
  async importAead(suite, key) {
    assertBytes(key, 'key', suite.Nk);
    if (suite.aead === 'aes-gcm') {
      const k = await subtle().importKey('raw', bs(key.slice()), { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
      return new WebCryptoGcm(suite, k);
    }
    const { encKey, authKey } = deriveSubkeys(suite, key);
    const e = encKey.slice();
    const a = authKey.slice();
    try {
      const ek = await subtle().importKey('raw', bs(e), { name: 'AES-CTR' }, false, ['encrypt', 'decrypt']);
      const ak = await subtle().importKey('raw', bs(a), { name: 'HMAC', hash: suite.hash }, false, ['sign']);
      return new WebCryptoCtrHmac(suite, ek, ak);
    } finally {
      wipe(e, a);
    }
  },
};
