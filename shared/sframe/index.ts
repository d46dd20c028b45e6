// shared/sframe: RFC 9605 SFrame. Knows nothing about MLS (the key bridge maps MLS epochs to KIDs).
export { SFrameError, isSFrameError, type SFrameErrorCode } from './errors.js';
export { decodeHeader, encodeHeader, encodeHeaderInto, headerLength, MAX_HEADER_LENGTH, MAX_UINT64, type SFrameHeader } from './header.js';
export {
  ALL_SUITE_IDS,
  ctrHmacAuthPrefix,
  deriveSubkeys,
  getSuite,
  SFrameCipherSuite,
  type HashName,
  type SFrameSuite,
  type SFrameSuiteId,
} from './suites.js';
export type { SFrameAead, SFrameBackend } from './backend.js';
export { deriveKeySalt, formNonce, sframeKeyLabel, sframeSaltLabel, type SFrameKeyMaterial } from './derive.js';
export { DEFAULT_REPLAY_WINDOW, MAX_REPLAY_WINDOW, ReplayWindow } from './replay.js';
export { SFrameReceiveKey, SFrameSendKey, type CounterReserve, type ReceiveKeyOptions, type SendKeyOptions } from './keys.js';
export { SFrameContext, type SFrameContextOptions, type UnprotectResult } from './context.js';
export { nobleBackend } from './noble.js';
export { webCryptoBackend } from './webcrypto.js';
