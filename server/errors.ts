// Errors the server turns into one line for the user (no stack trace) and exit code 1.
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

import type { ErrorCode } from '../shared/protocol/index.js';

/** A request failed in a way the client should learn about: becomes an `error` message with this code. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: { epoch?: string | null; groupInfo?: string | null; held?: boolean } = {},
  ) {
    super(message);
  }
}
