// Fuzzing the signaling server: random and mutated messages (junk text, random JSON, every
// request type with mutated fields, MLS framing with random headers and bit flips, binary and
// oversize frames) from several connections against a live server (started in-process on
// 127.0.0.1). A sentinel room with real MLS members runs alongside: it must be unaffected.
// Failures: an `internal` error (a server bug), an uncaught exception, a sentinel that moved or
// lost its connection, unbounded state (rooms, logs) or heap growth.
import { prng } from './common.js';
import { existsSync } from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import { WebSocket } from 'ws';
import { startServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import { workerBinary } from '../../server/sfu/workers.js';
import { toBase64 } from '../../shared/bytes/index.js';
import { Writer } from '../../shared/codec/index.js';
import * as mls from '../../shared/mls/index.js';
import { REQUEST_TYPES } from '../../shared/protocol/index.js';
import { Participant } from '../integration/room-harness.js';

export interface FuzzReport {
  cases: number;
  seed: number;
  failures: string[];
  /** How often each outcome occurred ("error:bad-request", "ok:ping", "close:4000", ...). */
  outcomes: Record<string, number>;
  /** Heap growth over the run after GC (bytes) and wall time. */
  heapGrowth: number;
  seconds: number;
}

function gc(): void {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
}

class Gen {
  constructor(readonly rnd: () => number) {}
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  str(n: number): string {
    const alphabet = 'abcXYZ019-_.:/ \u0000\u00e9\u4e2d\ud83d\ude00"\\{}[]';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  scalar(): unknown {
    return this.pick<() => unknown>([
      () => this.int(10),
      () => -this.int(1000),
      () => 2 ** 53 + this.int(10),
      () => this.rnd() * 1e308,
      () => this.str(this.int(20)),
      () => 'A'.repeat(this.int(3000)),
      () => null,
      () => true,
      () => [],
      () => ({}),
      () => '0',
      () => '18446744073709551616',
      () => toBase64(this.bytes(this.int(40))),
    ])();
  }
  json(depth = 0): unknown {
    if (depth > 3 || this.rnd() < 0.5) return this.scalar();
    if (this.rnd() < 0.5) return Array.from({ length: this.int(5) }, () => this.json(depth + 1));
    const o: Record<string, unknown> = {};
    for (let i = 0; i < this.int(5); i++) o[this.pick(['a', 'type', 'id', 'v', 'room', 'codecs', '__proto__', 'constructor', this.str(4)])] = this.json(depth + 1);
    return o;
  }
  /** An MLSMessage: a public/private/group-info header with random fields, sometimes mutated. */
  mls(groupIds: Uint8Array[], epoch: bigint): Uint8Array {
    const w = new Writer();
    const wf = this.pick([1, 1, 1, 2, 4, 3, 5, 9]);
    w.u16(this.rnd() < 0.95 ? 1 : this.int(65536)).u16(wf);
    const gid = this.rnd() < 0.8 ? this.pick(groupIds) : this.bytes(this.int(40));
    if (wf === 4) {
      w.u16(1).u16(1).varBytes(gid).u64(epoch + BigInt(this.int(3)));
    } else {
      w.varBytes(gid).u64(this.rnd() < 0.7 ? epoch + BigInt(this.int(3)) : BigInt(this.int(1 << 30)) * 4096n);
      const st = this.pick([1, 2, 3, 4, 0, 7]);
      w.u8(st);
      if (st === 1 || st === 2) w.u32(this.int(8));
      w.varBytes(this.bytes(this.int(8)));
      const ct = this.pick([1, 2, 3, 3, 3, 0, 9]);
      w.u8(ct);
      if (ct === 3 && this.rnd() < 0.7) {
        // A well-formed proposal list (RFC 9420 §12.4): ExternalInit, Removes, references, or an Add.
        const list = new Writer();
        for (let i = this.int(4); i > 0; i--) {
          const k = this.int(4);
          if (k === 0) list.u8(1).u16(6).varBytes(this.bytes(32));
          else if (k === 1) list.u8(1).u16(3).u32(this.int(6));
          else if (k === 2) list.u8(2).varBytes(this.bytes(32));
          else list.u8(1).u16(this.pick([1, 2, 4, 7])).fixed(this.bytes(8));
        }
        w.varBytes(list.finish());
      }
    }
    w.fixed(this.bytes(this.int(200)));
    const out = w.finish();
    const r = this.rnd();
    if (r < 0.2) {
      const i = this.int(out.length);
      out[i] = out[i]! ^ (1 << this.int(8));
    }
    if (r > 0.9) return out.slice(0, this.int(out.length));
    return out;
  }
}

/** Runs `cases` fuzz messages against a fresh in-process server; returns the report. */
export async function fuzzSignaling(cases: number, seed: number, o: { media?: boolean; log?: (line: string) => void } = {}): Promise<FuzzReport> {
  const started = Date.now();
  const g = new Gen(prng(seed));
  const failures: string[] = [];
  const outcomes: Record<string, number> = {};
  const count = (k: string) => (outcomes[k] = (outcomes[k] ?? 0) + 1);
  const media = o.media ?? existsSync(workerBinary());
  const onUncaught = (e: unknown) => failures.push(`uncaught: ${(e as Error)?.stack ?? String(e)}`.slice(0, 300));
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);

  const server = await startServer(
    testConfig({ media, messagesPerSecond: 1_000_000, messageBurst: 10_000_000, maxMessageBytes: 16 * 1024, maxRooms: 20, maxMembersPerRoom: 20, handshakeLogSize: 64, reconnectGraceMs: 0 }),
  );
  const sentinels: Participant[] = [];
  try {
    // The sentinel room: two real MLS members at epoch 1.
    for (const name of ['sentinel-a', 'sentinel-b']) sentinels.push(await new Participant(name, server.wsUrl, 'sentinel', mls).join());
    const sentinelEpoch = () => sentinels.map((p) => p.epoch);
    await waitUntil(() => sentinels.every((p) => p.epoch === 1n), 10_000);
    const epochBefore = sentinelEpoch().join(',');

    const groupIds = [new Uint8Array([1, 2, 3, 4]), new Uint8Array(16), mls.groupId(sentinels[0]!.member.state as mls.GroupState)];
    const CONNS = 6;
    const conns: FuzzConn[] = [];
    for (let i = 0; i < CONNS; i++) conns.push(await FuzzConn.open(server.wsUrl, `fuzz-${i % 3}`, count));
    // Give fuzz rooms a group so commit paths get past no-group.
    await conns[0]!.request({ type: 'createGroup', groupInfo: toBase64(fakeGroupInfo(groupIds[0]!, 0n)), leafIndex: 0 });

    gc();
    const heapStart = process.memoryUsage().heapUsed;
    const BATCH = 50;
    let sent = 0;
    while (sent < cases) {
      const conn = conns[g.int(conns.length)]!;
      if (conn.closed) {
        conns[conns.indexOf(conn)] = await FuzzConn.open(server.wsUrl, `fuzz-${g.int(4)}`, count);
        continue;
      }
      const n = Math.min(BATCH, cases - sent);
      for (let i = 0; i < n; i++) conn.sendRaw(message(g, groupIds, conn.nextId()));
      sent += n;
      await conn.request({ type: 'ping' }, 20_000); // every batch is processed before the next
      if (sent % 20_000 < BATCH) o.log?.(`fuzz: ${sent}/${cases} messages`);
    }
    for (const c of conns) c.close();
    await new Promise((r) => setTimeout(r, 200));
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapStart;

    if ((outcomes['error:internal'] ?? 0) > 0) failures.push(`${outcomes['error:internal']} internal errors (server bugs)`);
    if (sentinelEpoch().join(',') !== epochBefore) failures.push(`the sentinel room moved: ${epochBefore} -> ${sentinelEpoch().join(',')}`);
    for (const p of sentinels) if (p.ws.readyState !== WebSocket.OPEN) failures.push(`sentinel ${p.name} lost its connection`);
    const pong = await sentinels[0]!.member.signaling.request('ping', {}).catch((e: Error) => e);
    if (pong instanceof Error) failures.push(`sentinel ping failed: ${pong.message}`);
    if (server.hub.rooms.size > 20) failures.push(`rooms unbounded: ${server.hub.rooms.size}`);
    for (const room of server.hub.rooms.values()) if (room.ds.logEntries.length > 64) failures.push(`room ${room.name} log unbounded`);
    if (heapGrowth > 64 * 1024 * 1024) failures.push(`heap grew by ${(heapGrowth / 1048576).toFixed(1)} MiB`);
    // The sentinel room still works: a third member joins and all agree.
    const c = await new Participant('sentinel-c', server.wsUrl, 'sentinel', mls).join();
    sentinels.push(c);
    await waitUntil(() => sentinels.every((p) => p.epoch === 2n), 10_000).catch(() => failures.push('sentinel room could not take a new member'));
    return { cases: sent, seed, failures, outcomes, heapGrowth, seconds: (Date.now() - started) / 1000 };
  } finally {
    for (const p of sentinels) p.member.close();
    await server.close();
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
  }
}

function fakeGroupInfo(groupId: Uint8Array, epoch: bigint): Uint8Array {
  const w = new Writer();
  w.u16(1).u16(4).u16(1).u16(1).varBytes(groupId).u64(epoch).varBytes(new Uint8Array(32));
  return w.finish();
}

const FIELDS = ['room', 'name', 'token', 'resume', 'groupInfo', 'leafIndex', 'commit', 'removed', 'welcome', 'message', 'seq', 'reason', 'direction',
  'transportId', 'dtlsParameters', 'kind', 'rtpParameters', 'appData', 'producerId', 'rtpCapabilities', 'consumerId', 'spatialLayer', 'temporalLayer',
  'comedia', 'rtcpMux', 'ip', 'port', 'rtcpPort'];

/** One fuzz message (text or binary). */
function message(g: Gen, groupIds: Uint8Array[], id: number): string | Uint8Array {
  const r = g.rnd();
  if (r < 0.05) return String.fromCharCode(...g.bytes(g.int(100)));
  if (r < 0.1) return JSON.stringify(g.json());
  if (r < 0.102) return g.bytes(g.int(50)); // binary: closes the connection (4000)
  if (r < 0.104) return 'x'.repeat(40 * 1024); // over 2x maxMessageBytes: closes (1009)
  const type = g.rnd() < 0.97 ? g.pick(REQUEST_TYPES) : g.str(6);
  const m: Record<string, unknown> = { v: g.rnd() < 0.98 ? 1 : g.scalar(), id: g.rnd() < 0.97 ? id : g.scalar(), type };
  // Plausible fields for the type, then mutations.
  const mlsB64 = () => toBase64(g.mls(groupIds, BigInt(g.int(3))));
  switch (type) {
    case 'join':
      Object.assign(m, { room: g.rnd() < 0.9 ? `fuzz-${g.int(4)}` : g.str(10), name: g.str(8) });
      if (g.rnd() < 0.2) m.resume = { memberId: g.str(5), resumeToken: g.str(5), lastSeq: g.int(10) };
      break;
    case 'createGroup':
      Object.assign(m, { groupInfo: g.rnd() < 0.5 ? toBase64(fakeGroupInfo(g.pick(groupIds), BigInt(g.int(3)))) : mlsB64(), leafIndex: g.int(4) });
      break;
    case 'commit':
      Object.assign(m, { commit: mlsB64(), groupInfo: g.rnd() < 0.5 ? toBase64(fakeGroupInfo(g.pick(groupIds), BigInt(g.int(4)))) : mlsB64(), leafIndex: g.int(6) });
      if (g.rnd() < 0.3) m.removed = [g.int(6)];
      if (g.rnd() < 0.1) m.welcome = mlsB64();
      break;
    case 'proposal':
      m.message = mlsB64();
      break;
    case 'rejectCommit':
      Object.assign(m, { seq: g.int(20), reason: g.str(10) });
      break;
    default:
      for (let i = 0; i < g.int(4); i++) m[g.pick(FIELDS)] = g.rnd() < 0.5 ? g.str(12) : g.json(1);
      if (type === 'createWebRtcTransport') m.direction = g.pick(['send', 'recv', 'x']);
      if (type === 'connectPlainTransport') Object.assign(m, { ip: '127.0.0.1', port: 1 + g.int(65535) });
  }
  for (let i = g.int(3); i > 0; i--) m[g.pick(FIELDS)] = g.scalar();
  return JSON.stringify(m);
}

class FuzzConn {
  closed = false;
  #id = 0;
  #waiters = new Map<number, () => void>();
  private constructor(
    readonly ws: WebSocket,
    private readonly count: (k: string) => void,
  ) {
    ws.on('message', (data) => {
      let m: { type: string; id?: number | null; code?: string; result?: unknown };
      try {
        m = JSON.parse(String(data));
      } catch {
        count('client:unparseable-server-message');
        return;
      }
      if (m.type === 'error') count(`error:${m.code}`);
      else if (m.type === 'response') count('ok');
      else count(`note:${m.type}`);
      if (typeof m.id === 'number') {
        const w = this.#waiters.get(m.id);
        if (w) {
          this.#waiters.delete(m.id);
          w();
        }
      }
    });
    ws.on('close', (code) => {
      this.closed = true;
      count(`close:${code}`);
      for (const w of this.#waiters.values()) w();
      this.#waiters.clear();
    });
    ws.on('error', () => {});
  }

  static async open(url: string, room: string, count: (k: string) => void): Promise<FuzzConn> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const c = new FuzzConn(ws, count);
    if (room) await c.request({ type: 'join', room, name: 'fuzzer' });
    return c;
  }

  nextId(): number {
    return 1_000_000 + ++this.#id;
  }

  sendRaw(data: string | Uint8Array): void {
    if (!this.closed && this.ws.readyState === WebSocket.OPEN) this.ws.send(data);
  }

  request(body: Record<string, unknown>, timeoutMs = 10_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    const id = ++this.#id;
    this.ws.send(JSON.stringify({ v: 1, id, ...body }));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`fuzz connection: no answer to ${String(body.type)} in ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.set(id, () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

// `npx tsx test/fuzz/signaling.ts [cases] [seed]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const cases = Number(process.argv[2] ?? 100_000);
  const seed = Number(process.argv[3] ?? 1);
  fuzzSignaling(cases, seed, { log: console.log }).then((r) => {
    console.log(`signaling fuzz: ${r.cases} messages, seed ${r.seed}, ${r.seconds.toFixed(1)} s, heap growth ${(r.heapGrowth / 1048576).toFixed(1)} MiB`);
    console.log(Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}=${v}`).join(' '));
    for (const f of r.failures) console.log(`FAIL ${f}`);
    process.exit(r.failures.length === 0 ? 0 : 1);
  });
}
