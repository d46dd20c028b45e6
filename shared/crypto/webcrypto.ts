// WebCrypto backend (globalThis.crypto.subtle; Node >= 20, Chromium, Firefox, Safari, workers).
// Uses SubtleCrypto where the algorithm exists: SHA-2, HMAC, AES-GCM, X25519, ECDH P-256/384/521,
// Ed25519, ECDSA. Falls back to noble for X448, Ed448 and ChaCha20-Poly1305 (not in WebCrypto), and
// per algorithm when the runtime lacks it (e.g. X25519/Ed25519 in older browsers): the first call
// probes the runtime and, on NotSupportedError, switches that algorithm to noble for good.
// Imported CryptoKeys are cached (cache.ts). ECDSA signatures are converted between DER (MLS) and
// IEEE P1363 r || s (WebCrypto).
//
// Hash, HMAC and HKDF on inputs shorter than SUBTLE_MIN_BYTES run on noble: each SubtleCrypto call
// is a promise round trip through a thread pool (measured in Node 20 here: SHA-256 of 64 bytes
// ~185 us via subtle vs ~5 us noble; HMAC ~175 us vs ~11 us), and MLS key schedules do thousands
// of tiny HMACs. Large inputs (ratchet trees, GroupInfo of big groups) go to native SHA-2.

import { wipe } from '../bytes/index.js';
import { PrivateKeyCache, PublicKeyCache } from './cache.js';
import { derToP1363, p1363ToDer, pkcs8, type KeyAlgorithm } from './der.js';
import { nobleAead, nobleDh, nobleHash, nobleHmac, nobleKdf, noblePrimitives, nobleSignature } from './noble.js';
import {
  DH_PARAMS, SIGNATURE_PARAMS, SUITE_PARAMS, type AeadName, type DhGroup, type DhName, type HashName, type SignatureName,
  type SuitePrimitives,
} from './primitives.js';
import { CryptoError, type Aead, type HashFunction, type Kdf, type KeyPair, type SignatureScheme, type SuiteId } from './types.js';

function subtle(): SubtleCrypto {
  const s = globalThis.crypto?.subtle;
  if (s === undefined) throw new CryptoError('unsupported-algorithm', 'globalThis.crypto.subtle is not available');
  return s;
}

export function hasSubtle(): boolean {
  return globalThis.crypto?.subtle !== undefined;
}

/** WebCrypto wants ArrayBuffer-backed views; TS 5.9's BufferSource excludes SharedArrayBuffer views. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>;
}

const HASH_LEN: Record<HashName, number> = { 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 };

/** Inputs at least this long are hashed / MACed by SubtleCrypto; shorter ones by noble (see above). */
export const SUBTLE_MIN_BYTES = 16384;

function webHash(name: HashName): HashFunction {
  const noble = nobleHash(name);
  return {
    name,
    outputLength: HASH_LEN[name],
    digest: async (data) => data.length < SUBTLE_MIN_BYTES ? noble.digest(data) : new Uint8Array(await subtle().digest(name, buf(data))),
  };
}

function importHmacKey(hash: HashName, key: Uint8Array): Promise<CryptoKey> {
  // WebCrypto rejects empty HMAC keys; HMAC pads keys with zeros, so an empty key equals one zero byte.
  return subtle().importKey('raw', buf(key.length === 0 ? new Uint8Array(1) : key), { name: 'HMAC', hash }, false, ['sign']);
}

function webHmac(hash: HashName): (key: Uint8Array, data: Uint8Array) => Promise<Uint8Array> {
  const noble = nobleHmac(hash);
  return async (key, data) => data.length < SUBTLE_MIN_BYTES
    ? noble(key, data)
    : new Uint8Array(await subtle().sign('HMAC', await importHmacKey(hash, key), buf(data)));
}

/** HKDF (RFC 5869) on WebCrypto HMAC: SubtleCrypto's HKDF fuses extract and expand, MLS needs them apart. */
function webKdf(hash: HashName): Kdf {
  const Nh = HASH_LEN[hash];
  const noble = nobleKdf(hash);
  return {
    Nh,
    // HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM); an empty salt is HashLen zeros (same HMAC key).
    extract: async (salt, ikm) => ikm.length < SUBTLE_MIN_BYTES
      ? noble.extract(salt, ikm)
      : new Uint8Array(await subtle().sign('HMAC', await importHmacKey(hash, salt), buf(ikm))),
    // T(i) = HMAC-Hash(PRK, T(i-1) || info || i), OKM = first L bytes of T(1) || T(2) || ...
    async expand(prk, info, length) {
      if (info.length < SUBTLE_MIN_BYTES) return noble.expand(prk, info, length);
      const key = await importHmacKey(hash, prk);
      const n = Math.ceil(length / Nh);
      const okm = new Uint8Array(n * Nh);
      // input = T(i-1) || info || i; T(0) is empty, so the first round hashes from offset Nh.
      const input = new Uint8Array(Nh + info.length + 1);
      input.set(info, Nh);
      for (let i = 1; i <= n; i++) {
        input[Nh + info.length] = i;
        const t = new Uint8Array(await subtle().sign('HMAC', key, input.subarray(i === 1 ? Nh : 0)));
        okm.set(t, (i - 1) * Nh);
        input.set(t, 0);
        wipe(t);
      }
      wipe(input);
      const out = okm.slice(0, length);
      wipe(okm);
      return out;
    },
  };
}

function webAead(name: AeadName): Aead {
  if (name === 'ChaCha20-Poly1305') return nobleAead(name);
  const Nk = name === 'AES-128-GCM' ? 16 : 32;
  const keys = new PrivateKeyCache<CryptoKey>();
  const key = (k: Uint8Array) => keys.get(k, (b) => subtle().importKey('raw', buf(b), 'AES-GCM', false, ['encrypt', 'decrypt']));
  return {
    name,
    Nk,
    Nn: 12,
    Nt: 16,
    seal: async (k, nonce, aad, pt) =>
      new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 }, await key(k), buf(pt))),
    async open(k, nonce, aad, ct) {
      const cryptoKey = await key(k);
      try {
        return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv: buf(nonce), additionalData: buf(aad), tagLength: 128 }, cryptoKey, buf(ct)));
      } catch (cause) {
        throw new CryptoError('aead-open-failed', `${name} tag did not verify`, { cause });
      }
    },
  };
}

// ---- Base64url for JWK fields ----
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
function fromBase64Url(text: string): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const ch of text) {
    const v = B64URL.indexOf(ch);
    if (v < 0) throw new CryptoError('unsupported-algorithm', 'unexpected JWK encoding');
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

const fallbacks = new Set<string>();

/** Algorithms (operation names) that switched to noble because this runtime's WebCrypto lacks them. */
export function webcryptoFallbacks(): string[] {
  return [...fallbacks].sort();
}

/** Runs `web`; if the runtime lacks the algorithm, switches to `fallback` for this and all later calls. */
class Probe {
  private state: 'unknown' | 'web' | 'fallback' = 'unknown';
  constructor(private readonly what: string) {}
  async run<T>(web: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (this.state === 'fallback') return fallback();
    if (this.state === 'web') return web();
    try {
      const r = await web();
      this.state = 'web';
      return r;
    } catch (err) {
      if (err instanceof Error && (err.name === 'NotSupportedError' || err.name === 'TypeError' && /algorithm|curve/i.test(err.message))) {
        this.state = 'fallback';
        fallbacks.add(this.what);
        return fallback();
      }
      throw err;
    }
  }
}

function isCurve(name: string): name is 'P-256' | 'P-384' | 'P-521' {
  return name === 'P-256' || name === 'P-384' || name === 'P-521';
}

/**
 * Imports a raw private key (RFC 9420 vector format) as a CryptoKey via PKCS #8. For P-curves some
 * runtimes require the public key inside; then the JWK form (d, x, y; public computed by noble) is used.
 */
async function importPrivate(alg: KeyAlgorithm, algorithm: AlgorithmIdentifier | EcKeyImportParams, usages: KeyUsage[], sk: Uint8Array, extractable = false): Promise<CryptoKey> {
  const der = pkcs8(alg, sk);
  try {
    return await subtle().importKey('pkcs8', buf(der), algorithm, extractable, usages);
  } catch (err) {
    if (!isCurve(alg)) throw err;
    const pub = nobleDh(alg).publicKeyFromPrivate(sk);
    const p = await pub;
    const n = (p.length - 1) / 2;
    const jwk: JsonWebKey = { kty: 'EC', crv: alg, d: toBase64Url(sk), x: toBase64Url(p.subarray(1, 1 + n)), y: toBase64Url(p.subarray(1 + n)), ext: extractable };
    return subtle().importKey('jwk', jwk, algorithm, extractable, usages);
  } finally {
    wipe(der);
  }
}

function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += B64URL[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += B64URL[(acc << (6 - bits)) & 63];
  return out;
}

/**
 * Set when this runtime cannot export the public point of an EC private key imported without one
 * (Firefox/NSS: OperationError on exportKey('jwk')); noble computes those public keys from then on.
 */
let ecJwkExportUnsupported = false;

/** Public key from a private key: import extractable, export JWK, read x (and y). */
async function publicFromPrivateViaJwk(alg: KeyAlgorithm, algorithm: AlgorithmIdentifier | EcKeyImportParams, usages: KeyUsage[], sk: Uint8Array): Promise<Uint8Array> {
  if (isCurve(alg) && ecJwkExportUnsupported) return nobleDh(alg).publicKeyFromPrivate(sk);
  const key = await importPrivate(alg, algorithm, usages, sk, true);
  let jwk: JsonWebKey;
  try {
    jwk = await subtle().exportKey('jwk', key);
  } catch (err) {
    if (!isCurve(alg)) throw err;
    ecJwkExportUnsupported = true;
    fallbacks.add('EC public key from private key (JWK export)');
    return nobleDh(alg).publicKeyFromPrivate(sk);
  }
  if (jwk.d !== undefined) jwk.d = '';
  if (typeof jwk.x !== 'string') throw new CryptoError('unsupported-algorithm', 'JWK export without x');
  const x = fromBase64Url(jwk.x);
  if (!isCurve(alg)) return x;
  if (typeof jwk.y !== 'string') throw new CryptoError('unsupported-algorithm', 'JWK export without y');
  const y = fromBase64Url(jwk.y);
  const out = new Uint8Array(1 + x.length + y.length);
  out[0] = 0x04;
  out.set(x, 1);
  out.set(y, 1 + x.length);
  return out;
}

function webDh(name: DhName): DhGroup {
  if (name === 'X448') return nobleDh(name);
  const noble = nobleDh(name);
  const { Npk, Nsk, Ndh } = DH_PARAMS[name];
  const algorithm: AlgorithmIdentifier | EcKeyImportParams = name === 'X25519' ? { name: 'X25519' } : { name: 'ECDH', namedCurve: name };
  const privKeys = new PrivateKeyCache<CryptoKey>();
  const pubKeys = new PublicKeyCache<CryptoKey>();
  const probe = new Probe(`${name} DH`);
  const importPriv = (sk: Uint8Array) => privKeys.get(sk, (b) => importPrivate(name, algorithm, ['deriveBits'], b));
  const importPub = (pk: Uint8Array) => pubKeys.get(pk, async (b) => {
    try {
      return await subtle().importKey('raw', buf(b), algorithm, true, []);
    } catch (cause) {
      if (cause instanceof Error && cause.name === 'NotSupportedError') throw cause;
      throw new CryptoError('invalid-public-key', `${name} public key is not a valid point`, { cause });
    }
  });
  const deriveBits = async (priv: CryptoKey, pub: CryptoKey) =>
    new Uint8Array(await subtle().deriveBits({ name: algorithm.name, public: pub } as EcdhKeyDeriveParams, priv, 8 * Ndh));

  async function exportPair(pair: CryptoKeyPair): Promise<KeyPair> {
    const publicKey = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
    const der = new Uint8Array(await subtle().exportKey('pkcs8', pair.privateKey));
    // Both PKCS #8 layouts end with the raw scalar only when the optional public key is absent,
    // so read d from the JWK for P-curves.
    let privateKey: Uint8Array;
    if (name === 'X25519') privateKey = der.slice(der.length - Nsk);
    else {
      const jwk = await subtle().exportKey('jwk', pair.privateKey);
      privateKey = fromBase64Url(jwk.d ?? '');
      jwk.d = '';
    }
    wipe(der);
    if (privateKey.length !== Nsk) throw new CryptoError('unsupported-algorithm', 'unexpected private key export');
    return { privateKey, publicKey };
  }

  return {
    name, Npk, Nsk, Ndh,
    generateKeyPair: () => probe.run(
      async () => exportPair((await subtle().generateKey(algorithm as EcKeyGenParams, true, ['deriveBits'])) as CryptoKeyPair),
      () => noble.generateKeyPair(),
    ),
    publicKeyFromPrivate: (sk) => probe.run(
      () => publicFromPrivateViaJwk(name, algorithm, ['deriveBits'], sk),
      () => noble.publicKeyFromPrivate(sk),
    ),
    dh: (sk, pk) => probe.run(
      async () => deriveBits(await importPriv(sk), await importPub(pk)),
      () => noble.dh(sk, pk),
    ),
    ephemeralDh: (pk) => probe.run(
      async () => {
        const pair = (await subtle().generateKey(algorithm as EcKeyGenParams, false, ['deriveBits'])) as CryptoKeyPair;
        const publicKey = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
        return { publicKey, dh: await deriveBits(pair.privateKey, await importPub(pk)) };
      },
      async () => {
        const eph = await noble.generateKeyPair();
        try {
          return { publicKey: eph.publicKey, dh: await noble.dh(eph.privateKey, pk) };
        } finally {
          wipe(eph.privateKey);
        }
      },
    ),
  };
}

function webSignature(name: SignatureName): SignatureScheme {
  if (name === 'Ed448') return nobleSignature(name);
  const noble = nobleSignature(name);
  const params = SIGNATURE_PARAMS[name];
  const alg: KeyAlgorithm = name === 'Ed25519' ? 'Ed25519' : params.curve!;
  const keyAlgorithm: AlgorithmIdentifier | EcKeyImportParams = name === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: params.curve! };
  const signAlgorithm: AlgorithmIdentifier | EcdsaParams = name === 'Ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: params.hash! };
  const n = params.privateKeyLength;
  const privKeys = new PrivateKeyCache<CryptoKey>();
  const pubKeys = new PublicKeyCache<CryptoKey>();
  const probe = new Probe(`${name} signature`);

  return {
    name,
    publicKeyLength: params.publicKeyLength,
    privateKeyLength: params.privateKeyLength,
    generateKeyPair: () => probe.run(
      async () => {
        const pair = (await subtle().generateKey(keyAlgorithm as EcKeyGenParams, true, ['sign', 'verify'])) as CryptoKeyPair;
        const publicKey = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
        const jwk = await subtle().exportKey('jwk', pair.privateKey);
        const privateKey = fromBase64Url(jwk.d ?? '');
        jwk.d = '';
        if (privateKey.length !== n) throw new CryptoError('unsupported-algorithm', 'unexpected private key export');
        return { privateKey, publicKey };
      },
      () => noble.generateKeyPair(),
    ),
    sign: (sk, msg) => probe.run(
      async () => {
        let key: CryptoKey;
        try {
          key = await privKeys.get(sk, (b) => importPrivate(alg, keyAlgorithm, ['sign'], b));
        } catch (cause) {
          if (cause instanceof Error && cause.name === 'NotSupportedError') throw cause;
          throw new CryptoError('invalid-private-key', `${name} private key rejected`, { cause });
        }
        const sig = new Uint8Array(await subtle().sign(signAlgorithm, key, buf(msg)));
        return name === 'Ed25519' ? sig : p1363ToDer(sig);
      },
      () => noble.sign(sk, msg),
    ),
    verify: (pk, msg, sig) => probe.run(
      async () => {
        let raw: Uint8Array | undefined = sig;
        if (name !== 'Ed25519') {
          raw = derToP1363(sig, n);
          if (raw === undefined) return false;
        } else if (sig.length !== 64) return false;
        let key: CryptoKey;
        try {
          key = await pubKeys.get(pk, (b) => subtle().importKey('raw', buf(b), keyAlgorithm, true, ['verify']));
        } catch (err) {
          if (err instanceof Error && err.name === 'NotSupportedError') throw err;
          return false;
        }
        return subtle().verify(signAlgorithm, key, buf(raw), buf(msg));
      },
      () => noble.verify(pk, msg, sig),
    ),
    publicKeyFromPrivate: (sk) => probe.run(
      () => publicFromPrivateViaJwk(alg, keyAlgorithm, ['sign'], sk),
      () => noble.publicKeyFromPrivate(sk),
    ),
  };
}

export function webcryptoPrimitives(id: SuiteId): SuitePrimitives {
  const p = SUITE_PARAMS[id];
  if (!hasSubtle()) {
    // No SubtleCrypto (e.g. a page served over plain http from a non-localhost origin): noble for everything.
    fallbacks.add('all algorithms (globalThis.crypto.subtle missing)');
    return { ...noblePrimitives(id), backend: 'webcrypto' };
  }
  return {
    backend: 'webcrypto',
    hash: webHash(p.hash),
    hmac: webHmac(p.hash),
    kdf: webKdf(p.hash),
    aead: webAead(p.aead),
    dh: webDh(p.dh),
    signature: webSignature(p.signature),
  };
}
