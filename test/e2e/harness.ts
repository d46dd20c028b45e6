// Shared plumbing for the end-to-end tests: build the client, start the real server in-process on
// 127.0.0.1:0, launch headless browsers (one per participant, fresh --user-data-dir each), read the page's
// window.__e2ee hook, bounded waits with clear failure messages, screenshots to test-output/e2e/.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { CallTestStatus } from '../../client/app/call.js';
import { startServer } from '../../server/app.js';
import { loadConfig, type ServerConfig } from '../../server/config.js';
import { CHROMIUM_ARGS as SHARED_CHROMIUM_ARGS, CHROMIUM_PATH } from '../support/chromium.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SCREENSHOT_DIR = path.join(ROOT, 'test-output', 'e2e');
export { CHROMIUM_PATH };
export const FIREFOX_PATH = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';

export const CHROMIUM_ARGS = [
  ...SHARED_CHROMIUM_ARGS,
  ...(process.env.E2E_CHROMIUM_EXTRA_ARGS ? process.env.E2E_CHROMIUM_EXTRA_ARGS.split(' ') : []),
];

export function buildClient(): void {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'build-client.mjs'), '--quiet'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error(`scripts/build-client.mjs failed (exit ${r.status})`);
}

export interface RunningServer {
  url: string;
  /** The in-process server (hub, rooms, mediasoup routers) for SFU-side checks. */
  app: Awaited<ReturnType<typeof startServer>>;
  heartbeatTimeoutMs: number;
  heartbeatIntervalMs: number;
  reconnectGraceMs: number;
  close(): Promise<void>;
}

export const SERVER_OPTIONS: Partial<ServerConfig> = {
  host: '127.0.0.1',
  port: 0,
  log: process.env.E2E_SERVER_LOG === '1',
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 4000,
  reconnectGraceMs: 1000,
  numWorkers: 1,
};

/** Starts the real server (server/app.ts startServer) on 127.0.0.1:0 with short heartbeats. */
export async function startTestServer(overrides: Partial<ServerConfig> = {}): Promise<RunningServer> {
  const cfg = loadConfig({}, { ...SERVER_OPTIONS, ...overrides });
  const s = await startServer(cfg);
  return {
    app: s,
    url: s.url.replace('0.0.0.0', '127.0.0.1').replace(/\/$/, ''),
    heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    reconnectGraceMs: cfg.reconnectGraceMs,
    close: () => s.close(),
  };
}

export interface Participant {
  name: string;
  browser: Browser;
  page: Page;
  kind: 'chromium' | 'firefox';
  userDataDir: string;
  logs: string[];
  killed: boolean;
}

const allParticipants: Participant[] = [];

export async function launchChromium(): Promise<{ browser: Browser; userDataDir: string }> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    userDataDir,
    args: CHROMIUM_ARGS,
    protocolTimeout: 30_000,
  });
  return { browser, userDataDir };
}

export async function launchFirefox(): Promise<{ browser: Browser; userDataDir: string }> {
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'e2e-firefox-'));
  // Prefs that must hold before the first page loads go to user.js as well (read at every start).
  writeFileSync(path.join(userDataDir, 'user.js'), Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n');
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    userDataDir,
    protocolTimeout: 30_000,
    extraPrefsFirefox: FIREFOX_PREFS,
    // Diagnostics: E2E_FIREFOX_MOZ_LOG=nicer:5,mtransport:5,signaling:5 writes Firefox's ICE/WebRTC logs
    // (one file per process) to test-output/e2e/firefox-moz.log*.
    ...(process.env.E2E_FIREFOX_MOZ_LOG
      ? { env: { ...process.env, MOZ_LOG: process.env.E2E_FIREFOX_MOZ_LOG, MOZ_LOG_FILE: path.join(ROOT, 'test-output', 'e2e', 'firefox-moz.log') } }
      : {}),
  });
  return { browser, userDataDir };
}

const FIREFOX_PREFS: Record<string, string | number | boolean> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // The SFU's ICE candidates are 127.0.0.1: Firefox ignores loopback candidates unless told otherwise.
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
  // ...but `loopback` alone is not enough. Firefox gathers only its default-route addresses (here the
  // eth0 ones, never lo) unless the page "is actively capturing or has a camera/microphone permission"
  // (PeerConnectionImpl: default_address_only |= !IsActivelyCapturingOrHasAPermission). With fake
  // devices and media.navigator.permission.disabled, that check stays false even during getUserMedia
  // (MOZ_LOG=nicer:5 prints "use only default local addresses: yes"), so no 127.0.0.1 candidate is
  // gathered and nothing pairs with the SFU's. A default-allow camera/microphone permission makes the
  // check true: Firefox then gathers 127.0.0.1 too and ICE connects to the SFU on loopback.
  'permissions.default.camera': 1,
  'permissions.default.microphone': 1,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'network.captive-portal-service.enabled': false,
  'app.update.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'network.connectivity-service.enabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
};

export interface OpenOptions {
  kind?: 'chromium' | 'firefox';
  /**
   * Script source run before any page script (e.g. removing encoded-transform APIs). A string, because tsx's
   * compiled functions may reference helpers (__name) that do not exist in the page.
   */
  beforeLoad?: string;
  /** Extra query parameters. */
  query?: Record<string, string>;
  autojoin?: boolean;
}

/** Opens the page for `name` in its own browser and (by default) joins `room` through the form. */
export async function openParticipant(serverUrl: string, room: string, name: string, o: OpenOptions = {}): Promise<Participant> {
  const kind = o.kind ?? 'chromium';
  const { browser, userDataDir } = kind === 'firefox' ? await launchFirefox() : await launchChromium();
  const pages = await browser.pages();
  const page = pages[0] ?? (await browser.newPage());
  const p: Participant = { name, browser, page, kind, userDataDir, logs: [], killed: false };
  allParticipants.push(p);
  page.on('console', (m) => {
    p.logs.push(`[${m.type()}] ${m.text()}`);
    if (p.logs.length > 200) p.logs.shift();
  });
  page.on('pageerror', (e) => p.logs.push(`[pageerror] ${(e as Error).message ?? String(e)}`));
  await page.setViewport({ width: 1280, height: 800 });
  if (o.beforeLoad) await page.evaluateOnNewDocument(o.beforeLoad);
  const q = new URLSearchParams({ room, name, ...(o.query ?? {}) });
  await page.goto(`${serverUrl}/?${q.toString()}`, { waitUntil: 'load', timeout: 20_000 });
  if (o.autojoin !== false) await page.click('#join-button');
  return p;
}

export async function status(p: Participant): Promise<CallTestStatus | null> {
  return p.page.evaluate(() => (window as unknown as { __e2ee: { status(): unknown } }).__e2ee.status()) as Promise<CallTestStatus | null>;
}

export async function hookInfo(p: Participant): Promise<{ phase: string; api: string | null; error: { code: string; title: string; detail: string } | null }> {
  return p.page.evaluate(() => {
    const h = (window as unknown as { __e2ee: { phase: string; api: string | null; error: unknown } }).__e2ee;
    return { phase: h.phase, api: h.api, error: h.error };
  }) as Promise<{ phase: string; api: string | null; error: { code: string; title: string; detail: string } | null }>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` (every `intervalMs`) until it returns true or `timeoutMs` passes; then throws
 * `what` plus the last `describe()` output so the failure says what the page looked like.
 */
export async function waitUntil(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
  describe?: () => Promise<string>,
  intervalMs = 200,
): Promise<number> {
  const started = Date.now();
  let lastError: unknown = null;
  for (;;) {
    try {
      if (await check()) return Date.now() - started;
    } catch (e) {
      if ((e as { fatal?: boolean }).fatal) throw e;
      lastError = e;
    }
    if (Date.now() - started > timeoutMs) {
      let detail = '';
      try {
        detail = describe ? await describe() : '';
      } catch (e) {
        detail = `(describe failed: ${String(e)})`;
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${lastError ? `; last error: ${String(lastError)}` : ''}${detail ? `\n${detail}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

export async function screenshot(p: Participant, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  try {
    await p.page.screenshot({ path: file as `${string}.png` });
  } catch {
    // a screenshot is evidence, never a reason to fail
  }
  return file;
}

/** Compact status summary for failure messages (no keys exist in the hook to leak). */
export async function summary(ps: Participant[]): Promise<string> {
  const lines: string[] = [];
  for (const p of ps) {
    if (p.killed) continue;
    try {
      const s = await status(p);
      const h = await hookInfo(p);
      if (!s) {
        lines.push(`${p.name}: phase=${h.phase} error=${JSON.stringify(h.error)} logs=${p.logs.slice(-5).join(' | ')}`);
        continue;
      }
      const recv = s.streams
        .filter((x) => x.direction === 'recv')
        .map((x) => `${x.peer}/${x.kind}:${x.status} dec=${x.framesDecrypted} fail=${x.decryptFailures} held=${x.held} drop=${x.dropped} nokey=${x.noKey}`)
        .join(', ');
      const send = s.streams
        .filter((x) => x.direction === 'send')
        .map((x) => `${x.kind}:enc=${x.framesEncrypted} drop=${x.dropped}`)
        .join(', ');
      const vids = s.videos.filter((v) => !v.local).map((v) => `${v.name}:${v.width}x${v.height} f=${v.framesRendered}`).join(', ');
      lines.push(
        `${p.name}: epoch=${s.epoch} code=${s.securityCode} roster=[${s.roster.map((r) => r.name).join(',')}] send{${send}} recv{${recv}} videos{${vids}} errors=${[...s.workerErrors, ...s.engineErrors, ...s.callErrors].slice(-4).join(' | ')}`,
      );
    } catch (e) {
      lines.push(`${p.name}: status unavailable (${String(e)})`);
    }
  }
  return lines.join('\n');
}

/**
 * Waits until `p` is in the call (phase joined, MLS epoch known). Fails at once, with the page's own error,
 * if the join failed (e.g. the SFU refused media), instead of waiting out the timeout.
 */
export async function waitJoined(p: Participant, timeoutMs: number, others: Participant[] = []): Promise<number> {
  return waitUntil(
    `${p.name} joins the call (MLS group + media)`,
    timeoutMs,
    async () => {
      const h = await hookInfo(p);
      if (h.phase === 'error' || h.phase === 'blocked') {
        throw Object.assign(new Error(`${p.name} could not join: ${h.error?.code}: ${h.error?.detail}`), { fatal: true });
      }
      return h.phase === 'joined' && (await status(p))?.epoch != null;
    },
    () => summary([p, ...others]),
  );
}

/** Kills a participant's browser process without any goodbye (simulates a crashed tab / lost machine). */
export function kill(p: Participant): void {
  p.killed = true;
  p.browser.process()?.kill('SIGKILL');
}

export async function closeParticipant(p: Participant): Promise<void> {
  if (!p.killed) {
    p.killed = true;
    await Promise.race([p.browser.close().catch(() => undefined), sleep(5000)]);
    p.browser.process()?.kill('SIGKILL');
  }
  rmSync(p.userDataDir, { recursive: true, force: true });
}

export async function closeAll(): Promise<void> {
  for (const p of allParticipants.splice(0)) await closeParticipant(p);
}

// ---- assertions on page status ---------------------------------------------------------------------

/** The remote video tiles of `s` named `names` render frames with a non-zero size. */
export function remoteVideo(s: CallTestStatus, name: string): CallTestStatus['videos'][number] | undefined {
  return s.videos.find((v) => !v.local && v.name === name);
}

export function recvStreams(s: CallTestStatus, peer: string, kind: 'audio' | 'video'): CallTestStatus['streams'] {
  return s.streams.filter((x) => x.direction === 'recv' && x.peer === peer && x.kind === kind);
}

export function sumRecv(s: CallTestStatus, field: 'framesDecrypted' | 'decryptFailures' | 'dropped' | 'sframeHeadersBad' | 'sframeHeadersOk' | 'replayed'): number {
  return s.streams.filter((x) => x.direction === 'recv').reduce((a, x) => a + x[field], 0);
}
