// node:crypto backend for shared/crypto (OpenSSL): every suite, every algorithm native.
// Lives outside shared/ (node:* import) and is injected:
//   import { setDefaultCryptoBackend } from '../../shared/crypto/index.js';
//   import { nodeCryptoProvider } from './mls-node.js';
//   setDefaultCryptoBackend(nodeCryptoProvider);
// The generic layers of shared/crypto (HPKE RFC 9180, input checks, labeled operations) run on top
// of these primitives, exactly as for the noble and WebCrypto backends.
//
// Key formats in and out are the RFC 9420 ones (raw / SEC1 / big-endian scalar, see types.ts);
// they are wrapped in PKCS #8 / SPKI DER (shared/crypto/der.ts) to build KeyObjects, which are
// cached. Outputs are copied out of node Buffers into plain Uint8Arrays (Buffer#slice is a view).

import * as nc from 'node:crypto';
import { wipe } from '../../shared/bytes/index.js';
import { PrivateKeyCache, PublicKeyCache } from '../../shared/crypto/cache.js';
import { pkcs8, type KeyAlgorithm } from '../../shared/crypto/der.js';
import {
  DH_PARAMS, SIGNATURE_PARAMS, SUITE_PARAMS, type AeadName, type DhGroup, type DhName, type HashName, type SignatureName,
  type SuitePrimitives,
} from '../../shared/crypto/primitives.js';
import { buildCipherSuite } from '../../shared/crypto/suite.js';
import {
  CryptoError, isSuiteId, type Aead, type CipherSuite, type CryptoProvider, type HashFunction, type Kdf, type KeyPair,
  type SignatureScheme, type SuiteId,
} from '../../shared/crypto/types.js';

const NODE_HASH: Record<HashName, string> = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const HASH_LEN: Record<HashName, number> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };
const NODE_CURVE: Record<'P-256' | 'P-384' | 'P-521', string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

/** A plain Uint8Array copy of a node Buffer (wipes the Buffer, which may be pooled). */
function out(b: Buffer): Uint8Array {
  const u = new Uint8Array(b.length);
  u.set(b);
  b.fill(0);
  return u;
}

function nodeHash(name: HashName): HashFunction {
  const alg = NODE_HASH[name];
  return { name, outputLength: HASH_LEN[name], digest: async (data) => out(nc.createHash(alg).update(data).digest()) };
}

function hmacSync(alg: string, key: Uint8Array, data: Uint8Array): Uint8Array {
  return out(nc.createHmac(alg, key).update(data).digest());
}

function nodeKdf(name: HashName): Kdf {
  const alg = NODE_HASH[name];
  const Nh = HASH_LEN[name];
  return {
    Nh,
    // HKDF-Extract (RFC 5869 §2.2): HMAC(salt, IKM); an empty salt is HashLen zeros (same HMAC key).
    extract: async (salt, ikm) => hmacSync(alg, salt, ikm),
    // HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i-1) || info || i).
    async expand(prk, info, length) {
      const n = Math.ceil(length / Nh);
      const okm = new Uint8Array(n * Nh);
      let prev: Buffer | undefined;
      const counter = new Uint8Array(1);
      for (let i = 1; i <= n; i++) {
        const h = nc.createHmac(alg, prk);
        if (prev !== undefined) h.update(prev);
        counter[0] = i;
        h.update(info).update(counter);
        const t = h.digest();
        okm.set(t, (i - 1) * Nh);
        prev?.fill(0);
        prev = t;
      }
      prev?.fill(0);
      if (okm.length === length) return okm;
      const result = okm.slice(0, length);
      wipe(okm);
      return result;
    },
  };
}

function nodeAead(name: AeadName): Aead {
  const cipher = name === 'AES-128-GCM' ? 'aes-128-gcm' : name === 'AES-256-GCM' ? 'aes-256-gcm' : 'chacha20-poly1305';
  const Nk = name === 'AES-128-GCM' ? 16 : 32;
  return {
    name,
    Nk,
    Nn: 12,
    Nt: 16,
    async seal(key, nonce, aad, plaintext) {
      const c = nc.createCipheriv(cipher as nc.CipherGCMTypes, key, nonce, { authTagLength: 16 });
      c.setAAD(aad, { plaintextLength: plaintext.length });
      const a = c.update(plaintext);
      const b = c.final();
      const tag = c.getAuthTag();
      const result = new Uint8Array(a.length + b.length + 16);
      result.set(a, 0);
      result.set(b, a.length);
      result.set(tag, a.length + b.length);
      return result;
    },
    async open(key, nonce, aad, ciphertext) {
      const ctLen = ciphertext.length - 16;
      const d = nc.createDecipheriv(cipher as nc.CipherGCMTypes, key, nonce, { authTagLength: 16 });
      d.setAuthTag(ciphertext.subarray(ctLen));
      d.setAAD(aad, { plaintextLength: ctLen });
      const a = d.update(ciphertext.subarray(0, ctLen));
      try {
        const b = d.final();
        const result = new Uint8Array(a.length + b.length);
        result.set(a, 0);
        result.set(b, a.length);
        return result;
      } catch (cause) {
        throw new CryptoError('aead-open-failed', `${name} tag did not verify`, { cause });
      } finally {
        a.fill(0);
      }
    },
  };
}

// Key import: node's JWK import is 5-30x faster than PKCS #8 / SPKI DER here (OpenSSL 3's DER decoder
// dominates: measured ~1-3 ms per DER import vs 30-190 us per JWK import under load), and MLS imports
// many distinct keys (one signature key per member, fresh HPKE node keys every commit).
const b64u = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url');

const OKP_PUBLIC_LENGTH: Record<'X25519' | 'X448' | 'Ed25519' | 'Ed448', number> = { X25519: 32, X448: 56, Ed25519: 32, Ed448: 57 };
/** Set when this node version rejects the OKP JWK private import below; PKCS #8 DER is used from then on. */
let okpJwkPrivateUnsupported = false;

function privateKeyObject(alg: KeyAlgorithm, sk: Uint8Array): nc.KeyObject {
  try {
    if (alg === 'P-256' || alg === 'P-384' || alg === 'P-521') {
      // EC JWK needs the public point: node's ECDH class derives it from the scalar (one native mult).
      const e = nc.createECDH(NODE_CURVE[alg]);
      e.setPrivateKey(sk);
      const pub = e.getPublicKey();
      const n = (pub.length - 1) / 2;
      return nc.createPrivateKey({ key: { kty: 'EC', crv: alg, d: b64u(sk), x: b64u(pub.subarray(1, 1 + n)), y: b64u(pub.subarray(1 + n)) }, format: 'jwk' });
    }
    if (!okpJwkPrivateUnsupported) {
      // OKP private JWK: node requires an `x` member but builds the key from `d` alone (OpenSSL
      // EVP_PKEY_new_raw_private_key derives the public key), so a placeholder x is given. The
      // vector and cross-backend tests check that the derived public key and signatures are right.
      try {
        return nc.createPrivateKey({ key: { kty: 'OKP', crv: alg, d: b64u(sk), x: b64u(new Uint8Array(OKP_PUBLIC_LENGTH[alg])) }, format: 'jwk' });
      } catch {
        okpJwkPrivateUnsupported = true;
      }
    }
    const der = pkcs8(alg, sk);
    try {
      return nc.createPrivateKey({ key: Buffer.from(der.buffer, der.byteOffset, der.length), format: 'der', type: 'pkcs8' });
    } finally {
      wipe(der);
    }
  } catch (cause) {
    if (cause instanceof CryptoError) throw cause;
    throw new CryptoError('invalid-private-key', `${alg} private key rejected`, { cause });
  }
}

function publicKeyObject(alg: KeyAlgorithm, pk: Uint8Array): nc.KeyObject {
  try {
    if (alg === 'P-256' || alg === 'P-384' || alg === 'P-521') {
      const n = (pk.length - 1) / 2;
      if (pk[0] !== 0x04 || !Number.isInteger(n)) throw new CryptoError('invalid-public-key', `${alg} public key must be an uncompressed point`);
      // Node checks the point is on the curve on JWK import.
      return nc.createPublicKey({ key: { kty: 'EC', crv: alg, x: b64u(pk.subarray(1, 1 + n)), y: b64u(pk.subarray(1 + n)) }, format: 'jwk' });
    }
    return nc.createPublicKey({ key: { kty: 'OKP', crv: alg, x: b64u(pk) }, format: 'jwk' });
  } catch (cause) {
    if (cause instanceof CryptoError) throw cause;
    throw new CryptoError('invalid-public-key', `${alg} public key rejected`, { cause });
  }
}

/** Raw public key of an OKP KeyObject (X25519/X448/Ed25519/Ed448), via JWK export (x). */
function rawOkpPublic(key: nc.KeyObject, length: number): Uint8Array {
  const jwk = (key.type === 'private' ? nc.createPublicKey(key) : key).export({ format: 'jwk' });
  const x = out(Buffer.from(jwk.x ?? '', 'base64url'));
  if (x.length !== length) throw new CryptoError('unsupported-algorithm', 'unexpected public key export');
  return x;
}

/** Diagnostics for tests: whether the fast OKP JWK private-key import path is in use. */
export function nodeCryptoDiagnostics(): { okpJwkPrivateImport: boolean } {
  return { okpJwkPrivateImport: !okpJwkPrivateUnsupported };
}

/**
 * A fresh OKP key pair (X25519/X448/Ed25519/Ed448) from random bytes: any Nsk random bytes are a valid private
 * key for these algorithms (RFC 7748 §5 clamps at use; RFC 8032 §5.1.5 hashes the seed), and the public key
 * comes from the JWK import path the private-key cache uses anyway. Not crypto.generateKeyPairSync plus key
 * exports: on Node 20 (OpenSSL 3) that sequence hangs the process after some thousands of keys (a reproducer
 * generating Ed25519 pairs and exporting each as JWK and PKCS #8 stops within a second; bench runs at 10,000
 * members stopped idle), while this path ran 460,000 pairs cleanly, also alongside thread-pool verifications.
 */
function okpKeyPair(alg: 'X25519' | 'X448' | 'Ed25519' | 'Ed448', privateKeyLength: number): { privateKey: Uint8Array; publicKey: Uint8Array; key: nc.KeyObject } {
  const privateKey = new Uint8Array(privateKeyLength);
  nc.randomFillSync(privateKey);
  const key = privateKeyObject(alg, privateKey);
  return { privateKey, publicKey: rawOkpPublic(key, OKP_PUBLIC_LENGTH[alg]), key };
}

function nodeDh(name: DhName): DhGroup {
  const { Npk, Nsk, Ndh } = DH_PARAMS[name];
  if (name === 'X25519' || name === 'X448') {
    const privKeys = new PrivateKeyCache<nc.KeyObject>();
    const pubKeys = new PublicKeyCache<nc.KeyObject>();
    const priv = (sk: Uint8Array) => privKeys.get(sk, async (b) => privateKeyObject(name, b));
    const pub = (pk: Uint8Array) => pubKeys.get(pk, async (b) => publicKeyObject(name, b));
    return {
      name, Npk, Nsk, Ndh,
      async generateKeyPair(): Promise<KeyPair> {
        const { privateKey, publicKey } = okpKeyPair(name, Nsk);
        return { privateKey, publicKey };
      },
      publicKeyFromPrivate: async (sk) => rawOkpPublic(await priv(sk), Npk),
      dh: async (sk, pk) => out(nc.diffieHellman({ privateKey: await priv(sk), publicKey: await pub(pk) })),
      async ephemeralDh(pk) {
        const pair = okpKeyPair(name, Nsk);
        try {
          const dh = out(nc.diffieHellman({ privateKey: pair.key, publicKey: await pub(pk) }));
          return { publicKey: pair.publicKey, dh };
        } finally {
          wipe(pair.privateKey);
        }
      },
    };
  }
  // P-curves: node's ECDH class takes the raw scalar and the SEC1 point directly and checks the
  // point is on the curve (ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY). setPrivateKey() costs a scalar
  // multiplication (it computes the public key), so the ECDH object is cached per private key:
  // publicKeyFromPrivate (DeriveKeyPair) then DH with the same key array costs one multiplication each.
  const curve = NODE_CURVE[name];
  const ecdhObjects = new PrivateKeyCache<nc.ECDH>();
  const withKey = async <T>(sk: Uint8Array, fn: (e: nc.ECDH) => T): Promise<T> => {
    const e = await ecdhObjects.get(sk, async (b) => {
      const obj = nc.createECDH(curve);
      try {
        obj.setPrivateKey(b);
      } catch (cause) {
        throw new CryptoError('invalid-private-key', `${name} private key rejected`, { cause });
      }
      return obj;
    });
    return fn(e);
  };
  const compute = (e: nc.ECDH, pk: Uint8Array): Uint8Array => {
    try {
      return out(e.computeSecret(pk));
    } catch (cause) {
      throw new CryptoError('invalid-public-key', `${name} public key is not a valid point`, { cause });
    }
  };
  const fixed = (b: Buffer): Uint8Array => {
    // getPrivateKey() drops leading zero bytes; SerializePrivateKey is fixed-length (RFC 9180 §7.1.2).
    const r = new Uint8Array(Nsk);
    r.set(b, Nsk - b.length);
    b.fill(0);
    return r;
  };
  return {
    name, Npk, Nsk, Ndh,
    async generateKeyPair() {
      const e = nc.createECDH(curve);
      const publicKey = out(e.generateKeys());
      return { privateKey: fixed(e.getPrivateKey()), publicKey };
    },
    publicKeyFromPrivate: (sk) => withKey(sk, (e) => out(e.getPublicKey())),
    dh: (sk, pk) => withKey(sk, (e) => compute(e, pk)),
    async ephemeralDh(pk) {
      const e = nc.createECDH(curve);
      const publicKey = out(e.generateKeys());
      return { publicKey, dh: compute(e, pk) };
    },
  };
}

/** Signature verifications started (verify() entered) and not yet finished, over all suites. */
let verificationsInFlight = 0;

/**
 * crypto.verify in its callback form runs on libuv's thread pool: a caller that starts many verifications
 * at once (joining a group checks every leaf signature, RFC 9420 §12.4.3.1) gets them in parallel and off
 * its own thread. A verification with no other one in flight (processing one commit checks one or two
 * signatures, one after the other) runs synchronously instead: the thread-pool round trip costs more than
 * the verification itself (measured ~0.1 ms Ed25519 verify, 0.2-1 ms pool hop on a loaded 2-core machine).
 * The result is the same either way. Any error (a malformed signature or key) is a failed verification,
 * as in the sync form.
 */
function verifyMaybeOffThread(
  algorithm: string | null,
  msg: Uint8Array,
  key: nc.KeyObject | nc.VerifyKeyObjectInput,
  sig: Uint8Array,
): Promise<boolean> {
  if (verificationsInFlight <= 1) {
    try {
      return Promise.resolve(nc.verify(algorithm, msg, key, sig));
    } catch {
      return Promise.resolve(false);
    }
  }
  return new Promise((resolve) => {
    try {
      nc.verify(algorithm, msg, key, sig, (err, ok) => resolve(err ? false : ok));
    } catch {
      resolve(false);
    }
  });
}

/** Runs one verification, counted in verificationsInFlight from its start (before any await) to its end. */
async function countedVerification(run: () => Promise<boolean>): Promise<boolean> {
  verificationsInFlight++;
  try {
    return await run();
  } finally {
    verificationsInFlight--;
  }
}

/** A counted verification with a cached public KeyObject; a key that does not import fails verification. */
function cachedVerify(
  pubKeys: PublicKeyCache<nc.KeyObject>,
  pk: Uint8Array,
  make: (pk: Uint8Array) => nc.KeyObject,
  run: (key: nc.KeyObject) => Promise<boolean>,
): Promise<boolean> {
  return countedVerification(async () => {
    let key: nc.KeyObject;
    try {
      key = await pubKeys.get(pk, async (b) => make(b));
    } catch {
      return false;
    }
    return run(key);
  });
}

function nodeSignature(name: SignatureName): SignatureScheme {
  const params = SIGNATURE_PARAMS[name];
  const privKeys = new PrivateKeyCache<nc.KeyObject>();
  const pubKeys = new PublicKeyCache<nc.KeyObject>();
  const n = params.privateKeyLength;
  if (name === 'Ed25519' || name === 'Ed448') {
    const priv = (sk: Uint8Array) => privKeys.get(sk, async (b) => privateKeyObject(name, b));
    return {
      name,
      publicKeyLength: params.publicKeyLength,
      privateKeyLength: n,
      async generateKeyPair() {
        const { privateKey, publicKey } = okpKeyPair(name, n);
        return { privateKey, publicKey };
      },
      sign: async (sk, msg) => out(nc.sign(null, msg, await priv(sk))),
      verify: (pk, msg, sig) => cachedVerify(pubKeys, pk, (b) => publicKeyObject(name, b), (key) => verifyMaybeOffThread(null, msg, key, sig)),
      publicKeyFromPrivate: async (sk) => rawOkpPublic(await priv(sk), params.publicKeyLength),
    };
  }
  const curve = params.curve!;
  const digest = NODE_HASH[params.hash!];
  const priv = (sk: Uint8Array) => privKeys.get(sk, async (b) => privateKeyObject(curve, b));
  return {
    name,
    publicKeyLength: params.publicKeyLength,
    privateKeyLength: n,
    async generateKeyPair() {
      const e = nc.createECDH(NODE_CURVE[curve]);
      const publicKey = out(e.generateKeys());
      const raw = e.getPrivateKey();
      const privateKey = new Uint8Array(n);
      privateKey.set(raw, n - raw.length);
      raw.fill(0);
      return { privateKey, publicKey };
    },
    // RFC 9420 §5.1.2: DER-encoded ECDSA signature over the suite hash of the message.
    sign: async (sk, msg) => out(nc.sign(digest, msg, { key: await priv(sk), dsaEncoding: 'der' })),
    verify: (pk, msg, sig) =>
      cachedVerify(pubKeys, pk, (b) => publicKeyObject(curve, b), (key) => verifyMaybeOffThread(digest, msg, { key, dsaEncoding: 'der' }, sig)),
    async publicKeyFromPrivate(sk) {
      const e = nc.createECDH(NODE_CURVE[curve]);
      try {
        e.setPrivateKey(sk);
      } catch (cause) {
        throw new CryptoError('invalid-private-key', `${name} private key rejected`, { cause });
      }
      return out(e.getPublicKey());
    },
  };
}

export function nodePrimitives(id: SuiteId): SuitePrimitives {
  const p = SUITE_PARAMS[id];
  const alg = NODE_HASH[p.hash];
  return {
    backend: 'node',
    hash: nodeHash(p.hash),
    hmac: async (key, data) => hmacSync(alg, key, data),
    kdf: nodeKdf(p.hash),
    aead: nodeAead(p.aead),
    dh: nodeDh(p.dh),
    signature: nodeSignature(p.signature),
  };
}

const cache = new Map<SuiteId, CipherSuite>();

/** The node:crypto provider: pass it to getCipherSuite(id, nodeCryptoProvider) or setDefaultCryptoBackend. */
export const nodeCryptoProvider: CryptoProvider = Object.freeze({
  name: 'node',
  getCipherSuite(id: SuiteId): CipherSuite {
    if (!isSuiteId(id)) throw new CryptoError('unsupported-suite', `cipher suite ${String(id)} is not one of RFC 9420 §17.1 suites 1..7`);
    let s = cache.get(id);
    if (s === undefined) {
      s = buildCipherSuite(id, nodePrimitives(id));
      cache.set(id, s);
    }
    return s;
  },
});
