// The MLS -> SFrame key bridge, RFC 9605 §5.2. The only module that knows both MLS and SFrame, yet it imports
// no MLS code: for each epoch the caller computes
//
//   base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)
//
// and calls installEpoch(epoch, base_key, treeSize, ownLeafIndex). Per-sender keys need no extra derivation:
// every sender (and every stream context of a sender) has its own KID, and derive_key_salt(KID, base_key)
// (§4.4.2) puts the KID into the HKDF labels, so each (sender, context) gets its own sframe_key/sframe_salt.
//
//   KID = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))
//
// Epoch window: at most 2^E epochs are held; installing an epoch removes the one with the same low E bits
// (§5.2 MUST). Older epochs also expire `graceMs` after a newer epoch was installed, and their keys are wiped.
//
// Frames whose epoch is not installed yet are held (at most `holdMaxFrames`, at most `holdMs`) and decrypted
// as soon as the epoch arrives. decrypt() always resolves to a DecryptResult (never rejects for bad input
// frames), so the transform worker can simply `await` each frame in order: a held frame delays its stream by
// at most holdMs and is not lost, and the order of frames per stream is preserved.
//
// Counter safety (no (key, nonce) is ever used twice, RFC 9605 §4.3, §7.5, Appendix B.1):
//  1. Within a bridge, SFrameSendKey owns the CTR per KID; it never wraps (counter-exhausted instead).
//  2. Each stream context has its own KID, so streams never share a counter.
//  3. A fresh MLS epoch means a fresh base_key, hence fresh keys: counters start at 0 safely.
//  4. Re-installing an epoch this bridge already encrypted under (after it was removed) would restart its
//     counters: without a counter store that epoch is decrypt-only ('counter-not-persisted').
//  5. Across restarts: an epoch installed with `{ restored: true }` (its base key comes from persisted MLS
//     state, so an earlier process may have encrypted under it) is decrypt-only unless a CounterStore is
//     configured. With a store, CTRs are reserved in blocks and each block's end is persisted *before* any CTR
//     of the block is used; after a restart encryption resumes at the persisted mark. The caller's recovery
//     without a store: make a new commit (fresh epoch, fresh keys).

import { sha256 } from '@noble/hashes/sha2.js';
import { assertBigInt, assertBytes, assertInt, equal, toHex, utf8, wipe } from '../bytes/index.js';
import type { SFrameBackend } from '../sframe/backend.js';
import { SFrameError, isSFrameError } from '../sframe/errors.js';
import { decodeHeader, MAX_UINT64, type SFrameHeader } from '../sframe/header.js';
import { SFrameReceiveKey, SFrameSendKey } from '../sframe/keys.js';
import { nobleBackend } from '../sframe/noble.js';
import { DEFAULT_REPLAY_WINDOW } from '../sframe/replay.js';
import { getSuite, SFrameCipherSuite, type SFrameSuite, type SFrameSuiteId } from '../sframe/suites.js';
import { webCryptoBackend } from '../sframe/webcrypto.js';
import { systemClock, type Clock } from './clock.js';
import type { CounterStore } from './counter-store.js';
import { composeKid, MAX_EPOCH_BITS, MAX_TREE_SIZE, maxContext, parseKid, senderIndexBits } from './kid.js';

export const DEFAULT_EPOCH_BITS = 4;
export const DEFAULT_GRACE_MS = 2000;
export const DEFAULT_HOLD_MS = 500;
export const DEFAULT_HOLD_MAX_FRAMES = 256;
export const DEFAULT_HOLD_MAX_BYTES = 8 * 1024 * 1024;
export const DEFAULT_COUNTER_BLOCK = 1024;

export interface KeyBridgeOptions {
  /** SFrame cipher suite (RFC 9605 §8.1); default AES_128_GCM_SHA256_128. base_key must be its AEAD.Nk bytes. */
  suite?: SFrameSuiteId;
  /** Crypto backend; default WebCrypto when globalThis.crypto.subtle exists, else noble. */
  backend?: SFrameBackend;
  /** E: epoch bits in the KID (1-16, default 4). At most 2^E epochs are held. */
  epochBits?: number;
  /** How long an older epoch keeps decrypting after a newer epoch was installed (ms, default 2000). */
  graceMs?: number;
  /** How long a frame of a not-yet-installed epoch is held before it is dropped (ms, default 500). */
  holdMs?: number;
  /** Most frames held at once; on overflow the oldest held frame is dropped (default 256; 0 disables holding). */
  holdMaxFrames?: number;
  /**
   * Most bytes (frame + metadata) held at once; on overflow the oldest held frames are dropped (default 8 MiB).
   * A frame larger than this is never held. Size both limits for the room: every remote stream's frames for
   * holdMs (e.g. 21 senders x 50 audio frames/s x 1.5 s = 1575 frames).
   */
  holdMaxBytes?: number;
  /** Per-KID anti-replay window in CTR values (default 128). */
  replayWindow?: number;
  /** Time source and timers (tests inject a ManualClock). */
  clock?: Clock;
  /** Persists counter high-water marks so encryption is safe across restarts (see the header comment). */
  counterStore?: CounterStore;
  /** CTRs reserved per counter-store write (default 1024). */
  counterBlock?: number;
}

export interface InstallEpochOptions {
  /**
   * The base key was computed from MLS state restored from storage (not a state this process advanced to):
   * an earlier process may have encrypted under it. Without a counter store, the epoch is then decrypt-only.
   */
  restored?: boolean;
}

export type DropReason =
  /** The frame's epoch was not installed within holdMs. */
  | 'unknown-epoch-timeout'
  /** More than holdMaxFrames frames (or holdMaxBytes bytes) were held; the oldest was dropped. */
  | 'hold-overflow'
  /** The frame's epoch was removed (grace period over, or replaced by an epoch with the same low bits). */
  | 'expired-epoch'
  /**
   * The frame's epoch is older than the first epoch this bridge installed: it was sent before this member
   * joined, so there never was a key for it here (not a loss of the rotation).
   */
  | 'before-join'
  /** The KID names a sender index outside the epoch's tree. */
  | 'unknown-sender'
  /** The KID is one of our own encryption KIDs (keys are for encryption or decryption, never both). */
  | 'own-kid'
  /** The bridge was closed. */
  | 'closed';

export type DecryptFailure = DropReason | 'replay' | 'auth-failed' | 'malformed';

export type DecryptResult =
  | {
      ok: true;
      frame: Uint8Array;
      epoch: bigint;
      kid: bigint;
      ctr: bigint;
      senderIndex: number;
      context: bigint;
      /** The frame was held until its epoch was installed. */
      held: boolean;
    }
  | { ok: false; reason: DecryptFailure };

export interface KeyBridgeStats {
  encrypted: number;
  decrypted: number;
  /** Decrypted after being held for an epoch that arrived later (also counted in `decrypted`). */
  heldThenDecrypted: number;
  replayed: number;
  authFailed: number;
  malformed: number;
  dropped: Record<DropReason, number>;
  /** Frames currently held. */
  heldNow: number;
  /** Bytes (frame + metadata) currently held. */
  heldBytesNow: number;
  /** Installed epochs, ascending. */
  epochs: bigint[];
  currentEpoch: bigint | null;
}

interface EpochState {
  readonly epoch: bigint;
  readonly slot: number;
  readonly baseKey: Uint8Array;
  readonly treeSize: number;
  readonly S: number;
  readonly ownLeafIndex: number;
  /** Truncated hash of (epoch, base_key): names the epoch in the counter store without revealing the key. */
  readonly fingerprint: string;
  readonly encryptRefusal: string | undefined;
  expiresAt: number | undefined;
  expiryTimer: unknown;
  readonly send: Map<bigint, Promise<SFrameSendKey>>;
  /** Fast path: send keys already derived, by the caller's stream context value. */
  readonly sendReady: Map<number | bigint, SFrameSendKey>;
  readonly receive: Map<bigint, Promise<SFrameReceiveKey>>;
  removed: boolean;
  /** Set while frames held for this epoch are being decrypted; later frames queue behind it (order). */
  drain: Promise<void> | undefined;
}

interface HeldFrame {
  readonly frame: Uint8Array;
  readonly metadata: Uint8Array;
  readonly header: SFrameHeader;
  readonly slot: number;
  /** frame.length + metadata.length, counted against holdMaxBytes. */
  readonly bytes: number;
  readonly resolve: (r: DecryptResult) => void;
  timer: unknown;
}

const EMPTY = new Uint8Array(0);
const FINGERPRINT_LABEL = utf8('sealed-call SFrame counter slot v1');

function defaultBackend(): SFrameBackend {
  return (globalThis as { crypto?: { subtle?: unknown } }).crypto?.subtle !== undefined ? webCryptoBackend : nobleBackend;
}

function fingerprint(epoch: bigint, baseKey: Uint8Array): string {
  const e = new Uint8Array(8);
  new DataView(e.buffer).setBigUint64(0, epoch);
  const h = sha256.create().update(FINGERPRINT_LABEL).update(e).update(baseKey).digest();
  return toHex(h.subarray(0, 16));
}

function nonNegativeMs(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  assertInt(value, name, 0, 24 * 3600 * 1000);
  return value;
}

export class KeyBridge {
  readonly suite: SFrameSuite;
  readonly backend: SFrameBackend;
  readonly epochBits: number;
  readonly graceMs: number;
  readonly holdMs: number;
  readonly holdMaxFrames: number;
  readonly holdMaxBytes: number;
  readonly replayWindow: number;
  readonly #clock: Clock;
  readonly #store: CounterStore | undefined;
  readonly #counterBlock: number;
  readonly #mask: bigint;

  readonly #bySlot = new Map<number, EpochState>();
  #current: EpochState | undefined;
  #firstEpoch: bigint | undefined;
  #held: HeldFrame[] = [];
  /** Bytes (frame + metadata) of the frames in #held. */
  #heldBytes = 0;
  /** Fingerprints of epochs this bridge has encrypted under (guards re-installation without a store). */
  readonly #encryptedUnder = new Set<string>();
  #closed = false;
  /** Earliest expiresAt among non-current epochs (undefined: none), so the per-frame purge check is O(1). */
  #nextExpiry: number | undefined;

  #encrypted = 0;
  #decrypted = 0;
  #heldThenDecrypted = 0;
  #replayed = 0;
  #authFailed = 0;
  #malformed = 0;
  readonly #dropped: Record<DropReason, number> = {
    'unknown-epoch-timeout': 0,
    'hold-overflow': 0,
    'expired-epoch': 0,
    'before-join': 0,
    'unknown-sender': 0,
    'own-kid': 0,
    closed: 0,
  };

  constructor(options: KeyBridgeOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    this.suite = getSuite(options.suite ?? SFrameCipherSuite.AES_128_GCM_SHA256_128);
    this.backend = options.backend ?? defaultBackend();
    this.epochBits = options.epochBits ?? DEFAULT_EPOCH_BITS;
    assertInt(this.epochBits, 'options.epochBits', 1, MAX_EPOCH_BITS);
    this.graceMs = nonNegativeMs(options.graceMs, 'options.graceMs', DEFAULT_GRACE_MS);
    this.holdMs = nonNegativeMs(options.holdMs, 'options.holdMs', DEFAULT_HOLD_MS);
    this.holdMaxFrames = options.holdMaxFrames ?? DEFAULT_HOLD_MAX_FRAMES;
    assertInt(this.holdMaxFrames, 'options.holdMaxFrames', 0, 1 << 20);
    this.holdMaxBytes = options.holdMaxBytes ?? DEFAULT_HOLD_MAX_BYTES;
    assertInt(this.holdMaxBytes, 'options.holdMaxBytes', 0, 2 ** 31);
    this.replayWindow = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    this.#clock = options.clock ?? systemClock;
    this.#store = options.counterStore;
    this.#counterBlock = options.counterBlock ?? DEFAULT_COUNTER_BLOCK;
    assertInt(this.#counterBlock, 'options.counterBlock', 1, 1 << 30);
    this.#mask = (1n << BigInt(this.epochBits)) - 1n;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get currentEpoch(): bigint | undefined {
    return this.#current?.epoch;
  }

  /** The KID this member uses for `streamContext` in the current epoch (for diagnostics and tests). */
  ownKid(streamContext: number | bigint): bigint {
    const ep = this.#current;
    if (ep === undefined) throw new SFrameError('no-epoch', 'no epoch installed');
    return composeKid(this.#contextOf(streamContext, ep), ep.ownLeafIndex, ep.epoch, ep.S, this.epochBits);
  }

  /**
   * Installs an epoch's SFrame base key (RFC 9605 §5.2). The newest installed epoch is used for encryption;
   * older ones keep decrypting for graceMs. Frames held for this epoch are decrypted now (in arrival order).
   */
  installEpoch(epoch: bigint, baseKey: Uint8Array, treeSize: number, ownLeafIndex: number, options: InstallEpochOptions = {}): void {
    if (this.#closed) throw new SFrameError('closed', 'key bridge is closed');
    assertBigInt(epoch, 'epoch', 0n, MAX_UINT64);
    assertBytes(baseKey, 'baseKey', this.suite.Nk);
    assertInt(treeSize, 'treeSize', 1, MAX_TREE_SIZE);
    assertInt(ownLeafIndex, 'ownLeafIndex', 0, treeSize - 1);
    const S = senderIndexBits(treeSize);
    if (S + this.epochBits > 64) throw new RangeError(`treeSize ${treeSize} leaves no room for E=${this.epochBits} epoch bits`);
    this.#purgeExpired();

    const slot = Number(epoch & this.#mask);
    const existing = this.#bySlot.get(slot);
    if (existing !== undefined) {
      if (existing.epoch === epoch && equal(existing.baseKey, baseKey) && existing.treeSize === treeSize && existing.ownLeafIndex === ownLeafIndex) {
        return; // idempotent re-install: keep keys and counters
      }
      if (existing.epoch > epoch) {
        throw new SFrameError('invalid-state', `epoch ${epoch} is older than installed epoch ${existing.epoch} with the same low ${this.epochBits} bits`);
      }
      this.#removeEpoch(existing); // §5.2: MUST remove an old epoch when a new one with the same low E bits arrives
    }

    const fp = fingerprint(epoch, baseKey);
    let refusal: string | undefined;
    if (this.#store === undefined) {
      if (options.restored === true) refusal = `epoch ${epoch} was restored from storage and its counters were not persisted`;
      else if (this.#encryptedUnder.has(fp)) refusal = `epoch ${epoch} was installed and used before; its counters were discarded`;
    }
    const ep: EpochState = {
      epoch,
      slot,
      baseKey: baseKey.slice(),
      treeSize,
      S,
      ownLeafIndex,
      fingerprint: fp,
      encryptRefusal: refusal,
      expiresAt: undefined,
      expiryTimer: undefined,
      send: new Map(),
      sendReady: new Map(),
      receive: new Map(),
      removed: false,
      drain: undefined,
    };
    this.#bySlot.set(slot, ep);
    if (this.#firstEpoch === undefined || epoch < this.#firstEpoch) this.#firstEpoch = epoch;

    if (this.#current === undefined || epoch > this.#current.epoch) {
      this.#current = ep;
      // A newer epoch is in use: every older epoch now has graceMs left.
      for (const other of this.#bySlot.values()) if (other !== ep) this.#scheduleExpiry(other);
    } else {
      this.#scheduleExpiry(ep);
    }
    this.#releaseHeld(ep);
  }

  /**
   * Encrypts one frame of this member's stream `streamContext` (audio 0, video 1, screen 2, ...) under the
   * current epoch: RFC 9605 §4.4.3 with KID per §5.2. The CTR is owned by the bridge (one per KID).
   */
  async encrypt(streamContext: number | bigint, frame: Uint8Array, metadata: Uint8Array = EMPTY): Promise<Uint8Array> {
    if (this.#closed) throw new SFrameError('closed', 'key bridge is closed');
    assertBytes(frame, 'frame');
    assertBytes(metadata, 'metadata');
    this.#purgeExpired();
    const ep = this.#current;
    if (ep === undefined) throw new SFrameError('no-epoch', 'no epoch installed: nothing is ever sent unencrypted');
    if (ep.encryptRefusal !== undefined) throw new SFrameError('counter-not-persisted', ep.encryptRefusal);
    let key = ep.sendReady.get(streamContext);
    if (key === undefined) {
      const kid = composeKid(this.#contextOf(streamContext, ep), ep.ownLeafIndex, ep.epoch, ep.S, this.epochBits);
      key = await this.#sendKey(ep, kid);
      if (!ep.removed) ep.sendReady.set(streamContext, key);
    }
    const out = await key.protect(frame, metadata);
    this.#encrypted++;
    return out;
  }

  /**
   * Decrypts one SFrame ciphertext (RFC 9605 §4.4.4). Resolves (never rejects for bad frames) to the plaintext
   * or the reason it was dropped. Frames of a not-yet-installed epoch resolve when it is installed, or with
   * 'unknown-epoch-timeout' after holdMs.
   */
  async decrypt(frame: Uint8Array, metadata: Uint8Array = EMPTY): Promise<DecryptResult> {
    assertBytes(frame, 'frame');
    assertBytes(metadata, 'metadata');
    if (this.#closed) return this.#drop('closed');
    let header: SFrameHeader;
    try {
      header = decodeHeader(frame);
    } catch {
      this.#malformed++;
      return { ok: false, reason: 'malformed' };
    }
    this.#purgeExpired();
    const slot = Number(header.kid & this.#mask);
    const ep = this.#bySlot.get(slot);
    if (ep === undefined) {
      const where = this.#classifySlot(slot);
      if (where === 'future') return this.#hold(frame, metadata, header, slot);
      return this.#drop(where);
    }
    if (ep.drain !== undefined) {
      return ep.drain.then(() => this.#decryptWith(ep, header, frame, metadata, false));
    }
    return this.#decryptWith(ep, header, frame, metadata, false);
  }

  /**
   * Removes (and wipes) every epoch older than `epoch` at once, without waiting for the grace period
   * (cisco/sframe's purge_before): e.g. when a removal must take effect immediately. Returns how many were removed.
   */
  removeEpochsBefore(epoch: bigint): number {
    assertBigInt(epoch, 'epoch', 0n, MAX_UINT64);
    let n = 0;
    for (const ep of [...this.#bySlot.values()]) {
      if (ep.epoch < epoch) {
        this.#removeEpoch(ep);
        n++;
      }
    }
    return n;
  }

  stats(): KeyBridgeStats {
    if (!this.#closed) this.#purgeExpired();
    return {
      encrypted: this.#encrypted,
      decrypted: this.#decrypted,
      heldThenDecrypted: this.#heldThenDecrypted,
      replayed: this.#replayed,
      authFailed: this.#authFailed,
      malformed: this.#malformed,
      dropped: { ...this.#dropped },
      heldNow: this.#held.length,
      heldBytesNow: this.#heldBytes,
      epochs: [...this.#bySlot.values()].map((e) => e.epoch).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
      currentEpoch: this.#current?.epoch ?? null,
    };
  }

  /** Wipes every key, drops held frames ('closed'), clears timers. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const h of held) {
      this.#clock.clearTimer(h.timer);
      h.resolve(this.#drop('closed'));
    }
    for (const ep of [...this.#bySlot.values()]) this.#removeEpoch(ep);
    this.#current = undefined;
  }

  // ---- internals ----

  #contextOf(streamContext: number | bigint, ep: EpochState): bigint {
    let c: bigint;
    if (typeof streamContext === 'number') {
      assertInt(streamContext, 'streamContext', 0);
      c = BigInt(streamContext);
    } else {
      c = streamContext;
    }
    assertBigInt(c, 'streamContext', 0n, maxContext(ep.S, this.epochBits));
    return c;
  }

  #drop(reason: DropReason): DecryptResult {
    this.#dropped[reason]++;
    return { ok: false, reason };
  }

  /**
   * For a KID whose epoch slot is empty: a future epoch (hold the frame) or a past one (drop it)? Epochs
   * advance one commit at a time, so the nearest candidates are current + d and current - (2^E - d) with
   * d = (slot - current) mod 2^E; the frame counts as future when d <= 2^(E-1). A past epoch older than the
   * first one this bridge installed is 'before-join': a newcomer gets frames its peers sent under the epoch
   * before the commit that added it, and no key for them will ever arrive, so holding them only delays the
   * frames behind them.
   */
  #classifySlot(slot: number): 'future' | 'expired-epoch' | 'before-join' {
    const cur = this.#current;
    if (cur === undefined) return 'future';
    const size = 2 ** this.epochBits;
    const d = (((slot - cur.slot) % size) + size) % size;
    if (d !== 0 && d <= size / 2) return 'future';
    const past = cur.epoch - BigInt(d === 0 ? size : size - d);
    return this.#firstEpoch !== undefined && past < this.#firstEpoch ? 'before-join' : 'expired-epoch';
  }

  /** Does this bridge hold keys for the epoch named by `kid`'s low E bits right now? (No hold, no wait.) */
  hasEpochFor(kid: bigint): boolean {
    if (typeof kid !== 'bigint') return false;
    this.#purgeExpired();
    return this.#bySlot.has(Number(kid & this.#mask));
  }

  #hold(frame: Uint8Array, metadata: Uint8Array, header: SFrameHeader, slot: number): Promise<DecryptResult> {
    const bytes = frame.length + metadata.length;
    if (this.holdMaxFrames === 0 || bytes > this.holdMaxBytes) return Promise.resolve(this.#drop('hold-overflow'));
    return new Promise<DecryptResult>((resolve) => {
      // Oldest first: the frames most likely to time out anyway make room for the newest.
      while (this.#held.length >= this.holdMaxFrames || this.#heldBytes + bytes > this.holdMaxBytes) {
        const oldest = this.#held.shift()!;
        this.#heldBytes -= oldest.bytes;
        this.#clock.clearTimer(oldest.timer);
        oldest.resolve(this.#drop('hold-overflow'));
      }
      const h: HeldFrame = { frame, metadata, header, slot, bytes, resolve, timer: undefined };
      h.timer = this.#clock.setTimer(() => {
        const i = this.#held.indexOf(h);
        if (i < 0) return;
        this.#held.splice(i, 1);
        this.#heldBytes -= h.bytes;
        resolve(this.#drop('unknown-epoch-timeout'));
      }, this.holdMs);
      this.#held.push(h);
      this.#heldBytes += bytes;
    });
  }

  #releaseHeld(ep: EpochState): void {
    const released: HeldFrame[] = [];
    const kept: HeldFrame[] = [];
    for (const h of this.#held) {
      if (h.slot === ep.slot) {
        released.push(h);
        continue;
      }
      // Frames held before the first install (no epoch to compare with) may now turn out to be past epochs:
      // drop them at once instead of letting each one wait out holdMs.
      const where = this.#bySlot.has(h.slot) ? 'future' : this.#classifySlot(h.slot);
      if (where === 'future') {
        kept.push(h);
      } else {
        this.#clock.clearTimer(h.timer);
        h.resolve(this.#drop(where));
      }
    }
    this.#held = kept;
    this.#heldBytes = kept.reduce((n, h) => n + h.bytes, 0);
    if (released.length === 0) return;
    for (const h of released) this.#clock.clearTimer(h.timer);
    const drain = (async () => {
      // One at a time, in arrival order: resolution order follows arrival order.
      for (const h of released) h.resolve(await this.#decryptWith(ep, h.header, h.frame, h.metadata, true));
    })();
    const tail: Promise<void> = drain.finally(() => {
      if (ep.drain === tail) ep.drain = undefined;
    });
    ep.drain = tail;
  }

  async #decryptWith(ep: EpochState, header: SFrameHeader, frame: Uint8Array, metadata: Uint8Array, held: boolean): Promise<DecryptResult> {
    if (this.#closed) return this.#drop('closed');
    if (ep.removed) return this.#drop('expired-epoch');
    const { senderIndex, context } = parseKid(header.kid, ep.S, this.epochBits);
    if (senderIndex >= ep.treeSize) return this.#drop('unknown-sender');
    if (senderIndex === ep.ownLeafIndex) return this.#drop('own-kid');
    try {
      const key = await this.#receiveKey(ep, header.kid);
      const plaintext = await key.unprotect(header, frame, metadata);
      this.#decrypted++;
      if (held) this.#heldThenDecrypted++;
      return { ok: true, frame: plaintext, epoch: ep.epoch, kid: header.kid, ctr: header.ctr, senderIndex, context, held };
    } catch (e) {
      if (isSFrameError(e)) {
        switch (e.code) {
          case 'auth-failed':
            this.#authFailed++;
            return { ok: false, reason: 'auth-failed' };
          case 'replay':
            this.#replayed++;
            return { ok: false, reason: 'replay' };
          case 'malformed-ciphertext':
          case 'malformed-header':
            this.#malformed++;
            return { ok: false, reason: 'malformed' };
          case 'closed':
            return this.#drop(this.#closed ? 'closed' : 'expired-epoch');
          default:
            break;
        }
      }
      // Anything else (a backend failure) is treated as a frame that does not authenticate: discard it.
      this.#authFailed++;
      return { ok: false, reason: 'auth-failed' };
    }
  }

  #sendKey(ep: EpochState, kid: bigint): Promise<SFrameSendKey> {
    let p = ep.send.get(kid);
    if (p === undefined) {
      const baseKey = ep.baseKey.slice(); // the epoch may be removed (and its key wiped) while we derive
      const store = this.#store;
      this.#encryptedUnder.add(ep.fingerprint);
      p = (async () => {
        try {
          let key: SFrameSendKey;
          if (store !== undefined) {
            const slot = `${ep.fingerprint}:${kid.toString(16)}`;
            const first = (await store.load(slot)) ?? 0n;
            key = await SFrameSendKey.create(this.backend, this.suite, kid, baseKey, {
              firstCounter: first,
              reserve: (upTo) => store.save(slot, upTo),
              reserveBlock: this.#counterBlock,
            });
          } else {
            key = await SFrameSendKey.create(this.backend, this.suite, kid, baseKey);
          }
          if (ep.removed) {
            key.destroy();
            throw new SFrameError('closed', `epoch ${ep.epoch} was removed`);
          }
          return key;
        } finally {
          wipe(baseKey);
        }
      })();
      ep.send.set(kid, p);
      p.catch(() => {
        if (ep.send.get(kid) === p) ep.send.delete(kid);
      });
    }
    return p;
  }

  #receiveKey(ep: EpochState, kid: bigint): Promise<SFrameReceiveKey> {
    let p = ep.receive.get(kid);
    if (p === undefined) {
      const baseKey = ep.baseKey.slice();
      p = (async () => {
        try {
          const key = await SFrameReceiveKey.create(this.backend, this.suite, kid, baseKey, { replayWindow: this.replayWindow });
          if (ep.removed) {
            key.destroy();
            throw new SFrameError('closed', `epoch ${ep.epoch} was removed`);
          }
          return key;
        } finally {
          wipe(baseKey);
        }
      })();
      ep.receive.set(kid, p);
      p.catch(() => {
        if (ep.receive.get(kid) === p) ep.receive.delete(kid);
      });
    }
    return p;
  }

  #scheduleExpiry(ep: EpochState): void {
    if (ep.expiresAt !== undefined) return;
    ep.expiresAt = this.#clock.now() + this.graceMs;
    if (this.#nextExpiry === undefined || ep.expiresAt < this.#nextExpiry) this.#nextExpiry = ep.expiresAt;
    ep.expiryTimer = this.#clock.setTimer(() => this.#purgeExpired(), this.graceMs);
  }

  #purgeExpired(): void {
    if (this.#nextExpiry === undefined) return;
    const now = this.#clock.now();
    if (now < this.#nextExpiry) return;
    let next: number | undefined;
    for (const ep of [...this.#bySlot.values()]) {
      if (ep === this.#current || ep.expiresAt === undefined) continue;
      if (ep.expiresAt <= now) this.#removeEpoch(ep);
      else if (next === undefined || ep.expiresAt < next) next = ep.expiresAt;
    }
    this.#nextExpiry = next;
  }

  /** Removes an epoch and wipes its base key and every derived key. */
  #removeEpoch(ep: EpochState): void {
    if (ep.removed) return;
    ep.removed = true;
    if (this.#bySlot.get(ep.slot) === ep) this.#bySlot.delete(ep.slot);
    this.#clock.clearTimer(ep.expiryTimer);
    wipe(ep.baseKey);
    for (const p of ep.send.values()) p.then((k) => k.destroy(), () => {});
    for (const p of ep.receive.values()) p.then((k) => k.destroy(), () => {});
    ep.send.clear();
    ep.sendReady.clear();
    ep.receive.clear();
    if (this.#current === ep) {
      let best: EpochState | undefined;
      for (const other of this.#bySlot.values()) if (best === undefined || other.epoch > best.epoch) best = other;
      this.#current = best;
    }
  }
}
