// An SFrame context (RFC 9605 Appendix A "Example API"): KID -> key, each key for encryption or decryption,
// never both (§4.4.1). protect() owns the counter per KID; unprotect() looks the key up by the header's KID.

import { assertBigInt, assertBytes } from '../bytes/index.js';
import type { SFrameBackend } from './backend.js';
import { SFrameError } from './errors.js';
import { decodeHeader, MAX_UINT64 } from './header.js';
import { SFrameReceiveKey, SFrameSendKey, type SendKeyOptions } from './keys.js';
import { DEFAULT_REPLAY_WINDOW } from './replay.js';
import { getSuite, type SFrameSuite, type SFrameSuiteId } from './suites.js';

const EMPTY = new Uint8Array(0);

export interface SFrameContextOptions {
  /** RFC 9605 §8.1 cipher suite. */
  suite: SFrameSuiteId;
  /** Crypto backend (noble, WebCrypto, or node:crypto injected by Node-side code). */
  backend: SFrameBackend;
  /** Per-KID anti-replay window in CTR values (default 128). */
  replayWindow?: number;
}

export interface UnprotectResult {
  kid: bigint;
  ctr: bigint;
  plaintext: Uint8Array;
}

export class SFrameContext {
  readonly suite: SFrameSuite;
  readonly backend: SFrameBackend;
  readonly replayWindow: number;
  readonly #send = new Map<bigint, SFrameSendKey>();
  readonly #receive = new Map<bigint, SFrameReceiveKey>();
  #closed = false;

  constructor(options: SFrameContextOptions) {
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    this.suite = getSuite(options.suite);
    if (typeof options.backend !== 'object' || options.backend === null) throw new TypeError('options.backend must be an SFrameBackend');
    this.backend = options.backend;
    this.replayWindow = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
  }

  #checkOpen(): void {
    if (this.#closed) throw new SFrameError('closed', 'SFrame context is closed');
  }

  #checkNew(kid: bigint): void {
    assertBigInt(kid, 'kid', 0n, MAX_UINT64);
    if (this.#send.has(kid) || this.#receive.has(kid)) throw new SFrameError('duplicate-kid', `KID ${kid} is already installed`);
  }

  /** Installs `baseKey` under `kid` for encryption only. */
  async addEncryptionKey(kid: bigint, baseKey: Uint8Array, options: SendKeyOptions = {}): Promise<void> {
    this.#checkOpen();
    this.#checkNew(kid);
    assertBytes(baseKey, 'baseKey');
    const key = await SFrameSendKey.create(this.backend, this.suite, kid, baseKey, options);
    if (this.#closed || this.#send.has(kid) || this.#receive.has(kid)) {
      key.destroy();
      this.#checkOpen();
      throw new SFrameError('duplicate-kid', `KID ${kid} is already installed`);
    }
    this.#send.set(kid, key);
  }

  /** Installs `baseKey` under `kid` for decryption only. */
  async addDecryptionKey(kid: bigint, baseKey: Uint8Array): Promise<void> {
    this.#checkOpen();
    this.#checkNew(kid);
    assertBytes(baseKey, 'baseKey');
    const key = await SFrameReceiveKey.create(this.backend, this.suite, kid, baseKey, { replayWindow: this.replayWindow });
    if (this.#closed || this.#send.has(kid) || this.#receive.has(kid)) {
      key.destroy();
      this.#checkOpen();
      throw new SFrameError('duplicate-kid', `KID ${kid} is already installed`);
    }
    this.#receive.set(kid, key);
  }

  /** Removes and wipes the key of `kid` (either role). Returns whether a key was removed. */
  removeKey(kid: bigint): boolean {
    assertBigInt(kid, 'kid', 0n, MAX_UINT64);
    const s = this.#send.get(kid);
    const r = this.#receive.get(kid);
    s?.destroy();
    r?.destroy();
    return this.#send.delete(kid) || this.#receive.delete(kid);
  }

  /** The CTR the next protect(kid) will use. */
  nextCounter(kid: bigint): bigint {
    const key = this.#send.get(kid);
    if (key === undefined) throw new SFrameError('unknown-kid', `no encryption key for KID ${kid}`);
    return key.nextCounter;
  }

  /** RFC 9605 §4.4.3 encrypt(CTR, KID, metadata, plaintext); the context chooses CTR. */
  async protect(kid: bigint, frame: Uint8Array, metadata: Uint8Array = EMPTY): Promise<Uint8Array> {
    this.#checkOpen();
    assertBigInt(kid, 'kid', 0n, MAX_UINT64);
    const key = this.#send.get(kid);
    if (key === undefined) {
      if (this.#receive.has(kid)) throw new SFrameError('wrong-key-role', `KID ${kid} is a decryption key`);
      throw new SFrameError('unknown-kid', `no encryption key for KID ${kid}`);
    }
    return key.protect(frame, metadata);
  }

  /** RFC 9605 §4.4.4 decrypt(metadata, sframe_ciphertext), returning the plaintext. */
  async unprotect(ciphertext: Uint8Array, metadata: Uint8Array = EMPTY): Promise<Uint8Array> {
    return (await this.unprotectDetailed(ciphertext, metadata)).plaintext;
  }

  /** As unprotect(), also returning the header's KID and CTR. */
  async unprotectDetailed(ciphertext: Uint8Array, metadata: Uint8Array = EMPTY): Promise<UnprotectResult> {
    this.#checkOpen();
    assertBytes(ciphertext, 'ciphertext');
    assertBytes(metadata, 'metadata');
    const header = decodeHeader(ciphertext);
    const key = this.#receive.get(header.kid);
    if (key === undefined) {
      if (this.#send.has(header.kid)) throw new SFrameError('wrong-key-role', `KID ${header.kid} is an encryption key`);
      throw new SFrameError('unknown-kid', `no decryption key for KID ${header.kid}`);
    }
    const plaintext = await key.unprotect(header, ciphertext, metadata);
    return { kid: header.kid, ctr: header.ctr, plaintext };
  }

  /** Wipes every key. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const k of this.#send.values()) k.destroy();
    for (const k of this.#receive.values()) k.destroy();
    this.#send.clear();
    this.#receive.clear();
  }
}
