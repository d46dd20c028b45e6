// FrameCipher backed by shared/keybridge. Placeholder until shared/keybridge lands: it has no keys, so
// every outgoing frame is dropped (fail closed) and every incoming frame is refused.

import type { FrameCipher } from './cipher.js';

export function createFrameCipher(): FrameCipher {
  let epoch: bigint | null = null;
  return {
    currentEpoch: () => epoch,
    async installEpoch(e, baseKey) {
      baseKey.fill(0);
      epoch = e;
    },
    async protect() {
      return null;
    },
    async unprotect() {
      return { ok: false, reason: 'no-key', kid: null, held: false };
    },
    isLiveKid: () => false,
    close() {
      epoch = null;
    },
  };
}
