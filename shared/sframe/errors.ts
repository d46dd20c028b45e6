// Typed SFrame errors (RFC 9605). One class, one stable string `code` per rule broken,
// so callers (the key bridge, the transform worker) switch on `code`, never on messages.
// Messages never contain keys, secrets or payload bytes.

export type SFrameErrorCode =
  /** The header is truncated, uses a non-minimal encoding, or is otherwise invalid (RFC 9605 §4.3). */
  | 'malformed-header'
  /** The ciphertext is shorter than the header plus the suite's tag (RFC 9605 §4.4.4). */
  | 'malformed-ciphertext'
  /** No key is known for the header's KID (RFC 9605 §4.4.4). */
  | 'unknown-kid'
  /** The authentication tag does not verify (RFC 9605 §4.4.4, §4.5.1). */
  | 'auth-failed'
  /** The (KID, CTR) was already accepted, or is older than the replay window (RFC 9605 §7.5, RFC 3711 §3.3.2). */
  | 'replay'
  /** Every CTR value of the key was used: encrypting again would reuse a nonce (RFC 9605 §4.3, §7.5). */
  | 'counter-exhausted'
  /** The counter state of this key cannot be proven fresh (e.g. after a restart without a counter store). */
  | 'counter-not-persisted'
  /** The cipher suite is not one of RFC 9605 §8.1. */
  | 'unsupported-suite'
  /** A key was used for the other role than the one it was installed for (RFC 9605 §4.4.1 MUST). */
  | 'wrong-key-role'
  /** A KID is already installed. */
  | 'duplicate-kid'
  /** The context or key was closed/removed and its keys wiped. */
  | 'closed'
  /** No epoch is installed (key bridge). */
  | 'no-epoch'
  /** The caller asked for something the current state does not allow (key bridge). */
  | 'invalid-state';

export class SFrameError extends Error {
  readonly code: SFrameErrorCode;
  constructor(code: SFrameErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'SFrameError';
    this.code = code;
  }
}

export function isSFrameError(e: unknown, code?: SFrameErrorCode): e is SFrameError {
  return e instanceof SFrameError && (code === undefined || e.code === code);
}
