// Main-thread side of the synthetic participants: N worker threads, participants spread over them,
// events forwarded to the collector. stop() ends every participant and terminates the threads (bounded).

import { Worker } from 'node:worker_threads';
import type { LeaveHow, LoadEvent } from '../events.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker.js';

/**
 * The thread runs TypeScript, but a worker does not inherit the main thread's tsx hooks (and `--import tsx`
 * in a worker's execArgv is not honoured on Node 20): a small eval'd bootstrap registers tsx, then imports it.
 */
function bootstrap(target: URL): string {
  const api = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target.href)}); })` +
    `.catch((e) => { console.error('synthetic thread failed to start:', e); process.exit(1); });`;
}

export class SyntheticPool {
  readonly #workers: Worker[] = [];
  readonly #owner = new Map<string, number>();
  readonly #load: number[] = [];
  readonly #onEvent: (ev: LoadEvent) => void;
  readonly #onFatal: (message: string) => void;
  #stopped = false;

  private constructor(onEvent: (ev: LoadEvent) => void, onFatal: (message: string) => void) {
    this.#onEvent = onEvent;
    this.#onFatal = onFatal;
  }

  static async create(
    threads: number,
    init: Omit<WorkerInit, 'index'>,
    onEvent: (ev: LoadEvent) => void,
    onFatal: (message: string) => void,
  ): Promise<SyntheticPool> {
    const pool = new SyntheticPool(onEvent, onFatal);
    const url = new URL('./worker.ts', import.meta.url);
    for (let i = 0; i < threads; i++) {
      const w = new Worker(bootstrap(url), {
        eval: true,
        workerData: { ...init, index: i } satisfies WorkerInit,
        execArgv: [],
        resourceLimits: { maxOldGenerationSizeMb: 8192 },
      });
      w.on('message', (m: FromWorker) => {
        if (m.kind === 'events') for (const ev of m.events) pool.#onEvent(ev);
      });
      w.on('error', (e) => pool.#onFatal(`synthetic thread ${i}: ${e.message}`));
      w.on('exit', (code) => {
        if (!pool.#stopped && code !== 0) pool.#onFatal(`synthetic thread ${i} exited with ${code}`);
      });
      pool.#workers.push(w);
      pool.#load.push(0);
    }
    await Promise.all(pool.#workers.map((w) => new Promise<void>((resolve) => (w.threadId >= 0 ? resolve() : w.once('online', () => resolve())))));
    return pool;
  }

  get threads(): number {
    return this.#workers.length;
  }

  /** The last `n` threads take only participants spawned with `newcomer` (see LoadOptions.newcomerThread). */
  #newcomerThreads = 0;
  reserveNewcomerThreads(n: number): void {
    this.#newcomerThreads = Math.max(0, Math.min(n, this.#workers.length - 1));
  }

  spawn(pid: string, send: boolean, recv: boolean, newcomer = false): void {
    if (this.#stopped) return;
    // Least-loaded thread of its kind.
    const shared = this.#workers.length - this.#newcomerThreads;
    const [from, to] = newcomer && this.#newcomerThreads > 0 ? [shared, this.#workers.length] : [0, shared];
    let best = from;
    for (let i = from + 1; i < to; i++) if (this.#load[i]! < this.#load[best]!) best = i;
    this.#owner.set(pid, best);
    this.#load[best]!++;
    this.#workers[best]!.postMessage({ cmd: 'spawn', pid, send, recv } satisfies ToWorker);
  }

  leave(pid: string, how: LeaveHow): void {
    const i = this.#owner.get(pid);
    if (i === undefined || this.#stopped) return;
    this.#owner.delete(pid);
    this.#load[i]!--;
    this.#workers[i]!.postMessage({ cmd: 'leave', pid, how } satisfies ToWorker);
  }

  /** Stops every participant (final counters flushed) and ends the threads; terminates after timeoutMs. */
  async stop(timeoutMs = 15_000): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              void w.terminate().finally(resolve);
            }, timeoutMs);
            w.on('message', (m: FromWorker) => {
              if (m.kind === 'stopped') {
                clearTimeout(t);
                void w.terminate().finally(resolve);
              }
            });
            w.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            w.postMessage({ cmd: 'stop' } satisfies ToWorker);
          }),
      ),
    );
  }

  /** Hard stop (second Ctrl-C). */
  async terminate(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers.map((w) => w.terminate().catch(() => 0)));
  }
}
