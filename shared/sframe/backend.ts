// The one small async interface every SFrame crypto backend implements (noble, WebCrypto, node:crypto).
// Keys are imported once per KID (`importAead`) and the returned object is reused for every frame.

import type { HashName, SFrameSuite } from './suites.js';

/** An AEAD key for one SFrame key (one KID), prepared once: RFC 9605 §4.4.3-4.4.4, §4.5. */
export interface SFrameAead {
  /**
   * AEAD.Encrypt(key, nonce, aad, plaintext), returned as `prefix || ciphertext || tag` in one buffer
   * (the caller passes the SFrame header as `prefix`, so no further copy is needed).
   */
  seal(nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, prefix: Uint8Array): Promise<Uint8Array>;
  /**
   * AEAD.Decrypt(key, nonce, aad, ciphertext || tag). Returns null when the tag does not verify; the tag is
   * checked (constant time) before any plaintext is released. For AES-CTR+HMAC, before decrypting.
   */
  open(nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array | null>;
  /** Drops (and where possible wipes) the key material. Later calls throw. */
  destroy(): void;
}

export interface SFrameBackend {
  /** Short name used in test and benchmark output: 'noble', 'webcrypto', 'node'. */
  readonly name: string;
  /** HKDF-Extract (RFC 5869 §2.2). An empty salt means HashLen zero bytes. */
  hkdfExtract(hash: HashName, salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  /** HKDF-Expand (RFC 5869 §2.3). */
  hkdfExpand(hash: HashName, prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
  /** Prepares `key` (AEAD.Nk bytes) for `suite`. The backend copies what it keeps; the caller may wipe `key`. */
  importAead(suite: SFrameSuite, key: Uint8Array): Promise<SFrameAead>;
}

/** Checks the common argument rules of seal/open in one place (backends call it). */
export function checkAeadArgs(suite: SFrameSuite, nonce: Uint8Array, aad: Uint8Array, data: Uint8Array): void {
  if (!(nonce instanceof Uint8Array)) throw new TypeError('nonce must be a Uint8Array');
  if (nonce.length !== suite.Nn) throw new RangeError(`nonce must be ${suite.Nn} bytes, got ${nonce.length}`);
  if (!(aad instanceof Uint8Array)) throw new TypeError('aad must be a Uint8Array');
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
}
