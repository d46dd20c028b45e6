// The load run: server (in-process or --url), synthetic participants in worker threads, browser
// participants, churn, sampling, and the report. runLoad() always cleans up (threads, browsers, server)
// and returns the report, also when stopped early (abort signal = Ctrl-C).

import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BrowserParticipant, closeSharedBrowser, sharedBrowserPid } from './browser.js';
import type { LoadEvent } from './events.js';
import { Collector } from './metrics.js';
import type { LoadReport, ResourceSample } from './metrics.js';
import { mediaRole, threadCount } from './options.js';
import type { LoadOptions } from './options.js';
import { writeReport } from './report.js';
import type { WrittenReport } from './report.js';
import { now, seededRandom } from './stats.js';
import { SyntheticPool } from './synthetic/pool.js';
import { cores, MediasoupWatch, processTree, sumProcs } from './sysstats.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface Progress {
  phase: 'starting' | 'joining' | 'running' | 'settling' | 'stopping' | 'report';
  elapsedS: number;
  members: number;
  target: number;
  epoch: number;
  framesPerS: number;
  lost: number;
  failures: number;
  cpuPct: number | null;
}

export interface RunHooks {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

export interface RunResult {
  report: LoadReport;
  written: WrittenReport;
  samples: { encryptMs: number[]; decryptMs: number[] };
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

export async function runLoad(o: LoadOptions, hooks: RunHooks = {}, command = 'loadtest'): Promise<RunResult> {
  const log = hooks.log ?? (() => {});
  // One stop signal: the caller's (Ctrl-C) or a fatal error here (a synthetic thread died).
  const stopper = new AbortController();
  hooks.signal?.addEventListener('abort', () => stopper.abort(), { once: true });
  if (hooks.signal?.aborted) stopper.abort();
  const signal = stopper.signal;
  const started = now();
  const loadavgStart = os.loadavg().map((v) => Math.round(v * 100) / 100);
  const c = new Collector(started);
  const rnd = seededRandom(o.seed);
  let phase: Progress['phase'] = 'starting';
  let target = o.synthetic + o.browsers;

  // ---- server --------------------------------------------------------------------------------
  const watch = new MediasoupWatch();
  let server: { url: string; wsUrl: string; close(): Promise<void> } | null = null;
  let inProcess = false;
  let cpuAtStart = process.cpuUsage();
  const cleanups: Array<() => Promise<void>> = [];
  let pool: SyntheticPool | null = null;
  const browsers: BrowserParticipant[] = [];
  const emit = (ev: LoadEvent) => c.add(ev);
  let interrupted = false;
  let endedAt = 0;

  try {
    if (o.url === null) {
      const ms = await import('mediasoup');
      watch.attach(ms);
      const { startServer } = await import('../../server/app.js');
      const { loadConfig } = await import('../../server/config.js');
      const maxMembers = o.synthetic + o.browsers + o.batch * 4 + 64;
      const cfg = loadConfig(
        {},
        {
          host: '127.0.0.1',
          port: 0,
          log: o.serverLog,
          numWorkers: o.sfuWorkers,
          maxMembersPerRoom: maxMembers,
          maxConnections: maxMembers * 2 + 100,
          reconnectGraceMs: o.reconnectGraceMs,
          heartbeatTimeoutMs: o.heartbeatTimeoutMs,
          // Handshake messages of a large group are large (UpdatePath + GroupInfo with the ratchet tree).
          maxMessageBytes: 16 * 1024 * 1024,
          handshakeLogSize: 4096,
          // MLS-only runs need no SFU (and no mediasoup worker).
          media: o.media === 'on' || o.browsers > 0,
        },
      );
      const s = await startServer(cfg);
      inProcess = true;
      server = { url: s.url.replace(/\/$/, ''), wsUrl: s.wsUrl, close: () => s.close() };
      // Exact DS accept times: observe the room's epoch around each request the hub handles.
      const hub = s.hub as unknown as { onRequest(conn: unknown, msg: { type: string }): void; rooms: Map<string, { ds: { epoch: bigint | null } }> };
      const orig = hub.onRequest.bind(hub);
      hub.onRequest = (conn, msg) => {
        const room = hub.rooms.get(o.room);
        const before = room?.ds.epoch ?? null;
        orig(conn, msg);
        const after = (room ?? hub.rooms.get(o.room))?.ds.epoch ?? null;
        if (after !== null && after !== before) c.add({ type: 'ds-commit', epoch: Number(after), at: now(), source: 'ds' });
      };
      cpuAtStart = process.cpuUsage();
      log(`server: ${server.url} (in-process, ${o.sfuWorkers} mediasoup worker(s))`);
    } else {
      const u = new URL(o.url);
      server = { url: o.url.replace(/\/$/, ''), wsUrl: `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}/ws`, close: async () => {} };
      log(`server: ${server.url} (external)`);
    }
    const srv = server;

    // ---- participants ----------------------------------------------------------------------------
    const threads = threadCount(o);
    if (threads > 0) {
      pool = await SyntheticPool.create(
        threads + (o.newcomerThread ? 1 : 0),
        { profileDir: o.profileThreads ? path.resolve(o.out) : null, wsUrl: srv.wsUrl, room: o.room, fps: o.fps, frameBytes: o.frameBytes, graceMs: o.graceMs, holdMs: o.holdMs, staggerMs: o.staggerMs },
        emit,
        (m) => {
          c.failures.push(m);
          log(`fatal: ${m}`);
          stopper.abort();
        },
      );
      if (o.newcomerThread) pool.reserveNewcomerThreads(1);
      log(`synthetic: ${o.synthetic} participants on ${threads} worker thread(s)${o.newcomerThread ? ' + 1 for newcomers during the run' : ''}, media ${o.media}`);
    }
    if (o.browsers > 0) {
      const { existsSync } = await import('node:fs');
      if (inProcess && !existsSync(path.join(ROOT, 'client', 'dist', 'index.html'))) {
        log('building the client (scripts/build-client.mjs)');
        spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
      }
    }

    // Resource sampling.
    let lastSample = { at: now(), cpu: process.cpuUsage(), msCpu: sumProcs([...watch.workerPids]).cpuMs, threadCpu: 0, browserCpu: 0, dec: 0, enc: 0, bytes: 0 };
    let prevSample = lastSample;
    const threadCpu = () => [...c.threads.values()].reduce((s, t) => s + (Number.isFinite(t.cpuMs) ? t.cpuMs : 0), 0);
    const threadHeap = () => [...c.threads.values()].reduce((s, t) => s + t.heapMB, 0);
    let lastCpuPct: number | null = null;
    let lastFps = 0;
    let sampling = false;
    const sample = async () => {
      if (sampling) return;
      sampling = true;
      try {
        const at = now();
        const cpu = process.cpuUsage();
        const ms = sumProcs([...watch.workerPids]);
        const tCpu = threadCpu();
        const sharedPid = await sharedBrowserPid();
        const bPids = [
          ...browsers.flatMap((b) => (b.pidOfBrowser ? processTree(b.pidOfBrowser) : [])),
          ...(sharedPid ? processTree(sharedPid) : []),
        ];
        const b = sumProcs(bPids);
        const totals = c.totals;
        const bytes = inProcess ? await watch.bytesSent() : 0;
        const dt = at - lastSample.at;
        if (dt <= 0) return;
        const procCpuMs = (cpu.user - lastSample.cpu.user + cpu.system - lastSample.cpu.system) / 1000;
        const serverCpuMs = procCpuMs - (tCpu - lastSample.threadCpu) + (ms.cpuMs - lastSample.msCpu);
        const rss = process.memoryUsage().rss / 1048576;
        const s: ResourceSample = {
          t: Math.round(at - started),
          members: c.memberCount,
          epoch: Math.max(0, c.currentEpoch),
          // Counters arrive once a second from each thread: rates over a 2-sample window.
          framesPerS: Math.round(((totals.dec - prevSample.dec) * 1000) / (at - prevSample.at)),
          framesEncryptedPerS: Math.round(((totals.enc - prevSample.enc) * 1000) / (at - prevSample.at)),
          serverCpuPct: inProcess ? Math.max(0, Math.round((serverCpuMs / dt) * 1000) / 10) : null,
          serverRssMB: inProcess ? Math.round(rss - threadHeap() + ms.rssMB) : null,
          participantsCpuPct: Math.max(0, Math.round((((tCpu - lastSample.threadCpu) + (b.cpuMs - lastSample.browserCpu)) / dt) * 1000) / 10),
          participantsMemMB: Math.round(threadHeap() + b.rssMB),
          forwardedKbps: inProcess ? Math.max(0, Math.round(((bytes - lastSample.bytes) * 8) / dt)) : null,
          failures: c.failureCount,
        };
        lastCpuPct = s.serverCpuPct;
        lastFps = s.framesPerS;
        c.sample(s);
        prevSample = lastSample;
        lastSample = { at, cpu, msCpu: ms.cpuMs, threadCpu: tCpu, browserCpu: b.cpuMs, dec: totals.dec, enc: totals.enc, bytes };
      } finally {
        sampling = false;
      }
    };
    const progress = () =>
      hooks.onProgress?.({
        phase,
        elapsedS: Math.round((now() - started) / 100) / 10,
        members: c.memberCount,
        target,
        epoch: c.currentEpoch,
        framesPerS: lastFps,
        lost: c.totals.lost,
        failures: c.failureCount,
        cpuPct: lastCpuPct,
      });
    const sampleTimer = setInterval(() => {
      void sample();
      progress();
    }, 1000);
    cleanups.push(async () => clearInterval(sampleTimer));
    let polling = false;
    const pollTimer = setInterval(() => {
      if (polling) return;
      polling = true;
      void Promise.all(browsers.map((b) => b.poll().catch(() => undefined))).finally(() => (polling = false));
    }, 500);
    cleanups.push(async () => clearInterval(pollTimer));

    // ---- initial joins -------------------------------------------------------------------------
    phase = 'joining';
    let nextId = 0;
    const alive: string[] = []; // synthetic participant ids currently in (or joining) the room
    const joinedSet = new Set<string>();
    const failedSet = new Set<string>();
    const onEv = (ev: LoadEvent) => {
      if (ev.type === 'joined') joinedSet.add(ev.pid);
      if (ev.type === 'join-failed') failedSet.add(ev.pid);
    };
    const origAdd = c.add.bind(c);
    c.add = (ev: LoadEvent) => {
      origAdd(ev);
      onEv(ev);
    };
    const spawnSynthetic = (ordinal: number | null) => {
      const pid = `s${nextId++}`;
      const role = ordinal === null ? { send: o.media === 'on' && o.senders < 0, recv: o.media === 'on' } : mediaRole(o, ordinal);
      // Newcomers during the measured run may have a thread of their own (--newcomer-thread).
      pool!.spawn(pid, role.send, role.recv, ordinal === null);
      alive.push(pid);
      return pid;
    };
    const setupDeadline = now() + o.setupTimeoutS * 1000;
    const waitJoined = async (pids: string[]) => {
      while (!signal?.aborted && now() < setupDeadline && pids.some((p) => !joinedSet.has(p) && !failedSet.has(p))) await sleep(20, signal);
    };
    // Synthetic first (the first one creates the group), `joinConcurrency` at a time.
    let ordinal = 0;
    while (ordinal < o.synthetic && !signal?.aborted && now() < setupDeadline) {
      const wave: string[] = [];
      const n = ordinal === 0 ? 1 : Math.min(o.joinConcurrency, o.synthetic - ordinal);
      for (let i = 0; i < n; i++) wave.push(spawnSynthetic(ordinal++));
      await waitJoined(wave);
      if (ordinal % 50 === 0 || ordinal === o.synthetic) log(`joined ${joinedSet.size}/${ordinal} synthetic`);
      progress();
    }
    for (let i = 0; i < o.browsers && !signal?.aborted; i++) {
      const b = new BrowserParticipant(`b${i}`, emit);
      browsers.push(b);
      try {
        await b.launch(o.chromiumPath, o.browserProcess);
        await b.join(srv.url, o.room, Math.max(5000, setupDeadline - now()), signal, o.video);
        log(`browser b${i} joined`);
      } catch (e) {
        c.add({ type: 'join-failed', pid: b.pid, at: now(), message: (e as Error).message });
      }
      progress();
    }
    // Measure from a settled room: the initial joins come faster than a busy machine's members may process
    // them, and a member still working through that backlog when churn starts is late for reasons that are not
    // the rotation being measured (more than 2^E / 2 epochs behind, it cannot even tell old KIDs from new).
    const settleDeadline = Math.min(setupDeadline, now() + 60_000);
    let behind = c.behind();
    while (behind.length > 0 && !signal?.aborted && now() < settleDeadline) {
      await sleep(100, signal);
      behind = c.behind();
    }
    if (behind.length > 0) log(`${behind.length} member(s) still behind epoch ${c.currentEpoch} when the run starts: ${behind.slice(0, 5).join(', ')}`);
    // Let media start flowing everywhere before measuring.
    if (!signal?.aborted) await sleep(o.media === 'on' || o.browsers > 0 ? 2000 : 500, signal);

    // ---- measured run: churn -----------------------------------------------------------------
    phase = 'running';
    const runStart = now();
    c.startMeasuring(runStart);
    const runEnd = runStart + o.durationS * 1000;
    target = o.synthetic;
    let leaveNext = true;
    let churnCount = 0;
    const churnEvery = o.churn > 0 ? 1000 / o.churn : Infinity;
    let nextChurn = runStart + churnEvery;
    while (!signal?.aborted && now() < runEnd) {
      if (now() >= nextChurn) {
        nextChurn += churnEvery;
        // Population = joined + still joining (a pending joiner counts, or slow joins would pile up).
        const present = alive.filter((p) => joinedSet.has(p));
        const population = alive.filter((p) => !failedSet.has(p)).length;
        const doLeave = present.length > 1 && (population > target || (population === target && leaveNext));
        if (doLeave) {
          const victim = present[Math.floor(rnd() * present.length)]!;
          alive.splice(alive.indexOf(victim), 1);
          pool!.leave(victim, rnd() < o.crashFraction ? 'crash' : 'graceful');
        } else {
          for (let i = 0; i < o.batch; i++) spawnSynthetic(null);
        }
        leaveNext = !leaveNext;
        churnCount++;
      }
      await sleep(Math.max(5, Math.min(100, nextChurn - now(), runEnd - now())), signal);
    }
    void churnCount;
    interrupted = signal?.aborted ?? false;
    phase = 'settling';
    if (!interrupted) await sleep(o.settleS * 1000, signal);
    interrupted = signal?.aborted ?? false;
    endedAt = now();
    await sample();
  } finally {
    // ---- cleanup (always) ----------------------------------------------------------------------
    phase = 'stopping';
    if (endedAt === 0) endedAt = now();
    for (const f of cleanups) await f().catch(() => undefined);
    await Promise.all(browsers.map((b) => b.stop().catch(() => b.kill())));
    await closeSharedBrowser();
    if (pool) await pool.stop().catch(() => pool!.terminate());
    if (server) await Promise.race([server.close().catch(() => undefined), sleep(10_000)]);
  }

  const cpu = process.cpuUsage(cpuAtStart);
  const threadCpuMs = [...c.threads.values()].reduce((s, t) => s + (Number.isFinite(t.cpuMs) ? t.cpuMs : 0), 0);
  if (o.media === 'off') c.notes.push('media off: synthetic participants take part in MLS only; rotation convergence = every member installed the new epoch keys.');
  if (o.newcomerThread) c.notes.push('--newcomer-thread: participants that joined during the run started on an extra thread of their own.');
  if (o.browsers > 0) c.notes.push('Browser times come from a 25 ms counter probe of the page transform worker; the synthetic participants time every frame.');
  c.notes.push('Server CPU = this Node process (signaling, DS, orchestration) minus the synthetic worker threads, plus the mediasoup worker processes; 100% = one core.');
  const report = c.build({
    command,
    options: { ...o } as unknown as Record<string, unknown>,
    browsers: o.browsers,
    synthetic: o.synthetic,
    durationS: o.durationS,
    media: o.media,
    interrupted,
    server: { url: server?.url ?? o.url ?? '', inProcess },
    machine: { cores: cores(), node: process.version, loadavgStart, loadavgEnd: os.loadavg().map((v) => Math.round(v * 100) / 100) },
    serverCpu: inProcess ? { processUserMs: Math.round(cpu.user / 1000), processSystemMs: Math.round(cpu.system / 1000), syntheticThreadsMs: Math.round(threadCpuMs), avgPct: null, maxPct: null } : null,
    endedAt,
  });
  phase = 'report';
  const samples = { encryptMs: c.encryptMs, decryptMs: c.decryptMs };
  const written = await writeReport(report, samples, path.resolve(o.out), { png: o.png, chromiumPath: o.chromiumPath });
  return { report, written, samples };
}
