// A worker thread hosting many synthetic participants. Commands come from the pool (main thread); events,
// timing samples and the thread's own CPU/heap go back in batches every 100 ms.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import v8 from 'node:v8';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as mls from '../../../shared/mls/index.js';
import type { MlsApi } from '../../../shared/member/index.js';
import { nodeCryptoProvider } from '../../../server/crypto-node/mls-node.js';
import type { LeaveHow, LoadEvent } from '../events.js';
import { now, Reservoir } from '../stats.js';
import { SyntheticParticipant } from './participant.js';
import type { ParticipantConfig } from './participant.js';

export interface WorkerInit {
  index: number;
  /** Write a V8 CPU profile of this thread to this directory at stop (and post a self-time summary). */
  profileDir: string | null;
  wsUrl: string;
  room: string;
  fps: number;
  frameBytes: number;
  graceMs: number;
  holdMs: number;
  staggerMs: number;
}

export type ToWorker =
  | { cmd: 'spawn'; pid: string; send: boolean; recv: boolean }
  | { cmd: 'leave'; pid: string; how: LeaveHow }
  | { cmd: 'stop' };

export type FromWorker = { kind: 'events'; events: LoadEvent[] } | { kind: 'stopped' } | { kind: 'fatal'; message: string };

const init = workerData as WorkerInit;
const port = parentPort!;
mls.setDefaultCryptoBackend(nodeCryptoProvider);
// Hundreds of members of one group share this heap: let their trees share public values
// (shared/mls/intern.ts) instead of holding a copy each (3 MiB per member at 1000 members).
mls.setPublicValueSharing(true);

// Optional CPU profile of this thread (--profile-threads): where the members' time goes.
let profiler: Session | null = null;
if (init.profileDir !== null) {
  profiler = new Session();
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.setSamplingInterval', { interval: 500 });
  await profiler.post('Profiler.start');
}

async function stopProfile(): Promise<void> {
  if (!profiler || init.profileDir === null) return;
  const { profile } = await profiler.post('Profiler.stop');
  profiler.disconnect();
  mkdirSync(init.profileDir, { recursive: true });
  writeFileSync(path.join(init.profileDir, `synthetic-thread-${init.index}.cpuprofile`), JSON.stringify(profile));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  const samples = profile.samples ?? [];
  for (const id of samples) {
    const n = byId.get(id);
    if (!n) continue;
    const file = n.callFrame.url.split('/').slice(-2).join('/');
    const k = `${n.callFrame.functionName || '(anonymous)'}${file ? ` (${file})` : ''}`;
    self.set(k, (self.get(k) ?? 0) + 1);
  }
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
  events.push({ type: 'profile', thread: init.index, top: top.map(([fn, n]) => ({ fn, pct: Math.round((1000 * n) / Math.max(1, samples.length)) / 10 })) });
}

let events: LoadEvent[] = [];
const enc = new Reservoir(4000);
const dec = new Reservoir(4000);
const commit = new Reservoir(4000);
const joinExt = new Reservoir(1000);
const participants = new Map<string, SyntheticParticipant>();
let reporter: SyntheticParticipant | null = null;
let commitsProcessed = 0;
let handshakesProcessed = 0;

/** This thread's CPU time (ms) from /proc/thread-self/stat (utime + stime, clock ticks of 10 ms). */
function threadCpuMs(): number {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

const host = {
  emit: (ev: LoadEvent) => {
    events.push(ev);
  },
  encryptMs: (ms: number) => enc.add(ms),
  decryptMs: (ms: number) => dec.add(ms),
  commitMs: (size: number, ms: number) => {
    commitsProcessed++;
    commit.add(size * 1e6 + ms); // packed: size and ms in one number (unpacked on flush)
  },
  joinExternalMs: (ms: number) => joinExt.add(ms),
  handshake: () => {
    handshakesProcessed++;
  },
  mls: mls as unknown as MlsApi,
  isReporter: (p: SyntheticParticipant) => {
    if (reporter === null || !reporter.joined) reporter = p;
    return reporter === p;
  },
};

function flushEvents(withTimings: boolean): void {
  for (const p of participants.values()) p.flush();
  if (withTimings) {
    const commitMs = commit.drain().map((v): [number, number] => {
      const size = Math.floor(v / 1e6);
      return [size, Math.round((v - size * 1e6) * 100) / 100];
    });
    events.push({ type: 'timings', encryptMs: enc.drain(), decryptMs: dec.drain(), commitMs, joinExternalMs: joinExt.drain() });
    enc.seen = dec.seen = commit.seen = joinExt.seen = 0;
    events.push({
      type: 'thread',
      thread: init.index,
      at: now(),
      cpuMs: threadCpuMs(),
      heapMB: Math.round(v8.getHeapStatistics().used_heap_size / 1048576),
      members: [...participants.values()].filter((p) => p.joined).length,
      commitsProcessed,
      handshakesProcessed,
    });
  }
  if (events.length === 0) return;
  const batch = events;
  events = [];
  port.postMessage({ kind: 'events', events: batch } satisfies FromWorker);
}

let flushes = 0;
const flushTimer = setInterval(() => {
  flushes++;
  flushEvents(flushes % 10 === 0);
}, 100);

// One ticker drives every sender of this thread: one frame per sender per tick.
const tickMs = 1000 / init.fps;
let nextTick = performance.now() + tickMs;
let tickTimer: ReturnType<typeof setTimeout> | null = null;
function tick(): void {
  for (const p of participants.values()) if (p.sending) p.sendFrame();
  nextTick += tickMs;
  const nowMs = performance.now();
  if (nextTick < nowMs - 5 * tickMs) nextTick = nowMs + tickMs; // fell behind: skip, do not burst
  tickTimer = setTimeout(tick, Math.max(0, nextTick - nowMs));
}
tickTimer = setTimeout(tick, tickMs);

const counterTimer = setInterval(() => {
  for (const p of participants.values()) events.push(p.counters());
}, 1000);

port.on('message', (msg: ToWorker) => {
  switch (msg.cmd) {
    case 'spawn': {
      const cfg: ParticipantConfig = {
        pid: msg.pid,
        wsUrl: init.wsUrl,
        room: init.room,
        send: msg.send,
        recv: msg.recv,
        fps: init.fps,
        frameBytes: init.frameBytes,
        graceMs: init.graceMs,
        holdMs: init.holdMs,
        staggerMs: init.staggerMs,
      };
      const p = new SyntheticParticipant(cfg, host);
      participants.set(msg.pid, p);
      void p.join();
      return;
    }
    case 'leave': {
      const p = participants.get(msg.pid);
      if (!p) return;
      void p.leave(msg.how).finally(() => {
        participants.delete(msg.pid);
        if (reporter === p) reporter = null;
      });
      return;
    }
    case 'stop': {
      void (async () => {
        if (tickTimer) clearTimeout(tickTimer);
        clearInterval(counterTimer);
        await Promise.all([...participants.values()].map((p) => p.stop().catch(() => undefined)));
        await stopProfile().catch(() => undefined);
        clearInterval(flushTimer);
        flushEvents(true);
        port.postMessage({ kind: 'stopped' } satisfies FromWorker);
        port.close();
      })();
      return;
    }
  }
});

void threadId;
