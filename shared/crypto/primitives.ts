// What a backend supplies for one suite: hash, HMAC, HKDF, AEAD, a Diffie-Hellman group and a
// signature scheme. The generic layers (hpke.ts, suite.ts) build HPKE and the CipherSuite on top,
// so every backend shares one implementation of RFC 9180 and of the input checks.

import type { Aead, HashFunction, Kdf, KeyPair, SignatureScheme, SuiteId } from './types.js';

export type DhName = 'X25519' | 'X448' | 'P-256' | 'P-384' | 'P-521';
export type HashName = 'SHA-256' | 'SHA-384' | 'SHA-512';
export type AeadName = 'AES-128-GCM' | 'AES-256-GCM' | 'ChaCha20-Poly1305';
export type SignatureName = SignatureScheme['name'];

/**
 * A Diffie-Hellman group for DHKEM (RFC 9180 §4.1). Keys are in the serialized formats of
 * RFC 9180 §7.1.1-7.1.2. Implementations check that public keys are valid points (P-curves:
 * on the curve, not infinity); the generic layer checks lengths and the all-zero output.
 */
export interface DhGroup {
  readonly name: DhName;
  /** Npk (= Nenc). */
  readonly Npk: number;
  /** Nsk. */
  readonly Nsk: number;
  /** Ndh: length of the DH output. */
  readonly Ndh: number;
  generateKeyPair(): Promise<KeyPair>;
  publicKeyFromPrivate(privateKey: Uint8Array): Promise<Uint8Array>;
  dh(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;
  /**
   * Optional fast path for Encap (RFC 9180 §4.1): a fresh ephemeral key pair and DH(skE, pkR)
   * in one call; the ephemeral private key never leaves the backend.
   */
  ephemeralDh?(publicKey: Uint8Array): Promise<{ publicKey: Uint8Array; dh: Uint8Array }>;
}

export interface SuitePrimitives {
  readonly backend: string;
  readonly hash: HashFunction;
  hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  readonly kdf: Kdf;
  readonly aead: Aead;
  readonly dh: DhGroup;
  readonly signature: SignatureScheme;
}

/** Static parameters of each suite (RFC 9420 §17.1, RFC 9180 §7). */
export interface SuiteParams {
  readonly id: SuiteId;
  readonly hash: HashName;
  readonly Nh: number;
  readonly aead: AeadName;
  readonly Nk: number;
  readonly dh: DhName;
  readonly signature: SignatureName;
  /** RFC 9180 §7.1 KEM id, §7.2 KDF id, §7.3 AEAD id. */
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
}

export const SUITE_PARAMS: Readonly<Record<SuiteId, SuiteParams>> = {
  1: { id: 1, hash: 'SHA-256', Nh: 32, aead: 'AES-128-GCM', Nk: 16, dh: 'X25519', signature: 'Ed25519', kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0001 },
  2: { id: 2, hash: 'SHA-256', Nh: 32, aead: 'AES-128-GCM', Nk: 16, dh: 'P-256', signature: 'ECDSA-P256-SHA256', kemId: 0x0010, kdfId: 0x0001, aeadId: 0x0001 },
  3: { id: 3, hash: 'SHA-256', Nh: 32, aead: 'ChaCha20-Poly1305', Nk: 32, dh: 'X25519', signature: 'Ed25519', kemId: 0x0020, kdfId: 0x0001, aeadId: 0x0003 },
  4: { id: 4, hash: 'SHA-512', Nh: 64, aead: 'AES-256-GCM', Nk: 32, dh: 'X448', signature: 'Ed448', kemId: 0x0021, kdfId: 0x0003, aeadId: 0x0002 },
  5: { id: 5, hash: 'SHA-512', Nh: 64, aead: 'AES-256-GCM', Nk: 32, dh: 'P-521', signature: 'ECDSA-P521-SHA512', kemId: 0x0012, kdfId: 0x0003, aeadId: 0x0002 },
  6: { id: 6, hash: 'SHA-512', Nh: 64, aead: 'ChaCha20-Poly1305', Nk: 32, dh: 'X448', signature: 'Ed448', kemId: 0x0021, kdfId: 0x0003, aeadId: 0x0003 },
  7: { id: 7, hash: 'SHA-384', Nh: 48, aead: 'AES-256-GCM', Nk: 32, dh: 'P-384', signature: 'ECDSA-P384-SHA384', kemId: 0x0011, kdfId: 0x0002, aeadId: 0x0002 },
};

/** RFC 9180 §7.1: Npk, Nsk, Ndh per DH group; Nsecret equals the KEM hash's Nh. */
export const DH_PARAMS: Readonly<Record<DhName, { Npk: number; Nsk: number; Ndh: number }>> = {
  'X25519': { Npk: 32, Nsk: 32, Ndh: 32 },
  'X448': { Npk: 56, Nsk: 56, Ndh: 56 },
  'P-256': { Npk: 65, Nsk: 32, Ndh: 32 },
  'P-384': { Npk: 97, Nsk: 48, Ndh: 48 },
  'P-521': { Npk: 133, Nsk: 66, Ndh: 66 },
};

/** Signature key lengths: public, private (EdDSA native; ECDSA uncompressed point, scalar). */
export const SIGNATURE_PARAMS: Readonly<Record<SignatureName, { publicKeyLength: number; privateKeyLength: number; curve?: 'P-256' | 'P-384' | 'P-521'; hash?: HashName }>> = {
  'Ed25519': { publicKeyLength: 32, privateKeyLength: 32 },
  'Ed448': { publicKeyLength: 57, privateKeyLength: 57 },
  'ECDSA-P256-SHA256': { publicKeyLength: 65, privateKeyLength: 32, curve: 'P-256', hash: 'SHA-256' },
  'ECDSA-P384-SHA384': { publicKeyLength: 97, privateKeyLength: 48, curve: 'P-384', hash: 'SHA-384' },
  'ECDSA-P521-SHA512': { publicKeyLength: 133, privateKeyLength: 66, curve: 'P-521', hash: 'SHA-512' },
};

/** Group orders of the NIST curves (FIPS 186-4 / SEC 2), for DeriveKeyPair and scalar checks. */
export const CURVE_ORDER: Readonly<Record<'P-256' | 'P-384' | 'P-521', bigint>> = {
  'P-256': 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  'P-384': 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  'P-521': 0x01fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** Checks a big-endian scalar is in [1, n-1] without early exit on the value. */
export function isValidScalar(bytes: Uint8Array, order: bigint): boolean {
  let v = 0n;
  for (let i = 0; i < bytes.length; i++) v = (v << 8n) | BigInt(bytes[i]!);
  return v > 0n && v < order;
}

/** Fresh random bytes from globalThis.crypto (Node >= 20, browsers, workers). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  globalThis.crypto.getRandomValues(out);
  return out;
}
