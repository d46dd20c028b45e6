// Browser participants: headless Chromium (puppeteer-core) on the real page, one browser per participant
// with a fresh --user-data-dir, fake camera and microphone, autojoin.
//
// Timing probe: the page's window.__e2ee hook gives counters the transform worker posts every 250 ms. For
// finer times, a script installed before the page loads wraps window.Worker, asks the transform worker for
// its counters every 25 ms (the worker's own `get-stats` message, client/e2ee/messages.ts) and records when
// each epoch was installed and first used to encrypt / decrypt, and the first frame from each peer. It
// reads counters only: no keys, no media.

import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'puppeteer-core';
import type { LoadEvent, LossReason } from './events.js';
import { isBeforeJoin, lossReasonOf } from './events.js';
import { CHROMIUM_ARGS } from '../support/chromium.js';

const LIVE_BROWSERS = new Set<ChildProcess>();

/** Emergency stop (second Ctrl-C): SIGKILL every browser this process launched. Synchronous. */
export function killAllBrowsersNow(): void {
  for (const p of LIVE_BROWSERS) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  LIVE_BROWSERS.clear();
}

export { CHROMIUM_ARGS };

/** Runs in the page before its scripts (page.evaluateOnNewDocument). Plain JS: no imports. */
const PROBE = `(() => {
  const probe = { epochs: {}, enc: {}, dec: {}, from: {}, drops: {}, workerEpoch: '' };
  const seen = {};
  const workers = [];
  const Orig = window.Worker;
  if (!Orig) return;
  class ProbedWorker extends Orig {
    constructor(url, opts) {
      super(url, opts);
      workers.push(this);
      this.addEventListener('message', (ev) => onMsg(ev.data));
    }
  }
  window.Worker = ProbedWorker;
  setInterval(() => { for (const w of workers) { try { w.postMessage({ type: 'get-stats' }); } catch (e) {} } }, 25);
  function onMsg(m) {
    if (!m || m.type !== 'stats' || !Array.isArray(m.streams)) return;
    const t = Date.now();
    if (m.epoch && !(m.epoch in probe.epochs)) probe.epochs[m.epoch] = t;
    probe.workerEpoch = m.epoch || '';
    for (const s of m.streams) {
      const prev = seen[s.id] || { enc: 0, dec: 0 };
      if (s.direction === 'send' && s.framesEncrypted > prev.enc && s.lastEpoch && !(s.lastEpoch in probe.enc)) probe.enc[s.lastEpoch] = t;
      if (s.direction === 'recv' && s.framesDecrypted > prev.dec) {
        if (s.lastEpoch && !(s.lastEpoch in probe.dec)) probe.dec[s.lastEpoch] = t;
        if (s.peer && !(s.peer in probe.from)) probe.from[s.peer] = t;
      }
      if (s.direction === 'recv') probe.drops[s.id] = { peer: s.peer, reasons: Object.assign({}, s.dropReasons || {}) };
      seen[s.id] = { enc: s.framesEncrypted, dec: s.framesDecrypted };
    }
  }
  Object.defineProperty(window, '__loadProbe', { value: { snapshot: () => JSON.parse(JSON.stringify(probe)) } });
})();`;

interface ProbeSnapshot {
  epochs: Record<string, number>;
  enc: Record<string, number>;
  dec: Record<string, number>;
  from: Record<string, number>;
  drops: Record<string, { peer: string; reasons: Record<string, number> }>;
  workerEpoch: string;
}

interface PageStatus {
  phase: string;
  error: { code: string; title: string; detail: string } | null;
  status: {
    memberId: string;
    epoch: string | null;
    members: Array<{ memberId: string; name: string }>;
    streams: Array<{ direction: string; kind: string; peer: string; framesEncrypted: number; framesDecrypted: number; dropReasons?: Record<string, number> }>;
    workerErrors: string[];
    epochHistory: { epoch: string; at: number; roster: string[] }[];
  } | null;
  probe: ProbeSnapshot | null;
}

/**
 * One Chromium process for every participant of a run (--browser-process shared): each participant is a page in
 * its own isolated browser context (own storage, own renderer process), so N participants cost N renderers
 * instead of N whole browsers (browser, GPU and network processes each). Closed with closeSharedBrowser().
 */
let shared: { browser: Promise<Browser>; userDataDir: string } | null = null;

async function launchChromium(chromiumPath: string, userDataDir: string): Promise<Browser> {
  const { default: puppeteer } = await import('puppeteer-core');
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    userDataDir,
    args: [...CHROMIUM_ARGS],
    protocolTimeout: 60_000,
    // The load test handles Ctrl-C itself (it still writes the report); puppeteer's own handlers would exit.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const proc = browser.process();
  if (proc) {
    LIVE_BROWSERS.add(proc);
    proc.once('exit', () => LIVE_BROWSERS.delete(proc));
  }
  return browser;
}

export async function sharedBrowserPid(): Promise<number | null> {
  const b = await shared?.browser.catch(() => null);
  return b?.process()?.pid ?? null;
}

export async function closeSharedBrowser(): Promise<void> {
  const s = shared;
  shared = null;
  if (!s) return;
  const b = await s.browser.catch(() => null);
  if (b) {
    const proc = b.process();
    await Promise.race([b.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
  rmSync(s.userDataDir, { recursive: true, force: true });
}

export class BrowserParticipant {
  readonly pid: string;
  #browser: Browser | null = null;
  #context: BrowserContext | null = null;
  #page: Page | null = null;
  #userDataDir: string | null = null;
  #emit: (ev: LoadEvent) => void;
  #reported = { epochs: new Set<string>(), enc: new Set<string>(), dec: new Set<string>(), from: new Set<string>(), rosters: new Set<string>() };
  #drops = new Map<string, number>();
  #joinedAt: number | null = null;
  #errorsSeen = 0;
  #closed = false;
  framesEncrypted = 0;
  framesDecrypted = 0;

  constructor(pid: string, emit: (ev: LoadEvent) => void) {
    this.pid = pid;
    this.#emit = emit;
  }

  /** The browser process this participant owns (null in a shared browser: see sharedBrowserPid). */
  get pidOfBrowser(): number | null {
    return this.#browser?.process()?.pid ?? null;
  }
  get joined(): boolean {
    return this.#joinedAt !== null;
  }

  /** Starts this participant's browser (own process), or a context in the run's shared browser. */
  async launch(chromiumPath: string, process: 'own' | 'shared' = 'own'): Promise<void> {
    if (process === 'shared') {
      if (!shared) {
        const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'loadtest-shared-'));
        shared = { userDataDir, browser: launchChromium(chromiumPath, userDataDir) };
      }
      const browser = await shared.browser;
      this.#context = await browser.createBrowserContext();
      this.#page = await this.#context.newPage();
    } else {
      this.#userDataDir = mkdtempSync(path.join(os.tmpdir(), `loadtest-${this.pid}-`));
      this.#browser = await launchChromium(chromiumPath, this.#userDataDir);
      this.#page = await this.#browser.newPage();
    }
    await this.#page.evaluateOnNewDocument(PROBE);
    this.#page.on('pageerror', (e) => this.#emit({ type: 'error', pid: this.pid, at: Date.now(), message: `page error: ${String((e as Error).message ?? e).slice(0, 200)}` }));
  }

  /**
   * Opens the page with autojoin; resolves when the page reports it joined. Throws after timeoutMs, on a page
   * error, or when `signal` aborts. A page whose app never starts (e.g. client/dist being rebuilt at that
   * moment) is reloaded, at most 3 times.
   */
  async join(baseUrl: string, room: string, timeoutMs: number, signal?: AbortSignal, quality: 'low' | 'normal' = 'low'): Promise<void> {
    const page = this.#page!;
    const at = Date.now();
    this.#emit({ type: 'join-start', pid: this.pid, kind: 'browser', at, send: true, recv: true });
    const url = `${baseUrl}/?room=${encodeURIComponent(room)}&name=${encodeURIComponent(this.pid)}&autojoin=1&quality=${quality}`;
    await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30_000 });
    let loadedAt = Date.now();
    let reloads = 0;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (signal?.aborted) throw new Error('stopped before the page joined');
      const s = await this.#read();
      if (s?.error) throw new Error(`${s.error.code}: ${s.error.title} ${s.error.detail}`.slice(0, 300));
      if (s?.status?.epoch !== null && s?.status?.epoch !== undefined && s.phase === 'joined') {
        const first = s.probe ? Math.min(...Object.values(s.probe.epochs)) : NaN;
        this.#joinedAt = Number.isFinite(first) ? first : Date.now();
        this.#emit({ type: 'joined', pid: this.pid, at: this.#joinedAt, epoch: Number(s.status.epoch) });
        this.#ingest(s);
        return;
      }
      if (Date.now() > deadline) throw new Error(`page did not join within ${timeoutMs} ms (phase ${s?.phase ?? '?'})`);
      if ((s === null || s.phase === 'loading') && Date.now() - loadedAt > 15_000 && reloads < 3) {
        reloads++;
        this.#emit({ type: 'error', pid: this.pid, at: Date.now(), message: `page app did not start within 15 s: reload ${reloads}` });
        await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 30_000 }).catch(() => undefined);
        loadedAt = Date.now();
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async #read(): Promise<PageStatus | null> {
    const page = this.#page;
    if (!page || this.#closed) return null;
    return page
      .evaluate(() => {
        const w = window as unknown as {
          __e2ee?: { phase: string; error: unknown; status(): unknown };
          __loadProbe?: { snapshot(): unknown };
        };
        return {
          phase: w.__e2ee?.phase ?? 'loading',
          error: w.__e2ee?.error ?? null,
          status: w.__e2ee?.status() ?? null,
          probe: w.__loadProbe?.snapshot() ?? null,
        };
      })
      .catch(() => null) as Promise<PageStatus | null>;
  }

  /** Reads the page and turns new observations into events. */
  async poll(): Promise<void> {
    const s = await this.#read();
    if (s) this.#ingest(s);
  }

  #ingest(s: PageStatus): void {
    const probe = s.probe;
    const st = s.status;
    if (!probe || !st) return;
    const names = new Map(st.members.map((m) => [m.memberId, m.name]));
    const nameOf = (peer: string) => names.get(peer) ?? peer;
    for (const [epoch, at] of Object.entries(probe.epochs)) {
      if (this.#reported.epochs.has(epoch)) continue;
      this.#reported.epochs.add(epoch);
      this.#emit({ type: 'epoch', pid: this.pid, at, epoch: Number(epoch), size: st.members.length, continuous: false, added: [], removed: [] });
    }
    // The page's epoch history carries each epoch's roster: consecutive epochs give who joined and who left.
    const history = [...st.epochHistory].sort((a, b) => Number(a.epoch) - Number(b.epoch));
    for (let i = 1; i < history.length; i++) {
      const [prev, cur] = [history[i - 1]!, history[i]!];
      if (Number(cur.epoch) !== Number(prev.epoch) + 1 || this.#reported.rosters.has(cur.epoch)) continue;
      this.#reported.rosters.add(cur.epoch);
      const before = new Set(prev.roster);
      const after = new Set(cur.roster);
      this.#emit({
        type: 'epoch', pid: this.pid, at: cur.at, epoch: Number(cur.epoch), size: cur.roster.length, continuous: true,
        added: cur.roster.filter((n) => !before.has(n)), removed: prev.roster.filter((n) => !after.has(n)),
      });
    }
    for (const [epoch, at] of Object.entries(probe.enc)) {
      if (this.#reported.enc.has(epoch)) continue;
      this.#reported.enc.add(epoch);
      this.#emit({ type: 'enc-first', pid: this.pid, epoch: Number(epoch), at });
    }
    for (const [epoch, at] of Object.entries(probe.dec)) {
      if (this.#reported.dec.has(epoch)) continue;
      this.#reported.dec.add(epoch);
      this.#emit({ type: 'dec-first', pid: this.pid, epoch: Number(epoch), at });
    }
    for (const [peer, at] of Object.entries(probe.from)) {
      const from = nameOf(peer);
      if (this.#reported.from.has(from)) continue;
      this.#reported.from.add(from);
      this.#emit({ type: 'first-from', pid: this.pid, from, at });
    }
    // Drops: deltas per stream and reason, attributed to the worker's current epoch.
    const current = Number(probe.workerEpoch || st.epoch || -1);
    const lost = new Map<string, { reason: LossReason; beforeJoin: boolean; count: number }>();
    for (const [id, d] of Object.entries(probe.drops)) {
      for (const [detail, n] of Object.entries(d.reasons)) {
        const key = `${id}|${detail}`;
        const before = this.#drops.get(key) ?? 0;
        if (n > before) {
          const reason = lossReasonOf(detail);
          const beforeJoin = isBeforeJoin(detail);
          const rec = lost.get(`${reason}|${beforeJoin}`) ?? { reason, beforeJoin, count: 0 };
          rec.count += n - before;
          lost.set(`${reason}|${beforeJoin}`, rec);
          this.#drops.set(key, n);
        }
      }
    }
    for (const { reason, beforeJoin, count } of lost.values()) {
      this.#emit({ type: 'lost', pid: this.pid, epoch: current, reason, count, at: Date.now(), beforeJoin });
    }
    let enc = 0;
    let dec = 0;
    const decryptedFrom: Record<string, number> = {};
    for (const x of st.streams) {
      if (x.direction === 'send') enc += x.framesEncrypted;
      else {
        dec += x.framesDecrypted;
        const from = nameOf(x.peer);
        decryptedFrom[from] = (decryptedFrom[from] ?? 0) + x.framesDecrypted;
      }
    }
    this.framesEncrypted = enc;
    this.framesDecrypted = dec;
    this.#emit({ type: 'counters', pid: this.pid, framesEncrypted: enc, framesDecrypted: dec, decryptedFrom, rtpGaps: 0, commitsProcessed: 0 });
    for (const e of st.workerErrors.slice(this.#errorsSeen)) this.#emit({ type: 'error', pid: this.pid, at: Date.now(), message: `worker: ${e}`.slice(0, 300) });
    this.#errorsSeen = st.workerErrors.length;
  }

  /** End of run: final poll, then close the browser and remove its profile. */
  async stop(): Promise<void> {
    if (this.#closed) return;
    await this.poll().catch(() => undefined);
    this.#closed = true;
    this.#emit({ type: 'left', pid: this.pid, at: Date.now(), how: 'stopped' });
    await this.kill();
  }

  /** Closes the browser (bounded), killing its process if close hangs. */
  async kill(): Promise<void> {
    this.#closed = true;
    const ctx = this.#context;
    this.#context = null;
    if (ctx) await Promise.race([ctx.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    const b = this.#browser;
    this.#browser = null;
    if (b) {
      const proc = b.process();
      await Promise.race([b.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    }
    if (this.#userDataDir) rmSync(this.#userDataDir, { recursive: true, force: true });
    this.#userDataDir = null;
  }
}
