// FrameCipher backed by shared/keybridge (RFC 9605 §5.2 MLS -> SFrame keys, grace period, held frames,
// replay window). The bridge lives in this worker only: keys never return to the page.

import { KeyBridge } from '../../shared/keybridge/index.js';
import { isSFrameError } from '../../shared/sframe/errors.js';
import type { FrameCipher, UnprotectResult } from './cipher.js';

/** How long an older epoch keeps decrypting after a newer one is in use (rotation without loss). */
export const GRACE_MS = 3000;
/** How long a frame of a not-yet-installed epoch waits for its key (commit still on its way). */
export const HOLD_MS = 1500;
/**
 * Room-sized hold budget: every remote stream's frames for HOLD_MS while this member is still processing the
 * commit (e.g. 21 senders x (50 audio + 30 video) frames/s x 1.5 s = 2520 frames; 200 senders of audio alone
 * 15,000), bounded in bytes too: the byte budget is what limits memory.
 */
export const HOLD_MAX_FRAMES = 16384;
export const HOLD_MAX_BYTES = 16 * 1024 * 1024;
/** KID epoch bits E (RFC 9605 §5.2): 2^E epochs are held at most. */
export const EPOCH_BITS = 4;

export function createFrameCipher(): FrameCipher {
  const bridge = new KeyBridge({ epochBits: EPOCH_BITS, graceMs: GRACE_MS, holdMs: HOLD_MS, holdMaxFrames: HOLD_MAX_FRAMES, holdMaxBytes: HOLD_MAX_BYTES });

  return {
    currentEpoch: () => bridge.currentEpoch ?? null,
    async installEpoch(epoch, baseKey, treeSize, ownLeafIndex) {
      try {
        bridge.installEpoch(epoch, baseKey, treeSize, ownLeafIndex);
      } finally {
        baseKey.fill(0);
      }
    },
    async protect(streamContext, plaintext, metadata) {
      const epoch = bridge.currentEpoch;
      if (epoch === undefined) return null;
      try {
        const data = await bridge.encrypt(streamContext, plaintext, metadata);
        return { data, kid: bridge.ownKid(streamContext), epoch };
      } catch (e) {
        if (isSFrameError(e, 'no-epoch')) return null;
        throw e;
      }
    },
    async unprotect(data, metadata): Promise<UnprotectResult> {
      const r = await bridge.decrypt(data, metadata);
      if (r.ok) return { ok: true, plaintext: r.frame, kid: r.kid, epoch: r.epoch, held: r.held };
      const detail = r.reason;
      switch (r.reason) {
        case 'replay':
          return { ok: false, reason: 'replay', kid: null, held: false, detail };
        case 'auth-failed':
        case 'malformed':
          return { ok: false, reason: 'auth', kid: null, held: false, detail };
        case 'unknown-epoch-timeout':
        case 'hold-overflow':
          return { ok: false, reason: 'no-key', kid: null, held: true, detail };
        default:
          return { ok: false, reason: 'no-key', kid: null, held: false, detail };
      }
    },
    isLiveKid(kid) {
      return bridge.hasEpochFor(kid);
    },
    close() {
      bridge.close();
    },
  };
}
