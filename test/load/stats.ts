// Small statistics helpers: percentile summaries and a bounded sample reservoir.

import { prng } from '../support/prng.js';

export interface Summary {
  count: number;
  p50: number | null;
  p95: number | null;
  max: number | null;
  mean: number | null;
}

/** Nearest-rank percentile of sorted values (p in [0, 100]). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const round = (v: number, digits: number) => {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
};

export function summarize(values: readonly number[], digits = 1): Summary {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { count: 0, p50: null, p95: null, max: null, mean: null };
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 50)!, digits),
    p95: round(percentile(sorted, 95)!, digits),
    max: round(sorted[sorted.length - 1]!, digits),
    mean: round(sum / sorted.length, digits),
  };
}

/**
 * Keeps at most `capacity` samples with equal probability (Vitter's algorithm R), so per-frame timings of
 * a long run stay bounded in memory. `random` is injectable for tests.
 */
export class Reservoir {
  readonly #capacity: number;
  readonly #random: () => number;
  readonly samples: number[] = [];
  seen = 0;
  constructor(capacity: number, random: () => number = Math.random) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#random = random;
  }
  add(v: number): void {
    this.seen++;
    if (this.samples.length < this.#capacity) this.samples.push(v);
    else {
      const j = Math.floor(this.#random() * this.seen);
      if (j < this.#capacity) this.samples[j] = v;
    }
  }
  /** Moves the samples out (for posting from a worker thread). */
  drain(): number[] {
    const out = this.samples.splice(0);
    return out;
  }
}

/** Deterministic PRNG (mulberry32, test/support/prng.ts) for reproducible churn choices. */
export const seededRandom = prng;

/** Wall clock in ms with sub-ms resolution, comparable across worker threads and (to ~1 ms) with browsers' Date.now(). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
