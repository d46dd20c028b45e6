// MlsError: every protocol rule a message can break throws one of these, with a stable `code`
// naming the rule (RFC 9420 section in the message). Decoding problems throw CodecError
// (shared/codec) instead; both leave the caller's state untouched because operations never
// mutate their input state.

export class MlsError extends Error {
  override readonly name = 'MlsError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Throws MlsError(code) unless `cond` holds. */
export function check(cond: unknown, code: string, message: string): asserts cond {
  if (!cond) throw new MlsError(code, message);
}
