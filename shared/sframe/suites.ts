// SFrame cipher suites, RFC 9605 §4.5 (constants) and §8.1 (IANA code points).
//
// | Name                       | Nh | Nka | Nk | Nn | Nt |
// | AES_128_CTR_HMAC_SHA256_80 | 32 | 16  | 48 | 12 | 10 |
// | AES_128_CTR_HMAC_SHA256_64 | 32 | 16  | 48 | 12 |  8 |
// | AES_128_CTR_HMAC_SHA256_32 | 32 | 16  | 48 | 12 |  4 |
// | AES_128_GCM_SHA256_128     | 32 | n/a | 16 | 12 | 16 |
// | AES_256_GCM_SHA512_128     | 64 | n/a | 32 | 12 | 16 |

import { SFrameError } from './errors.js';

/** RFC 9605 §8.1 "SFrame Cipher Suites" registry values. */
export const SFrameCipherSuite = {
  AES_128_CTR_HMAC_SHA256_80: 0x0001,
  AES_128_CTR_HMAC_SHA256_64: 0x0002,
  AES_128_CTR_HMAC_SHA256_32: 0x0003,
  AES_128_GCM_SHA256_128: 0x0004,
  AES_256_GCM_SHA512_128: 0x0005,
} as const;

export type SFrameSuiteId = (typeof SFrameCipherSuite)[keyof typeof SFrameCipherSuite];
export type HashName = 'SHA-256' | 'SHA-512';

export interface SFrameSuite {
  readonly id: SFrameSuiteId;
  readonly name: keyof typeof SFrameCipherSuite;
  /** Hash for HKDF (and for the HMAC of the AES-CTR suites). */
  readonly hash: HashName;
  /** Hash.Nh: hash output size in bytes. */
  readonly Nh: number;
  /** AEAD.Nka: AES key size of the AES-CTR+HMAC compound AEAD (RFC 9605 §4.5.1); 0 for GCM. */
  readonly Nka: number;
  /** AEAD.Nk: AEAD key size (for the compound AEAD: Nka + Nh). Also the MLS exporter length (§5.2). */
  readonly Nk: number;
  /** AEAD.Nn: nonce size. */
  readonly Nn: number;
  /** AEAD.Nt: tag size (overhead). */
  readonly Nt: number;
  readonly aead: 'aes-ctr-hmac' | 'aes-gcm';
}

const SUITES: Record<SFrameSuiteId, SFrameSuite> = {
  1: { id: 1, name: 'AES_128_CTR_HMAC_SHA256_80', hash: 'SHA-256', Nh: 32, Nka: 16, Nk: 48, Nn: 12, Nt: 10, aead: 'aes-ctr-hmac' },
  2: { id: 2, name: 'AES_128_CTR_HMAC_SHA256_64', hash: 'SHA-256', Nh: 32, Nka: 16, Nk: 48, Nn: 12, Nt: 8, aead: 'aes-ctr-hmac' },
  3: { id: 3, name: 'AES_128_CTR_HMAC_SHA256_32', hash: 'SHA-256', Nh: 32, Nka: 16, Nk: 48, Nn: 12, Nt: 4, aead: 'aes-ctr-hmac' },
  4: { id: 4, name: 'AES_128_GCM_SHA256_128', hash: 'SHA-256', Nh: 32, Nka: 0, Nk: 16, Nn: 12, Nt: 16, aead: 'aes-gcm' },
  5: { id: 5, name: 'AES_256_GCM_SHA512_128', hash: 'SHA-512', Nh: 64, Nka: 0, Nk: 32, Nn: 12, Nt: 16, aead: 'aes-gcm' },
};

export const ALL_SUITE_IDS: readonly SFrameSuiteId[] = [1, 2, 3, 4, 5];

/** The suite for an RFC 9605 §8.1 code point; SFrameError('unsupported-suite') otherwise. */
export function getSuite(id: number): SFrameSuite {
  if (typeof id !== 'number' || !Number.isInteger(id)) throw new TypeError(`suite must be an integer, got ${typeof id}`);
  const suite = SUITES[id as SFrameSuiteId];
  if (suite === undefined) throw new SFrameError('unsupported-suite', `cipher suite ${id} is not defined by RFC 9605 §8.1`);
  return suite;
}

/**
 * derive_subkeys (RFC 9605 §4.5.1): the compound AEAD key is enc_key (first Nka bytes) || auth_key (Nh bytes).
 * Returns views into `key` (no copies).
 */
export function deriveSubkeys(suite: SFrameSuite, key: Uint8Array): { encKey: Uint8Array; authKey: Uint8Array } {
  if (suite.aead !== 'aes-ctr-hmac') throw new SFrameError('unsupported-suite', `${suite.name} has no subkeys`);
  if (key.length !== suite.Nk) throw new RangeError(`key must be ${suite.Nk} bytes, got ${key.length}`);
  return { encKey: key.subarray(0, suite.Nka), authKey: key.subarray(suite.Nka) };
}

/**
 * The authenticated data of the compound AEAD (RFC 9605 §4.5.1 compute_tag), without the AAD and ciphertext:
 * aad_len (8) || ct_len (8) || tag_len (8) || nonce. The caller appends aad and ct.
 */
export function ctrHmacAuthPrefix(suite: SFrameSuite, nonce: Uint8Array, aadLength: number, ctLength: number): Uint8Array {
  const out = new Uint8Array(24 + nonce.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(aadLength));
  view.setBigUint64(8, BigInt(ctLength));
  view.setBigUint64(16, BigInt(suite.Nt));
  out.set(nonce, 24);
  return out;
}

/** initial_counter = nonce || 0x00000000 (RFC 9605 §4.5.1): the 16-byte AES-CTR counter block. */
export function ctrInitialCounter(nonce: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  out.set(nonce, 0);
  return out;
}
