// The crypto provider interface MLS codes against: one CipherSuite per RFC 9420 §17.1 suite,
// three interchangeable backends (noble: portable default; webcrypto: globalThis.crypto.subtle
// where the algorithm exists, noble otherwise; node: node:crypto, injected from outside shared/).
//
// Byte formats (RFC 9420 §5.1.1, the MLS test-vector conventions):
//   HPKE public key  = SerializePublicKey (RFC 9180 §7.1.1): X25519/X448 raw u-coordinate,
//                      P-256/384/521 uncompressed SEC1 point (0x04 || x || y).
//   HPKE private key = SerializePrivateKey (RFC 9180 §7.1.2): X25519/X448 raw scalar bytes,
//                      P-curves big-endian scalar of Nsk bytes.
//   Signature public key  = Ed25519/Ed448 native (32/57 bytes); ECDSA uncompressed SEC1 point.
//   Signature private key = Ed25519/Ed448 native seed (32/57 bytes); ECDSA big-endian scalar
//                      (Field-Element-to-Octet-String, 32/48/66 bytes).
//   ECDSA signatures are DER-encoded (RFC 9420 §5.1.2 follows the TLS 1.3 convention:
//   Ecdsa-Sig-Value = SEQUENCE { r INTEGER, s INTEGER }); EdDSA signatures are native (64/114).
// All operations are async so a backend may use WebCrypto. No method mutates its inputs.

/** RFC 9420 §17.1 cipher suite code points 0x0001..0x0007. */
export type SuiteId = 1 | 2 | 3 | 4 | 5 | 6 | 7;

export const SUITE_IDS: readonly SuiteId[] = [1, 2, 3, 4, 5, 6, 7];

/** RFC 9420 §17.1 names, by code point. */
export const SUITE_NAMES: Readonly<Record<SuiteId, string>> = {
  1: 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519',
  2: 'MLS_128_DHKEMP256_AES128GCM_SHA256_P256',
  3: 'MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_Ed25519',
  4: 'MLS_256_DHKEMX448_AES256GCM_SHA512_Ed448',
  5: 'MLS_256_DHKEMP521_AES256GCM_SHA512_P521',
  6: 'MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_Ed448',
  7: 'MLS_256_DHKEMP384_AES256GCM_SHA384_P384',
};

export function isSuiteId(value: unknown): value is SuiteId {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 7;
}

export interface KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

/** The suite's hash (SHA-256 / SHA-384 / SHA-512). */
export interface HashFunction {
  readonly name: 'SHA-256' | 'SHA-384' | 'SHA-512';
  /** Nh: output length in bytes. */
  readonly outputLength: number;
  digest(data: Uint8Array): Promise<Uint8Array>;
}

/** HKDF with the suite's hash (RFC 5869). */
export interface Kdf {
  /** Nh: hash output length (also the PRK length). */
  readonly Nh: number;
  /** HKDF-Extract(salt, ikm); an empty salt means Nh zero bytes (RFC 5869 §2.2). */
  extract(salt: Uint8Array, ikm: Uint8Array): Promise<Uint8Array>;
  /** HKDF-Expand(prk, info, length); length <= 255 * Nh. */
  expand(prk: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array>;
}

/** The suite's AEAD (AES-128-GCM / AES-256-GCM / ChaCha20-Poly1305). Ciphertext = ct || tag. */
export interface Aead {
  readonly name: 'AES-128-GCM' | 'AES-256-GCM' | 'ChaCha20-Poly1305';
  /** Key length in bytes. */
  readonly Nk: number;
  /** Nonce length in bytes (12 for all suites). */
  readonly Nn: number;
  /** Tag length in bytes (16 for all suites). */
  readonly Nt: number;
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Throws CryptoError('aead-open-failed') when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
}

/** RFC 9180 §5.1 modes. MLS uses base only; the others exist for the RFC vectors. */
export type HpkeMode = 'base' | 'psk' | 'auth' | 'auth_psk';

export interface HpkeSetupOptions {
  /** psk and auth_psk modes: the pre-shared key (>= 32 bytes recommended) and its id. */
  psk?: { key: Uint8Array; id: Uint8Array };
  /** auth and auth_psk modes, sender side: the sender's static private key. */
  senderPrivateKey?: Uint8Array;
  /** auth and auth_psk modes, receiver side: the sender's static public key. */
  senderPublicKey?: Uint8Array;
  /**
   * TESTING ONLY (RFC 9180 Appendix A vectors): derive the ephemeral key from this ikm
   * instead of generating it randomly. Never set this in protocol code.
   */
  ephemeralIkm?: Uint8Array;
}

/** An HPKE encryption context (RFC 9180 §5.2): owns its sequence number, one per direction. */
export interface HpkeContext {
  /** Sender contexts only. Increments the sequence number. */
  seal(aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array>;
  /** Receiver contexts only. Increments the sequence number on success. */
  open(aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** RFC 9180 §5.3 secret export. */
  export(exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
  /** Wipes the key, base nonce and exporter secret; the context is unusable afterwards. */
  destroy(): void;
}

/** HPKE (RFC 9180) for the suite's (KEM, KDF, AEAD). */
export interface Hpke {
  readonly kemId: number;
  readonly kdfId: number;
  readonly aeadId: number;
  /** Serialized public key length (also Nenc for DHKEM). */
  readonly Npk: number;
  /** Serialized private key length. */
  readonly Nsk: number;
  /** Encapsulated key (kem_output) length. */
  readonly Nenc: number;
  generateKeyPair(): Promise<KeyPair>;
  /** RFC 9180 §7.1.3 DeriveKeyPair(ikm); MLS derives tree node keys with it (RFC 9420 §4). */
  deriveKeyPair(ikm: Uint8Array): Promise<KeyPair>;
  publicKeyFromPrivate(privateKey: Uint8Array): Promise<Uint8Array>;
  /** Base mode single-shot seal (RFC 9180 §6.1). */
  seal(publicKey: Uint8Array, info: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Promise<{ kemOutput: Uint8Array; ciphertext: Uint8Array }>;
  /** Base mode single-shot open. Throws CryptoError('hpke-open-failed'). */
  open(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array>;
  /** Base mode single-shot export, sender side (RFC 9180 §6.2): MLS external init (RFC 9420 §8.3). */
  exportSender(publicKey: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<{ kemOutput: Uint8Array; secret: Uint8Array }>;
  /** Base mode single-shot export, receiver side. */
  exportReceiver(privateKey: Uint8Array, kemOutput: Uint8Array, info: Uint8Array, exporterContext: Uint8Array, length: number): Promise<Uint8Array>;
  /** Full setup (any mode; mode is inferred from options: psk and/or sender key). */
  setupSender(publicKey: Uint8Array, info: Uint8Array, options?: HpkeSetupOptions): Promise<{ enc: Uint8Array; context: HpkeContext }>;
  setupReceiver(privateKey: Uint8Array, enc: Uint8Array, info: Uint8Array, options?: HpkeSetupOptions): Promise<HpkeContext>;
}

/** The suite's signature scheme (Ed25519 / ECDSA P-256, P-384, P-521 with the suite hash / Ed448). */
export interface SignatureScheme {
  readonly name: 'Ed25519' | 'Ed448' | 'ECDSA-P256-SHA256' | 'ECDSA-P384-SHA384' | 'ECDSA-P521-SHA512';
  readonly publicKeyLength: number;
  readonly privateKeyLength: number;
  generateKeyPair(): Promise<KeyPair>;
  /** ECDSA: DER signature over hash(message) (deterministic RFC 6979 with noble; randomized elsewhere). */
  sign(privateKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /** False for any invalid signature, including malformed DER or a malformed public key. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
  publicKeyFromPrivate(privateKey: Uint8Array): Promise<Uint8Array>;
}

/** Everything MLS needs for one cipher suite. */
export interface CipherSuite {
  readonly id: SuiteId;
  readonly name: string;
  /** Which backend built this suite ('noble', 'webcrypto', 'node', ...). */
  readonly backend: string;
  readonly hash: HashFunction;
  readonly kdf: Kdf;
  readonly aead: Aead;
  /** HMAC with the suite hash (RFC 9420 §5.2 MAC). */
  hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array>;
  readonly hpke: Hpke;
  readonly signature: SignatureScheme;
}

/** An injected backend (e.g. server/crypto-node/mls-node.ts): builds suites by id. */
export interface CryptoProvider {
  readonly name: string;
  getCipherSuite(id: SuiteId): CipherSuite;
}

export type CryptoBackend = 'noble' | 'webcrypto' | CryptoProvider;

/** Signature of getCipherSuite (implemented in shared/crypto/index.ts). Suites are cached per backend. */
export type GetCipherSuite = (id: SuiteId, backend?: CryptoBackend) => CipherSuite;

export type CryptoErrorCode =
  | 'unsupported-suite'       // suite id not in 1..7
  | 'unsupported-algorithm'   // backend cannot do this algorithm (and has no fallback)
  | 'invalid-public-key'      // not a valid point / wrong format
  | 'invalid-private-key'     // scalar out of range / wrong format
  | 'derive-key-pair-failed'  // RFC 9180 §7.1.3 rejection sampling exhausted (probability ~2^-256)
  | 'dh-failed'               // all-zero X25519/X448 output or point at infinity (RFC 9180 §7.1.4)
  | 'aead-open-failed'        // tag did not verify
  | 'hpke-open-failed'        // HPKE decryption failed (wraps the above)
  | 'hpke-bad-mode'           // inconsistent psk / auth options (RFC 9180 §5.1 VerifyPSKInputs)
  | 'hpke-sequence-overflow'  // RFC 9180 §5.2 MessageLimitReachedError
  | 'hpke-context-destroyed'  // use after destroy()
  | 'hpke-wrong-role'         // seal on a receiver context or open on a sender context
  | 'kdf-length'              // HKDF-Expand length > 255 * Nh
  | 'sign-failed';

export class CryptoError extends Error {
  readonly code: CryptoErrorCode;
  constructor(code: CryptoErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'CryptoError';
    this.code = code;
  }
}
