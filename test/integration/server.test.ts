// Server foundation: GET / serves the client page (or the placeholder), /ws accepts a
// WebSocket, start-up problems print one line and exit 1, SIGTERM leaves no worker process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import { RawClient, waitFor } from './helpers.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

test('GET / serves the placeholder when the client is not built, the page when it is; /ws accepts a WebSocket', async () => {
  const empty = mkdtempSync(path.join(os.tmpdir(), 'sealed-noclient-'));
  const s1 = await startServer(testConfig({ clientDir: empty }));
  try {
    const res = await fetch(`${s1.url}/`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /client has not been built/);
    const c = await RawClient.connect(s1.wsUrl);
    const r = await c.ok<{ memberId: string; epoch: string | null }>('join', { room: 'r1', name: 'alice' });
    assert.match(r.memberId, /^m/);
    assert.equal(r.epoch, null);
    c.close();
    const bad = await fetch(`${s1.url}/nope`);
    assert.equal(bad.status, 404);
  } finally {
    await s1.close();
  }
  const built = mkdtempSync(path.join(os.tmpdir(), 'sealed-client-'));
  writeFileSync(path.join(built, 'index.html'), '<!doctype html><title>the page</title>');
  const s2 = await startServer(testConfig({ clientDir: built }));
  try {
    const text = await (await fetch(`${s2.url}/`)).text();
    assert.match(text, /the page/);
  } finally {
    await s2.close();
  }
});

// Generous limits: spawning tsx on a loaded 2-core machine can take tens of seconds.
function run(env: Record<string, string>, timeoutMs = 120_000) {
  const child = spawn(TSX, ['server/index.ts'], { cwd: ROOT, env: { ...process.env, HOST: '127.0.0.1', LOG: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** mediasoup-worker processes descending from `ancestor`. */
function workerPidsUnder(ancestor: number): number[] {
  const ppid = new Map<number, number>();
  const names = new Map<number, string>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      names.set(Number(d), stat.slice(stat.indexOf('(') + 1, close));
      ppid.set(Number(d), Number(stat.slice(close + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  for (const [pid, name] of names) {
    if (!name.startsWith('mediasoup-work')) continue;
    for (let p = ppid.get(pid); p !== undefined && p > 1; p = ppid.get(p)) {
      if (p === ancestor) {
        out.push(pid);
        break;
      }
    }
  }
  return out;
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) test(`${signal}: graceful shutdown, exit 0, no mediasoup worker left`, async () => {
  const r = run({ PORT: '0', MEDIASOUP_WORKERS: '2' });
  const url = await waitFor('listening line', () => /listening on (http:\/\/[^ ]+)/.exec(r.out())?.[1], 90_000, 50);
  const pids = await waitFor('worker processes', () => {
    const p = workerPidsUnder(r.child.pid!);
    return p.length === 2 ? p : undefined;
  }, 20_000, 50);
  const c = await RawClient.connect(url.replace('http', 'ws') + '/ws');
  await c.ok('join', { room: 'x', name: 'alice' });
  r.child.kill(signal);
  assert.equal(await r.exited, 0, r.err());
  assert.equal(await c.waitClosed(), 1001, 'clients see 1001 going away');
  for (const pid of pids) {
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    assert.equal(alive, false, `worker ${pid} exited`);
  }
});

test('a port in use: one line, exit 1, no stack trace', async () => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = run({ PORT: String(port) });
    assert.equal(await r.exited, 1);
    const lines = r.err().trim().split('\n');
    assert.equal(lines.length, 1, r.err());
    assert.match(lines[0]!, /port \d+ .*already in use.*PORT=/);
  } finally {
    blocker.close();
  }
});

test('a missing worker binary: one line, exit 1', async () => {
  const r = run({ PORT: '0', MEDIASOUP_WORKER_BIN: '/nonexistent/mediasoup-worker' });
  assert.equal(await r.exited, 1);
  const lines = r.err().trim().split('\n');
  assert.equal(lines.length, 1, r.err());
  assert.match(lines[0]!, /mediasoup worker binary not found.*npm install/);
});

test('config: env overrides by name; a bad value is a ConfigError naming the variable', async () => {
  const { loadConfig, ConfigError } = await import('../../server/config.js');
  const c = loadConfig({ PORT: '4000', HOST: '127.0.0.1', MAX_MEMBERS_PER_ROOM: '7', HEARTBEAT_INTERVAL_MS: '500', ANNOUNCED_IP: '203.0.113.5', JOIN_TOKEN_SECRET: 'x'.repeat(20) });
  assert.equal(c.port, 4000);
  assert.equal(c.maxMembersPerRoom, 7);
  assert.equal(c.heartbeatIntervalMs, 500);
  assert.equal(c.announcedIp, '203.0.113.5');
  assert.equal(loadConfig({}).host, '0.0.0.0');
  assert.ok(loadConfig({}).heartbeatIntervalMs + loadConfig({}).heartbeatTimeoutMs <= 5000, 'a dead peer is detected within 5 s by default');
  assert.throws(() => loadConfig({ PORT: 'abc' }), (e: Error) => e instanceof ConfigError && /PORT/.test(e.message));
  assert.throws(() => loadConfig({ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }), ConfigError);
  assert.throws(() => loadConfig({ JOIN_TOKEN_SECRET: 'short' }), /JOIN_TOKEN_SECRET/);
});
