// One SFrame key (one KID) in one role, RFC 9605 §4.4.1: "Implementations MUST mark each base_key as usable
// for encryption or decryption, never both." A send key owns its CTR (callers never pass a nonce); a receive
// key owns its replay window.

import { assertBigInt, assertBytes, assertInt, concat, wipe } from '../bytes/index.js';
import type { SFrameAead, SFrameBackend } from './backend.js';
import { deriveKeySalt, formNonce } from './derive.js';
import { SFrameError } from './errors.js';
import { encodeHeaderInto, headerLength, MAX_UINT64, type SFrameHeader } from './header.js';
import { ReplayWindow } from './replay.js';
import type { SFrameSuite } from './suites.js';

const EMPTY = new Uint8Array(0);
const COUNTER_SPACE = MAX_UINT64 + 1n; // 2^64: one past the last CTR

/**
 * Persists a counter high-water mark before counters below it are used (RFC 9605 Appendix B.1: "write the next
 * CTR value back to storage before using the CTR value"). Must resolve only once the value is durable.
 */
export type CounterReserve = (upTo: bigint) => Promise<void>;

export interface SendKeyOptions {
  /** First CTR to use (default 0). With `reserve`, the value loaded from storage. */
  firstCounter?: bigint;
  /**
   * If given, counters are used only below a persisted high-water mark: before CTR n is used, `reserve(m)` with
   * m > n has resolved. Without it, the key may use every CTR from `firstCounter` to 2^64-1 (in-memory only).
   */
  reserve?: CounterReserve;
  /** Counters reserved per `reserve` call (default 1024). */
  reserveBlock?: number;
}

export class SFrameSendKey {
  readonly suite: SFrameSuite;
  readonly kid: bigint;
  #aead: SFrameAead | undefined;
  #salt: Uint8Array;
  #next: bigint;
  /** Counters below this bound may be used (exclusive); 2^64 when there is no reservation. */
  #limit: bigint;
  readonly #reserve: CounterReserve | undefined;
  readonly #block: bigint;
  #pending: Promise<void> | undefined;

  private constructor(suite: SFrameSuite, kid: bigint, aead: SFrameAead, salt: Uint8Array, o: SendKeyOptions) {
    this.suite = suite;
    this.kid = kid;
    this.#aead = aead;
    this.#salt = salt;
    this.#next = o.firstCounter ?? 0n;
    this.#reserve = o.reserve;
    this.#limit = o.reserve ? this.#next : COUNTER_SPACE;
    this.#block = BigInt(o.reserveBlock ?? 1024);
  }

  /** Derives sframe_key/sframe_salt for `kid` from `baseKey` (§4.4.2) and imports the key once. */
  static async create(
    backend: SFrameBackend,
    suite: SFrameSuite,
    kid: bigint,
    baseKey: Uint8Array,
    options: SendKeyOptions = {},
  ): Promise<SFrameSendKey> {
    assertBigInt(kid, 'kid', 0n, MAX_UINT64);
    assertBytes(baseKey, 'baseKey');
    if (options.firstCounter !== undefined) assertBigInt(options.firstCounter, 'firstCounter', 0n, COUNTER_SPACE);
    if (options.reserveBlock !== undefined) assertInt(options.reserveBlock, 'reserveBlock', 1, 1 << 30);
    const { key, salt } = await deriveKeySalt(backend, suite, kid, baseKey);
    try {
      const aead = await backend.importAead(suite, key);
      return new SFrameSendKey(suite, kid, aead, salt, options);
    } finally {
      wipe(key);
    }
  }

  /** The CTR the next protect() will use. */
  get nextCounter(): bigint {
    return this.#next;
  }

  get destroyed(): boolean {
    return this.#aead === undefined;
  }

  async #extend(): Promise<void> {
    if (this.#pending === undefined) {
      const reserve = this.#reserve!;
      const base = this.#limit > this.#next ? this.#limit : this.#next;
      const upTo = base + this.#block < COUNTER_SPACE ? base + this.#block : COUNTER_SPACE;
      this.#pending = (async () => {
        try {
          await reserve(upTo);
        } catch (e) {
          throw new SFrameError('counter-not-persisted', `counter reservation failed: ${(e as Error)?.message ?? e}`);
        }
        if (upTo > this.#limit) this.#limit = upTo;
      })().finally(() => {
        this.#pending = undefined;
      });
    }
    return this.#pending;
  }

  /**
   * Takes the next CTR (never reused: refuses with 'counter-exhausted' rather than wrap, RFC 9605 §7.5).
   * Synchronous once reserved, so concurrent protect() calls get distinct counters.
   */
  async #takeCounter(): Promise<bigint> {
    for (;;) {
      if (this.#aead === undefined) throw new SFrameError('closed', `key for KID ${this.kid} was removed`);
      if (this.#next >= COUNTER_SPACE) {
        throw new SFrameError('counter-exhausted', `KID ${this.kid} used every CTR value; install a new key`);
      }
      if (this.#next < this.#limit) break;
      await this.#extend();
    }
    const ctr = this.#next;
    this.#next = ctr + 1n;
    return ctr;
  }

  /**
   * SFrame encryption, RFC 9605 §4.4.3: header(KID, CTR) || AEAD.Encrypt(sframe_key, salt XOR CTR,
   * header || metadata, frame).
   */
  async protect(frame: Uint8Array, metadata: Uint8Array = EMPTY): Promise<Uint8Array> {
    assertBytes(frame, 'frame');
    assertBytes(metadata, 'metadata');
    const ctr = this.#next < this.#limit && this.#aead !== undefined ? this.#next++ : await this.#takeCounter();
    const header = new Uint8Array(headerLength(this.kid, ctr));
    encodeHeaderInto(this.kid, ctr, header, 0);
    const aad = metadata.length === 0 ? header : concat(header, metadata);
    const nonce = formNonce(this.#salt, ctr);
    const aead = this.#aead;
    if (aead === undefined) throw new SFrameError('closed', `key for KID ${this.kid} was removed`);
    return aead.seal(nonce, aad, frame, header);
  }

  /** Wipes the key; later protect() calls throw SFrameError('closed'). Idempotent. */
  destroy(): void {
    this.#aead?.destroy();
    this.#aead = undefined;
    wipe(this.#salt);
  }
}

export interface ReceiveKeyOptions {
  /** Replay window size in CTR values (default 128); see replay.ts. */
  replayWindow?: number;
}

export class SFrameReceiveKey {
  readonly suite: SFrameSuite;
  readonly kid: bigint;
  #aead: SFrameAead | undefined;
  #salt: Uint8Array;
  readonly #replayWindow: ReplayWindow;

  private constructor(suite: SFrameSuite, kid: bigint, aead: SFrameAead, salt: Uint8Array, window: ReplayWindow) {
    this.suite = suite;
    this.kid = kid;
    this.#aead = aead;
    this.#salt = salt;
    this.#replayWindow = window;
  }

  static async create(
    backend: SFrameBackend,
    suite: SFrameSuite,
    kid: bigint,
    baseKey: Uint8Array,
    options: ReceiveKeyOptions = {},
  ): Promise<SFrameReceiveKey> {
    assertBigInt(kid, 'kid', 0n, MAX_UINT64);
    assertBytes(baseKey, 'baseKey');
    const window = new ReplayWindow(options.replayWindow);
    const { key, salt } = await deriveKeySalt(backend, suite, kid, baseKey);
    try {
      const aead = await backend.importAead(suite, key);
      return new SFrameReceiveKey(suite, kid, aead, salt, window);
    } finally {
      wipe(key);
    }
  }

  get destroyed(): boolean {
    return this.#aead === undefined;
  }

  /** Highest CTR accepted so far (-1n if none). */
  get highestCounter(): bigint {
    return this.#replayWindow.highest;
  }

  /**
   * SFrame decryption, RFC 9605 §4.4.4, for a ciphertext whose header was already decoded (header.kid ===
   * this.kid). The tag is verified first; only then is the CTR checked against and recorded in the replay
   * window (so forged frames can never move the window).
   */
  async unprotect(header: SFrameHeader, ciphertext: Uint8Array, metadata: Uint8Array = EMPTY): Promise<Uint8Array> {
    const aead = this.#aead;
    if (aead === undefined) throw new SFrameError('closed', `key for KID ${this.kid} was removed`);
    if (header.kid !== this.kid) throw new SFrameError('unknown-kid', `header KID ${header.kid} is not this key's KID`);
    if (ciphertext.length < header.length + this.suite.Nt) {
      throw new SFrameError('malformed-ciphertext', `ciphertext has ${ciphertext.length - header.length} bytes after the header, tag needs ${this.suite.Nt}`);
    }
    const headerBytes = ciphertext.subarray(0, header.length);
    const aad = metadata.length === 0 ? headerBytes : concat(headerBytes, metadata);
    const nonce = formNonce(this.#salt, header.ctr);
    const plaintext = await aead.open(nonce, aad, ciphertext.subarray(header.length));
    if (plaintext === null) throw new SFrameError('auth-failed', `tag does not verify for KID ${this.kid}`);
    if (!this.#replayWindow.accept(header.ctr)) {
      wipe(plaintext);
      throw new SFrameError('replay', `CTR ${header.ctr} of KID ${this.kid} was already accepted or is too old`);
    }
    return plaintext;
  }

  destroy(): void {
    this.#aead?.destroy();
    this.#aead = undefined;
    wipe(this.#salt);
  }
}
