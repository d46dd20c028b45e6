// shared/keybridge: MLS epochs -> SFrame keys (RFC 9605 §5.2). Receives base keys; imports no MLS code.
export {
  KeyBridge,
  DEFAULT_COUNTER_BLOCK,
  DEFAULT_EPOCH_BITS,
  DEFAULT_GRACE_MS,
  DEFAULT_HOLD_MAX_FRAMES,
  DEFAULT_HOLD_MS,
  type DecryptFailure,
  type DecryptResult,
  type DropReason,
  type InstallEpochOptions,
  type KeyBridgeOptions,
  type KeyBridgeStats,
} from './keybridge.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { MemoryCounterStore, type CounterStore } from './counter-store.js';
export { composeKid, maxContext, parseKid, senderIndexBits, MAX_EPOCH_BITS, MAX_TREE_SIZE, type KidParts } from './kid.js';
/** The MLS exporter label for the SFrame base key (RFC 9605 §5.2): base_key = MLS-Exporter(label, "", AEAD.Nk). */
export const SFRAME_EXPORTER_LABEL = 'SFrame 1.0 Base Key';
