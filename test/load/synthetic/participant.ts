// One synthetic participant: the same shared/member engine, shared/mls group and shared/keybridge the page
// runs, in Node (node:crypto backends), with SFrame-protected Opus-like RTP over mediasoup PlainTransports
// instead of WebRTC. Runs inside a worker thread (synthetic/worker.ts) next to many others.
//
//   join:   ws -> Member.join() (external commit) -> epoch events -> MLS-Exporter -> KeyBridge.installEpoch
//   send:   PlainTransport (comedia off, connected to our UDP socket) + an audio Producer; every tick one frame
//           of `frameBytes` is SFrame-encrypted (stream context 0 = audio, as the page) into one RTP packet
//   recv:   a second PlainTransport; one paused Consumer per audio producer in the room, resumed at once;
//           each RTP payload is an SFrame ciphertext decrypted by KeyBridge (KID -> epoch, sender)

import dgram from 'node:dgram';
import { WebSocket } from 'ws';
import { fromUtf8 } from '../../../shared/bytes/index.js';
import { KeyBridge, SFRAME_EXPORTER_LABEL } from '../../../shared/keybridge/index.js';
import type { DecryptResult } from '../../../shared/keybridge/index.js';
import { Member, webSocketTransport } from '../../../shared/member/index.js';
import type { EpochEvent, MlsApi, Transport, WebSocketLike } from '../../../shared/member/index.js';
import type { JsonObject, ProducerInfo } from '../../../shared/protocol/index.js';
import { decodeHeader } from '../../../shared/sframe/header.js';
import { nodeSFrameBackend } from '../../../server/crypto-node/sframe-node.js';
import { lossReasonOf } from '../events.js';
import type { LeaveHow, LoadEvent, LossReason } from '../events.js';
import { now } from '../stats.js';

/** The page's key bridge settings (client/worker/keybridge-cipher.ts): E = 4 epoch bits. */
export const EPOCH_BITS = 4;
const AUDIO_CONTEXT = 0;
const OPUS_PT = 100;
const EMPTY = new Uint8Array(0);
const SFRAME_KEY_LENGTH = 16; // AES_128_GCM_SHA256_128 Nk (the key bridge's default suite)

export interface ParticipantConfig {
  pid: string;
  wsUrl: string;
  room: string;
  send: boolean;
  recv: boolean;
  fps: number;
  frameBytes: number;
  graceMs: number;
  holdMs: number;
  staggerMs: number;
}

/** What the participant needs from its thread: an event sink, timing sinks and the MLS facade. */
export interface ParticipantHost {
  emit(ev: LoadEvent): void;
  encryptMs(ms: number): void;
  decryptMs(ms: number): void;
  commitMs(size: number, ms: number): void;
  /** A handshake message (commit or proposal) was processed. */
  handshake(): void;
  joinExternalMs(ms: number): void;
  mls: MlsApi;
  /** This participant should compute roster diffs for the report (one per thread). */
  isReporter(p: SyntheticParticipant): boolean;
}

interface RecvStream {
  from: string;
  lastSeq: number | null;
}

export class SyntheticParticipant {
  readonly cfg: ParticipantConfig;
  readonly #host: ParticipantHost;
  #ws: WebSocket | null = null;
  #member: Member | null = null;
  readonly #bridge: KeyBridge;
  #sock: (dgram.Socket & { port: number }) | null = null;
  #sendTarget: { ip: string; port: number } | null = null;
  #ssrc = (Math.random() * 0xffffffff) >>> 0 || 1;
  #seq = Math.floor(Math.random() * 0xffff);
  #ts = Math.floor(Math.random() * 0xffffffff);
  #recvTransportId: string | null = null;
  #rtpCaps: JsonObject | null = null;
  #producers: ProducerInfo[] = [];
  readonly #consumed = new Set<string>();
  readonly #streams = new Map<number, RecvStream>();
  #epochChain: Promise<void> = Promise.resolve();
  #prevRoster: { epoch: number; names: Set<string> } | null = null;
  #joinEpoch: number | null = null;
  #joinedAt: number | null = null;
  #stopping = false;
  #debugged = false;
  #treeSize = 1;
  #ownLeaf = 0;
  #sending = false;
  #encInFlight = false;
  readonly #encFirst = new Set<number>();
  readonly #decFirst = new Set<number>();
  readonly #firstFrom = new Set<string>();
  framesEncrypted = 0;
  framesDecrypted = 0;
  readonly decryptedFrom: Record<string, number> = {};
  rtpGaps = 0;
  commitsProcessed = 0;
  #lostPending = new Map<string, { epoch: number; reason: LossReason; count: number; beforeJoin: boolean }>();
  #heldPending = new Map<number, number>();

  constructor(cfg: ParticipantConfig, host: ParticipantHost) {
    this.cfg = cfg;
    this.#host = host;
    this.#bridge = new KeyBridge({ backend: nodeSFrameBackend, epochBits: EPOCH_BITS, graceMs: cfg.graceMs, holdMs: cfg.holdMs, holdMaxFrames: 16384, holdMaxBytes: 16 * 1024 * 1024 });
  }

  get joined(): boolean {
    return this.#joinedAt !== null && !this.#stopping;
  }
  get sending(): boolean {
    return this.#sending;
  }

  #emit(ev: LoadEvent): void {
    this.#host.emit(ev);
  }

  #error(message: string): void {
    this.#emit({ type: 'error', pid: this.cfg.pid, at: now(), message: message.slice(0, 300) });
  }

  /** Wraps the MLS facade to time commit processing and external joins. */
  #timedMls(): MlsApi {
    const mls = this.#host.mls;
    const host = this.#host;
    return {
      ...mls,
      processMessage: async (state, message) => {
        const t0 = performance.now();
        const r = await mls.processMessage(state, message);
        host.handshake();
        if (r.kind === 'commit') {
          this.commitsProcessed++;
          host.commitMs(mls.treeSize(r.newState), performance.now() - t0);
        }
        return r;
      },
      joinExternal: async (o) => {
        const t0 = performance.now();
        const r = await mls.joinExternal(o);
        host.joinExternalMs(performance.now() - t0);
        return r;
      },
    };
  }

  /** Watches incoming signaling text for the join result (producers, RTP capabilities) and DS evidence. */
  #tap(inner: Transport): Transport {
    const outer: Transport = {
      send: (t) => inner.send(t),
      close: (c, r) => inner.close(c, r),
      onmessage: null,
      onclose: null,
    };
    inner.onmessage = (text) => {
      if (this.#rtpCaps === null && text.includes('"routerRtpCapabilities"')) {
        try {
          const m = JSON.parse(text) as { result?: { routerRtpCapabilities?: JsonObject; producers?: ProducerInfo[] } };
          if (m.result?.routerRtpCapabilities) this.#rtpCaps = m.result.routerRtpCapabilities;
          if (m.result?.producers) this.#producers = m.result.producers;
        } catch {
          /* not ours to judge */
        }
      } else if (text.length > 40 && text.includes('"type":"handshake"') && text.includes('"kind":"commit"')) {
        const m = /"epoch":"(\d+)"/.exec(text);
        if (m) this.#emit({ type: 'ds-commit', epoch: Number(m[1]) + 1, at: now(), source: 'client' });
      }
      outer.onmessage?.(text);
    };
    inner.onclose = (c, r) => outer.onclose?.(c, r);
    return outer;
  }

  async join(): Promise<void> {
    const { pid } = this.cfg;
    this.#emit({ type: 'join-start', pid, kind: 'synthetic', at: now(), send: this.cfg.send, recv: this.cfg.recv });
    try {
      const ws = new WebSocket(this.cfg.wsUrl, { perMessageDeflate: false });
      this.#ws = ws;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('ws open timeout')), 60_000);
        ws.once('open', () => {
          clearTimeout(t);
          resolve();
        });
        ws.once('error', (e) => {
          clearTimeout(t);
          reject(e);
        });
      });
      ws.on('error', () => {});
      const member = new Member({
        transport: this.#tap(webSocketTransport(ws as unknown as WebSocketLike)),
        room: this.cfg.room,
        name: pid,
        mls: this.#timedMls(),
        staggerMs: this.cfg.staggerMs,
        requestTimeoutMs: 30_000,
        maxJoinAttempts: 30,
      });
      this.#member = member;
      member.on('epoch', (e) => {
        this.#epochChain = this.#epochChain.then(() => this.#onEpoch(e)).catch((err: unknown) => this.#error(`epoch install: ${(err as Error).message}`));
      });
      member.on('error', (e) => {
        if (!this.#stopping) this.#error(`member: ${e.message}`);
      });
      member.on('removed', ({ reason }) => {
        if (!this.#stopping) this.#emit({ type: 'left', pid, at: now(), how: `removed: ${reason}` });
        void this.#teardown();
      });
      member.on('closed', ({ code }) => {
        if (!this.#stopping) this.#emit({ type: 'left', pid, at: now(), how: `socket closed (${code})` });
        void this.#teardown();
      });
      member.on('notification', (n) => {
        if (n.type === 'newProducer') {
          this.#producers.push(n);
          void this.#consume(n);
        }
      });
      await member.join();
      await this.#epochChain;
      this.#joinedAt = now();
      this.#joinEpoch = member.epoch === null ? null : Number(member.epoch);
      this.#emit({ type: 'joined', pid, at: this.#joinedAt, epoch: this.#joinEpoch ?? -1 });
      if (this.cfg.send || this.cfg.recv) await this.#startMedia();
    } catch (e) {
      if (!this.#stopping) this.#emit({ type: 'join-failed', pid, at: now(), message: (e as Error).message.slice(0, 200) });
      await this.#teardown();
    }
  }

  async #onEpoch(e: EpochEvent): Promise<void> {
    if (this.#stopping) return;
    const epoch = Number(e.epoch);
    const baseKey = await e.exporter(SFRAME_EXPORTER_LABEL, EMPTY, SFRAME_KEY_LENGTH);
    try {
      this.#bridge.installEpoch(e.epoch, baseKey, e.treeSize, e.ownLeafIndex);
      this.#treeSize = e.treeSize;
      this.#ownLeaf = e.ownLeafIndex;
    } finally {
      baseKey.fill(0);
    }
    const at = now();
    let added: string[] = [];
    let removed: string[] = [];
    let continuous = false;
    if (this.#host.isReporter(this) || e.memberCount <= 64) {
      const names = new Set(e.roster.map((r) => fromUtf8(r.identity)));
      if (this.#prevRoster && this.#prevRoster.epoch === epoch - 1) {
        continuous = true;
        for (const n of names) if (!this.#prevRoster.names.has(n)) added.push(n);
        for (const n of this.#prevRoster.names) if (!names.has(n)) removed.push(n);
      } else if (this.#prevRoster === null && names.size === 1) {
        continuous = true; // the group's creator: epoch 0 adds itself
        added = [...names];
      }
      this.#prevRoster = { epoch, names };
    } else {
      this.#prevRoster = null;
    }
    this.#emit({ type: 'epoch', pid: this.cfg.pid, at, epoch, size: e.memberCount, continuous, added, removed });
  }

  // ---- media ----------------------------------------------------------------------------------

  async #startMedia(): Promise<void> {
    const member = this.#member!;
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
    this.#sock = Object.assign(sock, { port: sock.address().port });
    sock.on('message', (buf) => this.#onPacket(buf));
    sock.on('error', () => {});
    const sig = member.signaling;
    if (this.#rtpCaps === null) this.#rtpCaps = (await sig.request('getRouterRtpCapabilities', {})).routerRtpCapabilities;
    if (this.cfg.recv) {
      const t = await sig.request('createPlainTransport', { comedia: false, rtcpMux: true });
      await sig.request('connectPlainTransport', { transportId: t.transportId, ip: '127.0.0.1', port: this.#sock.port });
      this.#recvTransportId = t.transportId;
      await Promise.all([...this.#producers].map((p) => this.#consume(p)));
    }
    if (this.cfg.send) {
      const t = await sig.request('createPlainTransport', { comedia: false, rtcpMux: true });
      await sig.request('connectPlainTransport', { transportId: t.transportId, ip: '127.0.0.1', port: this.#sock.port });
      await sig.request('produce', {
        transportId: t.transportId,
        kind: 'audio',
        rtpParameters: { codecs: [{ mimeType: 'audio/opus', payloadType: OPUS_PT, clockRate: 48000, channels: 2 }], encodings: [{ ssrc: this.#ssrc }] },
        appData: { synthetic: true },
      });
      this.#sendTarget = { ip: t.ip, port: t.port };
      this.#sending = true;
    }
  }

  async #consume(p: ProducerInfo): Promise<void> {
    if (!this.cfg.recv || this.#recvTransportId === null || this.#stopping) return;
    if (p.kind !== 'audio' || this.#consumed.has(p.producerId)) return;
    if (p.memberId === this.#member?.memberId) return;
    this.#consumed.add(p.producerId);
    const sig = this.#member!.signaling;
    try {
      const c = await sig.request('consume', { transportId: this.#recvTransportId, producerId: p.producerId, rtpCapabilities: this.#rtpCaps! });
      const enc = (c.rtpParameters as { encodings?: Array<{ ssrc?: number }> }).encodings?.[0];
      const from = this.#member!.members.find((m) => m.memberId === p.memberId)?.name ?? p.memberId;
      if (enc?.ssrc !== undefined) this.#streams.set(enc.ssrc, { from, lastSeq: null });
      await sig.request('resumeConsumer', { consumerId: c.consumerId });
    } catch (e) {
      // The producer may have closed meanwhile (its owner left): not a failure of this participant.
      const code = (e as { code?: string }).code;
      if (code !== 'not-found' && !this.#stopping) this.#error(`consume: ${(e as Error).message}`);
    }
  }

  /** One frame (called by the thread's ticker). */
  sendFrame(): void {
    if (!this.#sending || this.#stopping || this.#encInFlight) return;
    const epochBig = this.#bridge.currentEpoch;
    if (epochBig === undefined) return;
    const epoch = Number(epochBig);
    const frame = new Uint8Array(this.cfg.frameBytes);
    const n = this.framesEncrypted;
    for (let i = 0; i < frame.length; i++) frame[i] = (n + i) & 0xff;
    this.#encInFlight = true;
    const t0 = performance.now();
    this.#bridge.encrypt(AUDIO_CONTEXT, frame, EMPTY).then(
      (ct) => {
        this.#encInFlight = false;
        this.#host.encryptMs(performance.now() - t0);
        if (this.#stopping || !this.#sock || !this.#sendTarget) return;
        const pkt = new Uint8Array(12 + ct.length);
        const v = new DataView(pkt.buffer);
        pkt[0] = 0x80;
        pkt[1] = 0x80 | OPUS_PT;
        this.#seq = (this.#seq + 1) & 0xffff;
        this.#ts = (this.#ts + Math.round(48000 / this.cfg.fps)) >>> 0;
        v.setUint16(2, this.#seq);
        v.setUint32(4, this.#ts);
        v.setUint32(8, this.#ssrc);
        pkt.set(ct, 12);
        this.#sock.send(pkt, this.#sendTarget.port, this.#sendTarget.ip);
        this.framesEncrypted++;
        if (!this.#encFirst.has(epoch)) {
          this.#encFirst.add(epoch);
          this.#emit({ type: 'enc-first', pid: this.cfg.pid, epoch, at: now() });
        }
      },
      (e: unknown) => {
        this.#encInFlight = false;
        if (!this.#stopping) this.#error(`encrypt: ${(e as Error).message}`);
      },
    );
  }

  #onPacket(buf: Buffer): void {
    if (this.#stopping || buf.length < 12 || buf[0]! >> 6 !== 2) return;
    const pt = buf[1]! & 0x7f;
    if (pt >= 72 && pt <= 76) return; // RTCP (rtcp-mux)
    const ssrc = buf.readUInt32BE(8);
    const stream = this.#streams.get(ssrc);
    if (!stream) return;
    const seq = buf.readUInt16BE(2);
    if (stream.lastSeq !== null) {
      const gap = (seq - stream.lastSeq - 1) & 0xffff;
      if (gap > 0 && gap < 1000) this.rtpGaps += gap;
    }
    stream.lastSeq = seq;
    // RFC 3550 §5.1 header: CSRCs and the extension (mediasoup may add header extensions) precede the payload.
    const cc = buf[0]! & 0x0f;
    let off = 12 + cc * 4;
    if (buf[0]! & 0x10) {
      if (buf.length < off + 4) return;
      off += 4 + buf.readUInt16BE(off + 2) * 4;
    }
    let end = buf.length;
    if (buf[0]! & 0x20) end -= buf[end - 1]!;
    if (off >= end) return;
    const payload = new Uint8Array(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + end));
    const t0 = performance.now();
    this.#bridge.decrypt(payload, EMPTY).then(
      (r) => this.#onDecrypted(r, stream, payload, t0),
      (e: unknown) => this.#error(`decrypt threw: ${(e as Error).message}`),
    );
  }

  #onDecrypted(r: DecryptResult, stream: RecvStream, payload: Uint8Array, t0: number): void {
    if (this.#stopping) return;
    const at = now();
    if (r.ok) {
      if (!r.held) this.#host.decryptMs(performance.now() - t0);
      this.framesDecrypted++;
      this.decryptedFrom[stream.from] = (this.decryptedFrom[stream.from] ?? 0) + 1;
      const epoch = Number(r.epoch);
      if (r.held) this.#heldPending.set(epoch, (this.#heldPending.get(epoch) ?? 0) + 1);
      if (!this.#decFirst.has(epoch)) {
        this.#decFirst.add(epoch);
        this.#emit({ type: 'dec-first', pid: this.cfg.pid, epoch, at });
      }
      if (!this.#firstFrom.has(stream.from)) {
        this.#firstFrom.add(stream.from);
        this.#emit({ type: 'first-from', pid: this.cfg.pid, from: stream.from, at });
      }
      return;
    }
    const reason = lossReasonOf(r.reason);
    if (r.reason === 'closed') return;
    if (process.env.LOADTEST_DEBUG && !this.#debugged) {
      this.#debugged = true;
      try {
        const h = decodeHeader(payload);
        console.error(`[debug ${this.cfg.pid}] ${r.reason} from ${stream.from}: kid ${h.kid} ctr ${h.ctr} hdr ${h.length} len ${payload.length} first ${Buffer.from(payload.subarray(0, 8)).toString('hex')}; own kid ${this.#bridge.ownKid(0)} epoch ${this.#bridge.currentEpoch}`);
        // Would an all-zero base key open it? (A page that wipes the key before its worker gets it.)
        const probe = new KeyBridge({ backend: nodeSFrameBackend, epochBits: EPOCH_BITS });
        probe.installEpoch(this.#bridge.currentEpoch!, new Uint8Array(SFRAME_KEY_LENGTH), this.#treeSize, this.#ownLeaf === 0 ? 1 : 0);
        void probe.decrypt(payload, EMPTY).then((z) => {
          console.error(`[debug ${this.cfg.pid}] same frame with an all-zero base key: ${z.ok ? 'DECRYPTS' : z.reason}`);
          probe.close();
        });
      } catch (e) {
        console.error(`[debug ${this.cfg.pid}] ${r.reason}: header: ${(e as Error).message}`);
      }
    }
    const current = this.#bridge.currentEpoch === undefined ? -1 : Number(this.#bridge.currentEpoch);
    // Frames under the epoch before our first one were never meant for us.
    // The bridge names those it can tell apart ('before-join': older than its first epoch).
    let beforeJoin = r.reason === 'before-join';
    if (!beforeJoin && this.#joinEpoch !== null && reason !== 'auth-failed' && reason !== 'replay') {
      try {
        const low = Number(decodeHeader(payload).kid & ((1n << BigInt(EPOCH_BITS)) - 1n));
        const mask = (1 << EPOCH_BITS) - 1;
        beforeJoin = low === ((this.#joinEpoch - 1) & mask) && low !== (current & mask) && (this.#joinedAt === null || at - this.#joinedAt < 10_000);
      } catch {
        /* malformed header: counted below */
      }
    }
    const key = `${current}|${reason}|${beforeJoin}`;
    const rec = this.#lostPending.get(key) ?? { epoch: current, reason, count: 0, beforeJoin };
    rec.count++;
    this.#lostPending.set(key, rec);
    void stream;
  }

  /** Pushes batched counters (losses, held frames) as events; called by the thread every few hundred ms. */
  flush(final = false): void {
    for (const rec of this.#lostPending.values()) this.#emit({ type: 'lost', pid: this.cfg.pid, at: now(), ...rec });
    this.#lostPending.clear();
    for (const [epoch, count] of this.#heldPending) this.#emit({ type: 'held-saved', pid: this.cfg.pid, epoch, count });
    this.#heldPending.clear();
    void final;
  }

  counters(): LoadEvent {
    return {
      type: 'counters',
      pid: this.cfg.pid,
      framesEncrypted: this.framesEncrypted,
      framesDecrypted: this.framesDecrypted,
      decryptedFrom: { ...this.decryptedFrom },
      rtpGaps: this.rtpGaps,
      commitsProcessed: this.commitsProcessed,
    };
  }

  async leave(how: LeaveHow): Promise<void> {
    if (this.#stopping) return;
    this.flush();
    this.#emit({ type: 'leave-start', pid: this.cfg.pid, at: now(), how });
    this.#sending = false;
    this.#stopping = true;
    const member = this.#member;
    if (how === 'graceful' && member) {
      await member.leave().catch(() => undefined);
    } else {
      // Crash-like: the socket is destroyed without a close handshake or a `leave`.
      this.#ws?.terminate();
      member?.close();
    }
    this.#emit({ type: 'left', pid: this.cfg.pid, at: now(), how });
    this.#emit(this.counters());
    await this.#teardown();
  }

  /** End of run: stop without leaving the room (the server is shut down next). */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.flush(true);
    this.#emit(this.counters());
    this.#stopping = true;
    this.#sending = false;
    this.#emit({ type: 'left', pid: this.cfg.pid, at: now(), how: 'stopped' });
    this.#member?.close();
    this.#ws?.terminate();
    await this.#teardown();
  }

  async #teardown(): Promise<void> {
    this.#stopping = true;
    this.#sending = false;
    this.#bridge.close();
    const sock = this.#sock;
    this.#sock = null;
    if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
    if (this.#ws && this.#ws.readyState !== WebSocket.CLOSED) this.#ws.terminate();
  }
}
