// SFrame backend on node:crypto (OpenSSL). Lives outside shared/ (Node only) and is injected by Node-side code
// (server tools, load-test participants, tests). RFC 9605 §4.5 (AES-GCM), §4.5.1 (AES-CTR + HMAC, tag checked
// before decrypting). Keys become KeyObjects once per SFrame key (KID).

import { createCipheriv, createDecipheriv, createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { assertBytes, assertInt, equal, wipe } from '../../shared/bytes/index.js';
import { checkAeadArgs, type SFrameAead, type SFrameBackend } from '../../shared/sframe/backend.js';
import { SFrameError } from '../../shared/sframe/errors.js';
import {
  ctrHmacAuthPrefix,
  ctrInitialCounter,
  deriveSubkeys,
  type HashName,
  type SFrameSuite,
} from '../../shared/sframe/suites.js';

const nodeHash = (hash: HashName) => (hash === 'SHA-256' ? 'sha256' : 'sha512');
const hashLen = (hash: HashName) => (hash === 'SHA-256' ? 32 : 64);

function closedError(): SFrameError {
  return new SFrameError('closed', 'AEAD key was destroyed');
}

function toBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

class NodeGcm implements SFrameAead {
  #key: KeyObject | undefined;
  readonly #suite: SFrameSuite;
  readonly #algorithm: 'aes-128-gcm' | 'aes-256-gcm';
  constructor(suite: SFrameSuite, key: Uint8Array) {
    this.#suite = suite;
    this.#algorithm = suite.Nk === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
    this.#key = createSecretKey(key);
  }
  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array> {
    checkAeadArgs(this.#suite, nonce, aad, plaintext);
    if (this.#key === undefined) throw closedError();
    const cipher = createCipheriv(this.#algorithm, this.#key, nonce, { authTagLength: 16 });
    cipher.setAAD(aad);
    // Uninitialised output with its own ArrayBuffer (every byte is written below): saves zero-filling one
    // frame-sized buffer. Returned as a plain Uint8Array view (Buffer#slice would not copy).
    const out = Buffer.allocUnsafeSlow(prefix.length + plaintext.length + 16);
    out.set(prefix, 0);
    const body = cipher.update(plaintext);
    out.set(body, prefix.length);
    const rest = cipher.final();
    out.set(rest, prefix.length + body.length);
    out.set(cipher.getAuthTag(), prefix.length + plaintext.length);
    return toBytes(out);
  }
  async open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null> {
    checkAeadArgs(this.#suite, nonce, aad, ciphertext);
    if (this.#key === undefined) throw closedError();
    if (ciphertext.length < 16) return null;
    const n = ciphertext.length - 16;
    const decipher = createDecipheriv(this.#algorithm, this.#key, nonce, { authTagLength: 16 });
    decipher.setAAD(aad);
    decipher.setAuthTag(ciphertext.subarray(n));
    const body = decipher.update(ciphertext.subarray(0, n));
    try {
      decipher.final(); // verifies the tag (OpenSSL, constant time); throws if it does not match
    } catch {
      body.fill(0);
      return null;
    }
    return toBytes(body);
  }
  destroy(): void {
    this.#key = undefined; // KeyObjects cannot be wiped from JS; dropping the reference releases them
  }
}

class NodeCtrHmac implements SFrameAead {
  #encKey: KeyObject | undefined;
  #authKey: KeyObject | undefined;
  readonly #suite: SFrameSuite;
  constructor(suite: SFrameSuite, key: Uint8Array) {
    this.#suite = suite;
    const { encKey, authKey } = deriveSubkeys(suite, key);
    this.#encKey = createSecretKey(encKey);
    this.#authKey = createSecretKey(authKey);
  }
  #tag(nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
    const mac = createHmac(nodeHash(this.#suite.hash), this.#authKey!)
      .update(ctrHmacAuthPrefix(this.#suite, nonce, aad.length, ct.length))
      .update(aad)
      .update(ct)
      .digest();
    return toBytes(mac).subarray(0, this.#suite.Nt);
  }
  async seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array> {
    checkAeadArgs(this.#suite, nonce, aad, plaintext);
    if (this.#encKey === undefined) throw closedError();
    const Nt = this.#suite.Nt;
    const out = Buffer.allocUnsafeSlow(prefix.length + plaintext.length + Nt);
    out.set(prefix, 0);
    const cipher = createCipheriv('aes-128-ctr', this.#encKey, ctrInitialCounter(nonce));
    const body = cipher.update(plaintext);
    out.set(body, prefix.length);
    out.set(cipher.final(), prefix.length + body.length);
    const ct = out.subarray(prefix.length, prefix.length + plaintext.length);
    out.set(this.#tag(nonce, aad, ct), prefix.length + plaintext.length);
    return toBytes(out);
  }
  async open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null> {
    checkAeadArgs(this.#suite, nonce, aad, ciphertext);
    if (this.#encKey === undefined) throw closedError();
    const Nt = this.#suite.Nt;
    if (ciphertext.length < Nt) return null;
    const inner = ciphertext.subarray(0, ciphertext.length - Nt);
    // Tag first (constant-time compare), decrypt only if it verifies.
    if (!equal(this.#tag(nonce, aad, inner), ciphertext.subarray(ciphertext.length - Nt))) return null;
    const decipher = createDecipheriv('aes-128-ctr', this.#encKey, ctrInitialCounter(nonce));
    const body = decipher.update(inner);
    const rest = decipher.final();
    return rest.length === 0 ? toBytes(body) : toBytes(Buffer.concat([body, rest]));
  }
  destroy(): void {
    this.#encKey = undefined;
    this.#authKey = undefined;
  }
}

function hmacOnce(hash: HashName, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac(nodeHash(hash), key);
  for (const p of parts) h.update(p);
  return toBytes(h.digest());
}

export const nodeSFrameBackend: SFrameBackend = {
  name: 'node',
  async hkdfExtract(hash, salt, ikm) {
    assertBytes(salt, 'salt');
    assertBytes(ikm, 'ikm');
    return hmacOnce(hash, salt.length === 0 ? new Uint8Array(hashLen(hash)) : salt, ikm);
  },
  async hkdfExpand(hash, prk, info, length) {
    assertBytes(prk, 'prk');
    assertBytes(info, 'info');
    const n = hashLen(hash);
    assertInt(length, 'length', 1, 255 * n);
    const out = new Uint8Array(length);
    let t: Uint8Array = new Uint8Array(0);
    for (let i = 1, off = 0; off < length; i++) {
      const next = hmacOnce(hash, prk, t, info, new Uint8Array([i]));
      wipe(t);
      t = next;
      out.set(t.subarray(0, Math.min(n, length - off)), off);
      off += n;
    }
    wipe(t);
    return out;
  },
  async importAead(suite, key) {
    assertBytes(key, 'key', suite.Nk);
    return suite.aead === 'aes-gcm' ? new NodeGcm(suite, key) : new NodeCtrHmac(suite, key);
  },
};
