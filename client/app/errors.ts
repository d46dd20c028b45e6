// Errors a person can act on: each maps to a title and what to do about it.

import type { ActionableError } from './view.js';

export class JoinError extends Error {
  override readonly name = 'JoinError';
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function describeError(e: unknown): ActionableError & { code: string } {
  const name = (e as { name?: string } | null)?.name ?? '';
  const code = (e as { code?: string } | null)?.code ?? '';
  const message = typeof (e as { message?: unknown } | null)?.message === 'string' ? (e as { message: string }).message : String(e);
  if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
    return {
      code: 'camera-denied',
      title: 'Camera or microphone access was denied.',
      detail: 'Allow camera and microphone for this site (the icon in the address bar), then press Join again.',
    };
  }
  if (name === 'NotFoundError' || name === 'OverconstrainedError') {
    return { code: 'no-device', title: 'No camera or microphone found.', detail: 'Connect a camera and microphone and try again.' };
  }
  if (name === 'NotReadableError' || name === 'AbortError') {
    return {
      code: 'device-busy',
      title: 'The camera or microphone is in use by another application.',
      detail: 'Close the other application (or tab) using it and try again.',
    };
  }
  if (name === 'ServerUnreachableError') {
    return {
      code: 'server-unreachable',
      title: 'The call server cannot be reached.',
      detail: `Check your network connection and try again in a moment. (${message})`,
    };
  }
  switch (code) {
    case 'no-transform':
      return { code, title: 'This browser cannot encrypt calls end to end.', detail: message };
    case 'room-full':
      return { code, title: 'This room is full.', detail: 'Ask someone to leave, or use another room name.' };
    case 'too-many-rooms':
      return { code, title: 'The server is at its room limit.', detail: 'Try again later.' };
    case 'unauthorized':
      return {
        code,
        title: 'The join token was not accepted.',
        detail: 'Your invitation link may have expired or be for another room or name. Ask for a new link.',
      };
    case 'bad-request':
      return { code, title: 'The server refused the request.', detail: `Check the room name and your name. (${message})` };
    default:
      return { code: code || 'error', title: 'Could not join the call.', detail: message };
  }
}
