// Command-line options of the load test (`npm run loadtest -- --help`). Every option is named once here,
// with its default, its bounds and its help line; parseArgs() validates and returns LoadOptions.

import { CHROMIUM_PATH } from '../support/chromium.js';

export interface LoadOptions {
  /** Headless Chromium participants (the real page). */
  browsers: number;
  /** Synthetic participants in Node (shared/member + shared/mls + shared/keybridge). */
  synthetic: number;
  /** Measured run length after the initial joins, seconds. */
  durationS: number;
  /** Churn events (a join or a leave of a synthetic participant) per second; 0 = none. */
  churn: number;
  /** Participants that join together at each churn join (their external commits race at the DS). */
  batch: number;
  /** Fraction of churn leaves that are crash-like (socket destroyed, no `leave`); the rest are graceful. */
  crashFraction: number;
  /** Synthetic media: 'on' sends SFrame-protected Opus-like RTP over PlainTransports; 'off' = MLS only. */
  media: 'on' | 'off';
  /** Camera quality of the browser participants (the page's ?quality=): 'low' = 320x240 at 15 frames/s. */
  video: 'low' | 'normal';
  /** 'shared': one Chromium process, an isolated context (own renderer) per participant; 'own': a browser each. */
  browserProcess: 'shared' | 'own';
  /** Synthetic participants that produce audio (the first N); -1 = all. */
  senders: number;
  /** Synthetic participants that consume every other participant's audio (the first N); -1 = all. */
  receivers: number;
  /** Synthetic audio frames per second per sender (Opus: 50 = 20 ms frames). */
  fps: number;
  /** Synthetic frame payload bytes before SFrame (Opus-like). */
  frameBytes: number;
  /** Worker threads hosting the synthetic participants (0 = auto). */
  threads: number;
  /** Initial synthetic joins started at once (each join is an epoch: they race and retry). */
  joinConcurrency: number;
  /** Output directory for report.json, report.html and the PNG charts. */
  out: string;
  /** Target an already running server (http://127.0.0.1:PORT) instead of starting one in-process. */
  url: string | null;
  /** Room name. */
  room: string;
  /** Server reconnect grace for an in-process server: how long a crashed socket's member stays (ms). */
  reconnectGraceMs: number;
  /**
   * Heartbeat timeout of an in-process server (ms). Synthetic participants share a few threads: a thread busy
   * with 100 members' commits answers pings seconds late, which the product's default (3.5 s) would take for
   * a dead peer. Crash-like leaves are still seen at once (the socket closes).
   */
  heartbeatTimeoutMs: number;
  /** mediasoup worker processes of an in-process server. */
  sfuWorkers: number;
  /** Key bridge: how long an older epoch keeps decrypting after a newer one is in use (ms; the page uses 3000). */
  graceMs: number;
  /** Key bridge: how long a frame of a not-yet-installed epoch is held (ms; the page uses 1500). */
  holdMs: number;
  /** Fallback committers wait rank * staggerMs (shared/member option). */
  staggerMs: number;
  /** Seconds to wait for the initial joins before the measured run starts anyway. */
  setupTimeoutS: number;
  /** Seconds after the run for the last rotations to converge and frames to drain. */
  settleS: number;
  /** Progress line interval on a non-TTY (ms). */
  progressMs: number;
  /** Render the charts to PNG with headless Chromium. */
  png: boolean;
  /** Path of Chromium (CHROMIUM_PATH or /usr/bin/chromium). */
  chromiumPath: string;
  /** Print a progress line. */
  quiet: boolean;
  /** Print the in-process server's log lines. */
  serverLog: boolean;
  /** Write a CPU profile of each synthetic thread into <out> (and a summary into the report). */
  profileThreads: boolean;
  /**
   * Synthetic participants that join during the measured run start on one extra thread of their own,
   * as a real joiner has its own device, instead of queueing behind hundreds of simulated members.
   */
  newcomerThread: boolean;
  /** Random seed for churn choices (reproducible runs). */
  seed: number;
}

interface Spec {
  flag: string;
  key: keyof LoadOptions;
  kind: 'int' | 'number' | 'string' | 'bool' | 'choice';
  /** kind 'choice': the accepted values. */
  choices?: readonly string[];
  min?: number;
  max?: number;
  help: string;
}

export const DEFAULTS: LoadOptions = {
  browsers: 2,
  synthetic: 20,
  durationS: 30,
  churn: 0,
  batch: 1,
  crashFraction: 0.5,
  media: 'on',
  video: 'low',
  browserProcess: 'shared',
  senders: -1,
  receivers: -1,
  fps: 50,
  frameBytes: 120,
  threads: 0,
  joinConcurrency: 1,
  out: 'report',
  url: null,
  room: 'load',
  reconnectGraceMs: 500,
  heartbeatTimeoutMs: 30000,
  sfuWorkers: 1,
  graceMs: 3000,
  holdMs: 1500,
  staggerMs: 1000,
  setupTimeoutS: 600,
  settleS: 4,
  progressMs: 5000,
  png: true,
  chromiumPath: CHROMIUM_PATH,
  quiet: false,
  profileThreads: false,
  newcomerThread: false,
  serverLog: false,
  seed: 1,
};

export const SPECS: Spec[] = [
  { flag: '--browsers', key: 'browsers', kind: 'int', min: 0, max: 32, help: 'headless Chromium participants running the real page' },
  { flag: '--synthetic', key: 'synthetic', kind: 'int', min: 0, max: 5000, help: 'synthetic Node participants (shared/member, shared/mls, shared/keybridge)' },
  { flag: '--duration', key: 'durationS', kind: 'number', min: 1, max: 3600, help: 'measured run length in seconds (after the initial joins)' },
  { flag: '--churn', key: 'churn', kind: 'number', min: 0, max: 50, help: 'synthetic joins + leaves per second (alternating around the target size); 0 = none' },
  { flag: '--batch', key: 'batch', kind: 'int', min: 1, max: 100, help: 'participants joining together at each churn join (racing external commits)' },
  { flag: '--crash-fraction', key: 'crashFraction', kind: 'number', min: 0, max: 1, help: 'share of churn leaves that destroy the socket instead of sending `leave`' },
  { flag: '--media', key: 'media', kind: 'choice', choices: ['on', 'off'], help: "'on': synthetic SFrame audio over PlainTransports; 'off': MLS only" },
  { flag: '--browser-process', key: 'browserProcess', kind: 'choice', choices: ['shared', 'own'], help: "'shared': one Chromium, an isolated context per participant (lighter); 'own': one Chromium per participant" },
  { flag: '--video', key: 'video', kind: 'choice', choices: ['low', 'normal'], help: "browser camera: 'low' (320x240, 15 frames/s: lighter when many browsers share a machine) or 'normal' (640x480, 30)" },
  { flag: '--senders', key: 'senders', kind: 'int', min: -1, max: 5000, help: 'synthetic participants that send audio (first N; -1 = all)' },
  { flag: '--receivers', key: 'receivers', kind: 'int', min: -1, max: 5000, help: 'synthetic participants that receive every sender (first N; -1 = all)' },
  { flag: '--fps', key: 'fps', kind: 'int', min: 1, max: 100, help: 'synthetic audio frames per second per sender (50 = Opus 20 ms)' },
  { flag: '--frame-bytes', key: 'frameBytes', kind: 'int', min: 1, max: 1100, help: 'synthetic frame size before SFrame' },
  { flag: '--threads', key: 'threads', kind: 'int', min: 0, max: 16, help: 'worker threads for synthetic participants (0 = auto: 1 up to 100, else 2)' },
  { flag: '--join-concurrency', key: 'joinConcurrency', kind: 'int', min: 1, max: 100, help: 'initial synthetic joins in flight at once' },
  { flag: '--out', key: 'out', kind: 'string', help: 'output directory (report.json, report.html, *.png)' },
  { flag: '--url', key: 'url', kind: 'string', help: 'use a running server at http://127.0.0.1:PORT instead of starting one' },
  { flag: '--room', key: 'room', kind: 'string', help: 'room name' },
  { flag: '--reconnect-grace-ms', key: 'reconnectGraceMs', kind: 'int', min: 0, max: 60000, help: 'in-process server: how long a crashed member may resume before its removal is proposed' },
  { flag: '--heartbeat-timeout-ms', key: 'heartbeatTimeoutMs', kind: 'int', min: 1000, max: 600000, help: 'in-process server: no pong for this long = dead peer (synthetic threads answer late when busy)' },
  { flag: '--sfu-workers', key: 'sfuWorkers', kind: 'int', min: 1, max: 8, help: 'in-process server: mediasoup worker processes' },
  { flag: '--grace-ms', key: 'graceMs', kind: 'int', min: 0, max: 60000, help: 'synthetic key bridge: previous-epoch decrypt grace (the page: 3000)' },
  { flag: '--hold-ms', key: 'holdMs', kind: 'int', min: 0, max: 60000, help: 'synthetic key bridge: hold time for frames of an unknown epoch (the page: 1500)' },
  { flag: '--stagger-ms', key: 'staggerMs', kind: 'int', min: 0, max: 60000, help: 'fallback committers wait rank * stagger-ms' },
  { flag: '--setup-timeout', key: 'setupTimeoutS', kind: 'number', min: 1, max: 7200, help: 'seconds allowed for the initial joins' },
  { flag: '--settle', key: 'settleS', kind: 'number', min: 0, max: 120, help: 'seconds after the run for the last rotation to converge' },
  { flag: '--progress-ms', key: 'progressMs', kind: 'int', min: 200, max: 600000, help: 'progress line interval when stdout is not a TTY' },
  { flag: '--png', key: 'png', kind: 'bool', help: 'render the charts to PNG with headless Chromium (--no-png to skip)' },
  { flag: '--chromium', key: 'chromiumPath', kind: 'string', help: 'Chromium executable (default $CHROMIUM_PATH or /usr/bin/chromium)' },
  { flag: '--quiet', key: 'quiet', kind: 'bool', help: 'no progress line' },
  { flag: '--server-log', key: 'serverLog', kind: 'bool', help: "print the in-process server's log lines" },
  { flag: '--profile-threads', key: 'profileThreads', kind: 'bool', help: 'write a V8 CPU profile of each synthetic thread to <out> and summarize it in the report' },
  { flag: '--newcomer-thread', key: 'newcomerThread', kind: 'bool', help: 'participants joining during the run start on an extra thread of their own (a joiner has its own device)' },
  { flag: '--seed', key: 'seed', kind: 'int', min: 0, max: 2 ** 31 - 1, help: 'seed for churn choices' },
];

export class OptionError extends Error {
  override readonly name = 'OptionError';
}

export function helpText(): string {
  const lines = [
    'Usage: npm run loadtest -- [options]      (= tsx test/load/cli.ts)',
    '',
    'Starts the server in-process on 127.0.0.1:0 (or uses --url), joins headless Chromium and synthetic',
    'participants to one room, churns synthetic members, measures join time, rotation convergence,',
    'frames lost per rotation, per-frame SFrame cost, server CPU/memory/bitrate, and writes',
    '<out>/report.json, <out>/report.html and <out>/*.png. Ctrl-C stops early and still writes the report.',
    '',
    'Options:',
  ];
  for (const s of SPECS) {
    const arg = s.kind === 'bool' ? '' : s.kind === 'choice' ? ` ${s.choices!.join('|')}` : s.kind === 'string' ? ' <text>' : ' <n>';
    const d = DEFAULTS[s.key];
    const def = d === null ? 'none' : String(d);
    lines.push(`  ${(s.flag + arg).padEnd(26)} ${s.help} (default ${def})`);
  }
  lines.push('  --help                     this text');
  lines.push('', 'Example: npm run loadtest -- --browsers 6 --synthetic 200 --duration 60 --churn 1 --out report/');
  return lines.join('\n');
}

/** Parses argv (without node and script). Returns null for --help. Throws OptionError naming the flag. */
export function parseArgs(argv: string[]): LoadOptions | null {
  const o: LoadOptions = { ...DEFAULTS };
  const rec = o as unknown as Record<string, unknown>;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return null;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const negated = arg.startsWith('--no-') ? SPECS.find((s) => s.kind === 'bool' && s.flag === '--' + arg.slice(5)) : undefined;
    if (negated) {
      rec[negated.key] = false;
      continue;
    }
    const spec = SPECS.find((s) => s.flag === arg);
    if (!spec) throw new OptionError(`unknown option ${arg} (see --help)`);
    if (spec.kind === 'bool') {
      rec[spec.key] = inline === undefined ? true : inline !== 'false' && inline !== '0';
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new OptionError(`${spec.flag} needs a value`);
    switch (spec.kind) {
      case 'int':
      case 'number': {
        const v = Number(value);
        if (!Number.isFinite(v) || (spec.kind === 'int' && !Number.isInteger(v))) {
          throw new OptionError(`${spec.flag} must be ${spec.kind === 'int' ? 'an integer' : 'a number'}, got "${value}"`);
        }
        if ((spec.min !== undefined && v < spec.min) || (spec.max !== undefined && v > spec.max)) {
          throw new OptionError(`${spec.flag} must be in [${spec.min}, ${spec.max}], got ${v}`);
        }
        rec[spec.key] = v;
        break;
      }
      case 'choice':
        if (!spec.choices!.includes(value)) throw new OptionError(`${spec.flag} must be ${spec.choices!.join(' or ')}, got "${value}"`);
        rec[spec.key] = value;
        break;
      case 'string':
        if (value === '') throw new OptionError(`${spec.flag} must not be empty`);
        rec[spec.key] = value;
        break;
    }
  }
  return checkOptions(o);
}

/** Cross-option rules. */
export function checkOptions(o: LoadOptions): LoadOptions {
  if (o.browsers + o.synthetic < 1) throw new OptionError('need at least one participant (--browsers or --synthetic)');
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(o.room)) throw new OptionError('--room must be 1-64 characters of [A-Za-z0-9._-]');
  if (o.url !== null) {
    let u: URL;
    try {
      u = new URL(o.url);
    } catch {
      throw new OptionError(`--url is not a URL: "${o.url}"`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OptionError('--url must be http(s)://');
    // Load tests talk to loopback only (docs/environment.md).
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) throw new OptionError('--url must be a loopback address (127.0.0.1, localhost, [::1])');
  }
  if (o.churn > 0 && o.synthetic === 0) throw new OptionError('--churn needs synthetic participants');
  return o;
}

/** How many worker threads host the synthetic participants. */
export function threadCount(o: LoadOptions): number {
  if (o.synthetic === 0) return 0;
  if (o.threads > 0) return Math.min(o.threads, o.synthetic);
  return o.synthetic <= 100 ? 1 : 2;
}

/** Whether the synthetic participant with ordinal `n` (0-based, initial population) sends / receives media. */
export function mediaRole(o: LoadOptions, n: number): { send: boolean; recv: boolean } {
  if (o.media === 'off') return { send: false, recv: false };
  return { send: o.senders < 0 || n < o.senders, recv: o.receivers < 0 || n < o.receivers };
}
