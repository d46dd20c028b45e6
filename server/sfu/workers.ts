// mediasoup worker pool: one Worker process per core (config.numWorkers), routers assigned
// round-robin. close() closes every worker and waits until each process has exited.
import { existsSync } from 'node:fs';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { ServerConfig } from '../config.js';
import { StartupError } from '../errors.js';

export function workerBinary(): string {
  return mediasoup.workerBin;
}

export class WorkerPool {
  readonly #workers: types.Worker[] = [];
  #next = 0;
  #closed = false;
  readonly #log: (line: string) => void;
  readonly #config: ServerConfig;

  private constructor(config: ServerConfig, log: (line: string) => void) {
    this.#config = config;
    this.#log = log;
  }

  /** Starts config.numWorkers workers. A missing worker binary is a StartupError with a fix. */
  static async create(config: ServerConfig, log: (line: string) => void = () => {}): Promise<WorkerPool> {
    const bin = workerBinary();
    if (!existsSync(bin)) {
      throw new StartupError(
        `mediasoup worker binary not found at ${bin}: run \`npm install\` (or \`bash scripts/setup-worker.sh\`) to build it, or set MEDIASOUP_WORKER_BIN`,
      );
    }
    const pool = new WorkerPool(config, log);
    try {
      for (let i = 0; i < config.numWorkers; i++) await pool.#spawn();
    } catch (e) {
      await pool.close();
      if (e instanceof StartupError) throw e;
      throw new StartupError(`mediasoup worker failed to start (${(e as Error).message}): check ${bin} runs, or set MEDIASOUP_WORKER_BIN`);
    }
    return pool;
  }

  async #spawn(): Promise<types.Worker> {
    const worker = await mediasoup.createWorker({
      logLevel: this.#config.workerLogLevel,
      rtcMinPort: this.#config.rtcMinPort,
      rtcMaxPort: this.#config.rtcMaxPort,
    });
    worker.on('died', (error) => {
      this.#log(`mediasoup worker ${worker.pid} died: ${error.message}; its rooms lose media until they are re-created`);
      const i = this.#workers.indexOf(worker);
      if (i >= 0) this.#workers.splice(i, 1);
      if (!this.#closed) this.#spawn().catch((e: Error) => this.#log(`could not replace the mediasoup worker: ${e.message}`));
    });
    this.#workers.push(worker);
    return worker;
  }

  get workers(): readonly types.Worker[] {
    return this.#workers;
  }

  /** The next worker, round-robin. */
  next(): types.Worker {
    if (this.#closed) throw new Error('worker pool is closed');
    const worker = this.#workers[this.#next++ % this.#workers.length];
    if (!worker) throw new Error('no mediasoup worker is running');
    return worker;
  }

  /** Closes every worker and waits (bounded) until their processes are gone. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const pids = this.#workers.map((w) => w.pid);
    for (const w of this.#workers.splice(0)) w.close();
    const deadline = Date.now() + 5000;
    for (const pid of pids) {
      while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (processAlive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
