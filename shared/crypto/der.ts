// Minimal DER for the key and signature formats the WebCrypto and node:crypto backends need:
// ECDSA signatures (RFC 3279 §2.2.3 Ecdsa-Sig-Value, the RFC 9420 §5.1.2 / TLS 1.3 encoding)
// converted to and from IEEE P1363 r || s, and PKCS #8 / SPKI wrappers around raw keys
// (RFC 5958, RFC 5480, RFC 5915, RFC 8410).

import { concat } from '../bytes/index.js';

function derLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  if (length < 0x100) return Uint8Array.of(0x81, length);
  return Uint8Array.of(0x82, length >> 8, length & 0xff);
}

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = concat(...content);
  return concat(Uint8Array.of(tag), derLength(body.length), body);
}

/** Positive INTEGER from a big-endian unsigned value: minimal, with a 0x00 pad when the high bit is set. */
function derUint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  return tlv(0x02, (v[0]! & 0x80) !== 0 ? concat(Uint8Array.of(0), v) : v);
}

/** IEEE P1363 (r || s, each n bytes) -> DER Ecdsa-Sig-Value. */
export function p1363ToDer(signature: Uint8Array): Uint8Array {
  const n = signature.length / 2;
  return tlv(0x30, derUint(signature.subarray(0, n)), derUint(signature.subarray(n)));
}

/**
 * DER Ecdsa-Sig-Value -> P1363 with n-byte r and s. Strict: definite minimal lengths, positive minimal
 * INTEGERs, no trailing bytes. Returns undefined for anything else (the caller reports "invalid").
 */
export function derToP1363(der: Uint8Array, n: number): Uint8Array | undefined {
  let pos = 0;
  const readLength = (): number | undefined => {
    const first = der[pos++];
    if (first === undefined) return undefined;
    if (first < 0x80) return first;
    if (first === 0x81) {
      const l = der[pos++];
      return l === undefined || l < 0x80 ? undefined : l;
    }
    return undefined;
  };
  if (der[pos++] !== 0x30) return undefined;
  const seqLen = readLength();
  if (seqLen === undefined || pos + seqLen !== der.length) return undefined;
  const out = new Uint8Array(2 * n);
  for (let k = 0; k < 2; k++) {
    if (der[pos++] !== 0x02) return undefined;
    const len = readLength();
    if (len === undefined || len === 0 || pos + len > der.length) return undefined;
    let v = der.subarray(pos, pos + len);
    pos += len;
    if ((v[0]! & 0x80) !== 0) return undefined; // negative
    if (v[0] === 0 && v.length > 1) {
      if ((v[1]! & 0x80) === 0) return undefined; // non-minimal
      v = v.subarray(1);
    }
    if (v.length > n) return undefined;
    out.set(v, k * n + (n - v.length));
  }
  return pos === der.length ? out : undefined;
}

const OID = {
  X25519: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x6e),
  X448: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x6f),
  Ed25519: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x70),
  Ed448: Uint8Array.of(0x06, 0x03, 0x2b, 0x65, 0x71),
  ecPublicKey: Uint8Array.of(0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01),
  'P-256': Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07),
  'P-384': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22),
  'P-521': Uint8Array.of(0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23),
} as const;

export type KeyAlgorithm = 'X25519' | 'X448' | 'Ed25519' | 'Ed448' | 'P-256' | 'P-384' | 'P-521';

function algorithmIdentifier(alg: KeyAlgorithm): Uint8Array {
  if (alg === 'P-256' || alg === 'P-384' || alg === 'P-521') return tlv(0x30, OID.ecPublicKey, OID[alg]);
  return tlv(0x30, OID[alg]);
}

/**
 * PKCS #8 PrivateKeyInfo (RFC 5958) around a raw private key: CurvePrivateKey (RFC 8410) for
 * X25519/X448/Ed25519/Ed448, ECPrivateKey without the optional public key (RFC 5915) for P-curves.
 * The result holds the secret: the caller wipes it after import.
 */
export function pkcs8(alg: KeyAlgorithm, privateKey: Uint8Array): Uint8Array {
  const version = Uint8Array.of(0x02, 0x01, 0x00);
  let inner: Uint8Array;
  if (alg === 'P-256' || alg === 'P-384' || alg === 'P-521') {
    inner = tlv(0x30, Uint8Array.of(0x02, 0x01, 0x01), tlv(0x04, privateKey));
  } else {
    inner = tlv(0x04, privateKey);
  }
  const out = tlv(0x30, version, algorithmIdentifier(alg), tlv(0x04, inner));
  inner.fill(0);
  return out;
}

/** SubjectPublicKeyInfo (RFC 5480 / RFC 8410) around a raw public key. */
export function spki(alg: KeyAlgorithm, publicKey: Uint8Array): Uint8Array {
  return tlv(0x30, algorithmIdentifier(alg), tlv(0x03, Uint8Array.of(0), publicKey));
}
