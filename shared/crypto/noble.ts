// The portable backend: @noble/hashes, @noble/curves, @noble/ciphers (pure JS, audited).
// Runs anywhere (Node, browsers, workers); slower than WebCrypto / node:crypto for curve
// operations, so it is the default only because it is always present.

import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { ed25519, x25519 } from '@noble/curves/ed25519.js';
import { ed448, x448 } from '@noble/curves/ed448.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { expand as hkdfExpand, extract as hkdfExtract } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { wipe } from '../bytes/index.js';
import {
  DH_PARAMS, SUITE_PARAMS, type AeadName, type DhGroup, type DhName, type HashName, type SignatureName,
  type SuitePrimitives,
} from './primitives.js';
import { CryptoError, type Aead, type HashFunction, type Kdf, type SignatureScheme, type SuiteId } from './types.js';

export const NOBLE_HASH = { 'SHA-256': sha256, 'SHA-384': sha384, 'SHA-512': sha512 } as const;

export function nobleHash(name: HashName): HashFunction {
  const h = NOBLE_HASH[name];
  return { name, outputLength: h.outputLen, digest: async (data) => h(data) };
}

export function nobleHmac(name: HashName): (key: Uint8Array, data: Uint8Array) => Uint8Array {
  const h = NOBLE_HASH[name];
  return (key, data) => hmac(h, key, data);
}

/** HKDF (RFC 5869). An empty salt is HashLen zero bytes, which HMAC treats identically. */
export function nobleKdf(name: HashName): Kdf {
  const h = NOBLE_HASH[name];
  return {
    Nh: h.outputLen,
    extract: async (salt, ikm) => hkdfExtract(h, ikm, salt),
    expand: async (prk, info, length) => hkdfExpand(h, prk, info, length),
  };
}

export function nobleAead(name: AeadName): Aead {
  const Nk = name === 'AES-128-GCM' ? 16 : 32;
  const make = name === 'ChaCha20-Poly1305' ? chacha20poly1305 : gcm;
  return {
    name,
    Nk,
    Nn: 12,
    Nt: 16,
    seal: async (key, nonce, aad, plaintext) => make(key, nonce, aad).encrypt(plaintext),
    async open(key, nonce, aad, ciphertext) {
      try {
        return make(key, nonce, aad).decrypt(ciphertext);
      } catch (cause) {
        throw new CryptoError('aead-open-failed', `${name} tag did not verify`, { cause });
      }
    },
  };
}

export function nobleDh(name: DhName): DhGroup {
  const { Npk, Nsk, Ndh } = DH_PARAMS[name];
  if (name === 'X25519' || name === 'X448') {
    const c = name === 'X25519' ? x25519 : x448;
    return {
      name, Npk, Nsk, Ndh,
      async generateKeyPair() {
        const sk = c.utils.randomSecretKey();
        return { privateKey: sk, publicKey: c.getPublicKey(sk) };
      },
      publicKeyFromPrivate: async (sk) => c.getPublicKey(sk),
      dh: async (sk, pk) => c.getSharedSecret(sk, pk),
    };
  }
  const c = name === 'P-256' ? p256 : name === 'P-384' ? p384 : p521;
  return {
    name, Npk, Nsk, Ndh,
    async generateKeyPair() {
      const sk = c.utils.randomSecretKey();
      return { privateKey: sk, publicKey: c.getPublicKey(sk, false) };
    },
    async publicKeyFromPrivate(sk) {
      try {
        return c.getPublicKey(sk, false);
      } catch (cause) {
        throw new CryptoError('invalid-private-key', `${name} private key is not a valid scalar`, { cause });
      }
    },
    async dh(sk, pk) {
      let point: Uint8Array;
      try {
        point = c.getSharedSecret(sk, pk, false);
      } catch (cause) {
        throw new CryptoError('invalid-public-key', `${name} public key is not a valid point`, { cause });
      }
      // RFC 9180 §7.1.3: the DH output is the x-coordinate (Ndh bytes after the 0x04 prefix).
      const x = point.slice(1, 1 + Ndh);
      wipe(point);
      return x;
    },
  };
}

export function nobleSignature(name: SignatureName): SignatureScheme {
  if (name === 'Ed25519' || name === 'Ed448') {
    const c = name === 'Ed25519' ? ed25519 : ed448;
    const len = name === 'Ed25519' ? 32 : 57;
    return {
      name,
      publicKeyLength: len,
      privateKeyLength: len,
      async generateKeyPair() {
        const sk = c.utils.randomSecretKey();
        return { privateKey: sk, publicKey: c.getPublicKey(sk) };
      },
      sign: async (sk, msg) => c.sign(msg, sk),
      // RFC 8032 §5.1.7 verification (noble: zip215 off = strict RFC 8032 for ed25519).
      verify: async (pk, msg, sig) => c.verify(sig, msg, pk, { zip215: false }),
      publicKeyFromPrivate: async (sk) => c.getPublicKey(sk),
    };
  }
  const c = name === 'ECDSA-P256-SHA256' ? p256 : name === 'ECDSA-P384-SHA384' ? p384 : p521;
  const len = c.lengths.secretKey ?? 32;
  return {
    name,
    publicKeyLength: c.lengths.publicKeyUncompressed ?? 2 * len + 1,
    privateKeyLength: len,
    async generateKeyPair() {
      const sk = c.utils.randomSecretKey();
      return { privateKey: sk, publicKey: c.getPublicKey(sk, false) };
    },
    // RFC 9420 §5.1.2: DER-encoded ECDSA over hash(message); RFC 6979 deterministic k with noble.
    async sign(sk, msg) {
      try {
        return c.sign(msg, sk, { format: 'der', lowS: false });
      } catch (cause) {
        throw new CryptoError('invalid-private-key', `${name} private key is not a valid scalar`, { cause });
      }
    },
    // lowS: false, so signatures from WebCrypto / OpenSSL (either s half) verify.
    verify: async (pk, msg, sig) => c.verify(sig, msg, pk, { format: 'der', lowS: false }),
    async publicKeyFromPrivate(sk) {
      try {
        return c.getPublicKey(sk, false);
      } catch (cause) {
        throw new CryptoError('invalid-private-key', `${name} private key is not a valid scalar`, { cause });
      }
    },
  };
}

export function noblePrimitives(id: SuiteId): SuitePrimitives {
  const p = SUITE_PARAMS[id];
  const h = nobleHmac(p.hash);
  return {
    backend: 'noble',
    hash: nobleHash(p.hash),
    hmac: async (key, data) => h(key, data),
    kdf: nobleKdf(p.hash),
    aead: nobleAead(p.aead),
    dh: nobleDh(p.dh),
    signature: nobleSignature(p.signature),
  };
}
