// Counter persistence for restart safety (RFC 9605 Appendix B.1 "Header Value Uniqueness": store the next CTR
// before using it). The key bridge reserves CTRs in blocks: before any CTR below m is used, save(slot, m) has
// resolved. After a restart, load(slot) returns m and encryption resumes at m, so no (key, nonce) repeats.

export interface CounterStore {
  /** The persisted high-water mark for `slot` (every CTR below it may have been used), or undefined. */
  load(slot: string): Promise<bigint | undefined>;
  /** Persists `upTo` for `slot`; must resolve only once durable. Values for a slot only grow. */
  save(slot: string, upTo: bigint): Promise<void>;
}

/** In-memory store: survives a KeyBridge being closed and re-created (a simulated restart), not a process exit. */
export class MemoryCounterStore implements CounterStore {
  readonly #values = new Map<string, bigint>();
  saves = 0;

  async load(slot: string): Promise<bigint | undefined> {
    return this.#values.get(slot);
  }

  async save(slot: string, upTo: bigint): Promise<void> {
    const old = this.#values.get(slot);
    if (old !== undefined && upTo < old) throw new RangeError(`counter for ${slot} must not go backwards`);
    this.#values.set(slot, upTo);
    this.saves++;
  }

  get size(): number {
    return this.#values.size;
  }
}
