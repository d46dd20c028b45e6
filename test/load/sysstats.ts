// Resource sampling on Linux: process CPU (process.cpuUsage), /proc for other processes (mediasoup workers,
// browser process trees), mediasoup transport stats for the forwarded bitrate. Every read is best effort:
// a vanished process counts as zero.

import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import type { types } from 'mediasoup';

const TICK_MS = 1000 / 100; // USER_HZ is 100 on Linux

/** utime + stime (ms) and RSS (MB) of one process, or null. */
export function procStat(pid: number): { cpuMs: number; rssMB: number; ppid: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // f[0] = field 3 (state), f[1] = ppid (4), utime = field 14 -> f[11], stime f[12], rss pages = field 24 -> f[21]
    const pageMB = 4096 / 1048576;
    return { cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS, rssMB: Number(f[21]) * pageMB, ppid: Number(f[1]) };
  } catch {
    return null;
  }
}

/** A process and all its descendants (a browser and its renderers, GPU and utility processes). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[] = [];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [rootPid];
  }
  for (const e of entries) {
    const pid = Number(e);
    if (!Number.isInteger(pid)) continue;
    const s = procStat(pid);
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push(pid);
    children.set(s.ppid, list);
  }
  const out: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0 && out.length < 1000) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

export function sumProcs(pids: number[]): { cpuMs: number; rssMB: number } {
  let cpuMs = 0;
  let rssMB = 0;
  for (const pid of pids) {
    const s = procStat(pid);
    if (!s) continue;
    cpuMs += s.cpuMs;
    rssMB += s.rssMB;
  }
  return { cpuMs, rssMB };
}

/** Follows mediasoup's observer to know every worker process and transport the in-process server creates. */
export class MediasoupWatch {
  readonly workerPids = new Set<number>();
  readonly transports = new Set<types.Transport>();
  #lastBytes = new Map<string, number>();
  #closedBytes = 0;

  attach(ms: typeof import('mediasoup')): void {
    ms.observer.on('newworker', (w: types.Worker) => {
      this.workerPids.add(w.pid);
      w.observer.on('close', () => this.workerPids.delete(w.pid));
      w.observer.on('newrouter', (r: types.Router) => {
        r.observer.on('newtransport', (t: types.Transport) => {
          this.transports.add(t);
          t.observer.on('close', () => {
            this.transports.delete(t);
            this.#closedBytes += this.#lastBytes.get(t.id) ?? 0;
            this.#lastBytes.delete(t.id);
          });
        });
      });
    });
  }

  /** Total bytes the SFU has sent over its transports so far (RTP + RTCP). */
  async bytesSent(): Promise<number> {
    let total = this.#closedBytes;
    const list = [...this.transports].slice(0, 2000);
    await Promise.all(
      list.map(async (t) => {
        try {
          const stats = (await t.getStats()) as Array<{ bytesSent?: number }>;
          const b = stats[0]?.bytesSent ?? 0;
          this.#lastBytes.set(t.id, b);
        } catch {
          /* closed meanwhile */
        }
      }),
    );
    for (const b of this.#lastBytes.values()) total += b;
    return total;
  }
}

export const cores = () => os.availableParallelism?.() ?? os.cpus().length;
