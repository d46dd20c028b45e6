// SFrame key derivation, RFC 9605 §4.4.2:
//
//   sframe_secret = HKDF-Extract("", base_key)
//   sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  + KID + cipher_suite, AEAD.Nk)
//   sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " + KID + cipher_suite, AEAD.Nn)
//
// KID: 8-byte big-endian integer (not the header's compact form); cipher_suite: 2-byte big-endian.

import { assertBigInt, assertBytes, utf8, wipe } from '../bytes/index.js';
import type { SFrameBackend } from './backend.js';
import { MAX_UINT64 } from './header.js';
import type { SFrameSuite } from './suites.js';

const KEY_LABEL = utf8('SFrame 1.0 Secret key ');
const SALT_LABEL = utf8('SFrame 1.0 Secret salt ');
const EMPTY = new Uint8Array(0);

function label(prefix: Uint8Array, kid: bigint, suite: SFrameSuite): Uint8Array {
  assertBigInt(kid, 'kid', 0n, MAX_UINT64);
  const out = new Uint8Array(prefix.length + 10);
  out.set(prefix, 0);
  const view = new DataView(out.buffer);
  view.setBigUint64(prefix.length, kid); // KID as 8-byte big-endian
  view.setUint16(prefix.length + 8, suite.id); // cipher_suite as 2-byte big-endian
  return out;
}

export function sframeKeyLabel(kid: bigint, suite: SFrameSuite): Uint8Array {
  return label(KEY_LABEL, kid, suite);
}

export function sframeSaltLabel(kid: bigint, suite: SFrameSuite): Uint8Array {
  return label(SALT_LABEL, kid, suite);
}

export interface SFrameKeyMaterial {
  /** sframe_key, AEAD.Nk bytes. */
  key: Uint8Array;
  /** sframe_salt, AEAD.Nn bytes. */
  salt: Uint8Array;
}

/**
 * derive_key_salt(KID, base_key), RFC 9605 §4.4.2. `base_key` may be any length (HKDF input keying material).
 * With `keepSecret`, also returns sframe_secret (for test vectors); otherwise it is wiped.
 */
export async function deriveKeySalt(
  backend: SFrameBackend,
  suite: SFrameSuite,
  kid: bigint,
  baseKey: Uint8Array,
  keepSecret = false,
): Promise<SFrameKeyMaterial & { secret?: Uint8Array }> {
  assertBytes(baseKey, 'baseKey');
  const secret = await backend.hkdfExtract(suite.hash, EMPTY, baseKey);
  const key = await backend.hkdfExpand(suite.hash, secret, sframeKeyLabel(kid, suite), suite.Nk);
  const salt = await backend.hkdfExpand(suite.hash, secret, sframeSaltLabel(kid, suite), suite.Nn);
  if (keepSecret) return { key, salt, secret };
  wipe(secret);
  return { key, salt };
}

/**
 * nonce = sframe_salt XOR encode_big_endian(CTR, AEAD.Nn) (RFC 9605 §4.4.3). A new buffer every call
 * (WebCrypto and node:crypto may keep a reference while the operation runs).
 */
export function formNonce(salt: Uint8Array, ctr: bigint): Uint8Array {
  const n = salt.length;
  const out = salt.slice();
  let lo = Number(ctr & 0xffffffffn);
  let hi = Number(ctr >> 32n);
  for (let i = 0; i < 4; i++) {
    out[n - 1 - i]! ^= lo & 0xff;
    lo >>>= 8;
  }
  for (let i = 4; i < 8; i++) {
    out[n - 1 - i]! ^= hi & 0xff;
    hi >>>= 8;
  }
  return out;
}
