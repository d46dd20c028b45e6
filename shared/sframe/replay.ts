// Receiver anti-replay window per KID, adapted from RFC 3711 §3.3.2 with the SFrame CTR as the index
// (RFC 9605 §7.5 / Appendix B.3). A CTR is accepted once; a CTR more than `size - 1` below the highest
// accepted CTR is rejected as too old. The window only moves when `accept` is called, which the caller does
// only after the authentication tag has verified.

import { assertInt } from '../bytes/index.js';

export const DEFAULT_REPLAY_WINDOW = 128;
export const MAX_REPLAY_WINDOW = 1 << 16;

export class ReplayWindow {
  readonly size: number;
  readonly #sizeBig: bigint;
  /** Bit i set: CTR ≡ i (mod size) was accepted (only meaningful for CTRs within the window). */
  readonly #bits: Uint32Array;
  /** Highest accepted CTR, or -1n when nothing was accepted yet. */
  #top = -1n;

  constructor(size: number = DEFAULT_REPLAY_WINDOW) {
    assertInt(size, 'replayWindow', 1, MAX_REPLAY_WINDOW);
    this.size = size;
    this.#sizeBig = BigInt(size);
    this.#bits = new Uint32Array(Math.ceil(size / 32));
  }

  get highest(): bigint {
    return this.#top;
  }

  #index(ctr: bigint): number {
    return Number(ctr % this.#sizeBig);
  }

  #get(i: number): boolean {
    return (this.#bits[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** True when `ctr` would be accepted now (not seen, not too old). Does not change state. */
  check(ctr: bigint): boolean {
    if (ctr > this.#top) return true;
    if (this.#top - ctr >= this.#sizeBig) return false; // too old: left of the window
    return !this.#get(this.#index(ctr));
  }

  /** Accepts `ctr` if `check(ctr)`, moving the window; returns false (and changes nothing) otherwise. */
  accept(ctr: bigint): boolean {
    if (!this.check(ctr)) return false;
    if (ctr > this.#top) {
      const advance = this.#top < 0n ? this.#sizeBig : ctr - this.#top;
      if (advance >= this.#sizeBig) {
        this.#bits.fill(0);
      } else {
        // Clear the slots of the CTRs the window skips over (top+1 .. ctr).
        for (let c = this.#top + 1n; c <= ctr; c++) {
          const i = this.#index(c);
          this.#bits[i >>> 5]! &= ~(1 << (i & 31));
        }
      }
      this.#top = ctr;
    }
    const i = this.#index(ctr);
    this.#bits[i >>> 5]! |= 1 << (i & 31);
    return true;
  }
}
