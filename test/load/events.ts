// What participants (synthetic worker threads, browser drivers) and the server tap report to the
// collector. One union type; every time is a wall-clock ms (stats.ts now() / the browser's Date.now()).

export type ParticipantKind = 'browser' | 'synthetic';
export type LeaveHow = 'graceful' | 'crash';

/** Why a received frame was not decrypted (key bridge DecryptFailure, grouped as the report shows them). */
export type LossReason =
  /** The frame's epoch was not installed within the hold time (or the hold overflowed). */
  | 'unknown-epoch'
  /** The frame's epoch was already removed (grace over). */
  | 'expired-epoch'
  /** The tag did not verify, or the frame did not parse. */
  | 'auth-failed'
  /** Replayed (KID, CTR). */
  | 'replay'
  /** Unknown sender index, own KID, bridge closed. */
  | 'other';

export const LOSS_REASONS: readonly LossReason[] = ['unknown-epoch', 'expired-epoch', 'auth-failed', 'replay', 'other'];

export function lossReasonOf(detail: string): LossReason {
  switch (detail) {
    case 'unknown-epoch-timeout':
    case 'hold-overflow':
      return 'unknown-epoch';
    case 'expired-epoch':
    case 'before-join': // a past epoch too; reported as not owed (beforeJoin), see isBeforeJoin
      return 'expired-epoch';
    case 'auth-failed':
    case 'malformed':
      return 'auth-failed';
    case 'replay':
      return 'replay';
    default:
      return 'other';
  }
}

/** Drops of frames sent before the receiver joined: no key was ever owed, so they are no rotation loss. */
export function isBeforeJoin(detail: string): boolean {
  return detail === 'before-join';
}

export type LoadEvent =
  | { type: 'join-start'; pid: string; kind: ParticipantKind; at: number; send: boolean; recv: boolean }
  | { type: 'joined'; pid: string; at: number; epoch: number }
  | { type: 'join-failed'; pid: string; at: number; message: string }
  /**
   * The participant installed `epoch` (SFrame keys ready). `added`/`removed` are the roster change from the
   * previous epoch this participant saw, when that was epoch - 1 (`continuous`).
   */
  | { type: 'epoch'; pid: string; at: number; epoch: number; size: number; continuous: boolean; added: string[]; removed: string[] }
  /** First frame this participant encrypted under `epoch`. */
  | { type: 'enc-first'; pid: string; epoch: number; at: number }
  /** First frame this participant decrypted under `epoch` (from any sender). */
  | { type: 'dec-first'; pid: string; epoch: number; at: number }
  /** First frame this participant decrypted from sender `from` (a participant id). */
  | { type: 'first-from'; pid: string; from: string; at: number }
  /** Frames not decrypted; `epoch` is the receiver's current epoch at that moment. */
  | { type: 'lost'; pid: string; epoch: number; reason: LossReason; count: number; at: number; beforeJoin: boolean }
  /** Frames that waited for their epoch and were then decrypted. */
  | { type: 'held-saved'; pid: string; epoch: number; count: number }
  | { type: 'leave-start'; pid: string; at: number; how: LeaveHow }
  | { type: 'left'; pid: string; at: number; how: string }
  | { type: 'error'; pid: string; at: number; message: string }
  /** The DS accepted the commit that starts `epoch` (in-process tap, or the earliest client-side evidence). */
  | { type: 'ds-commit'; epoch: number; at: number; source: 'ds' | 'client' }
  /** Absolute counters of one participant (sent periodically and at the end). */
  | {
      type: 'counters';
      pid: string;
      framesEncrypted: number;
      framesDecrypted: number;
      decryptedFrom: Record<string, number>;
      rtpGaps: number;
      commitsProcessed: number;
    }
  /** Timing samples (ms): SFrame encrypt/decrypt per frame; MLS commit processing with the group size. */
  | { type: 'timings'; encryptMs: number[]; decryptMs: number[]; commitMs: Array<[size: number, ms: number]>; joinExternalMs: number[] }
  /** Self-time summary of a synthetic thread's CPU profile (--profile-threads). */
  | { type: 'profile'; thread: number; top: Array<{ fn: string; pct: number }> }
  /** Resource use of one synthetic worker thread (cumulative thread CPU from /proc). */
  | { type: 'thread'; thread: number; at: number; cpuMs: number; heapMB: number; members: number; commitsProcessed: number; handshakesProcessed: number };
