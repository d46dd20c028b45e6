// Helpers for integration tests: a raw protocol client over `ws`, RTP packets, UDP sockets,
// hand-made MLS framing bytes, and bounded waiting.
import dgram from 'node:dgram';
import { WebSocket } from 'ws';
import { concat, toBase64 } from '../../shared/bytes/index.js';
import { Writer } from '../../shared/codec/index.js';
import { PROTOCOL_VERSION } from '../../shared/protocol/index.js';
import type { ServerMessage } from '../../shared/protocol/index.js';

/** Polls until `check()` is truthy or the deadline passes (then throws naming `what`). */
export async function waitFor<T>(what: string, check: () => T | undefined | false | null, timeoutMs = 10_000, stepMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A bare protocol client: raw frames in, every server message recorded. */
export class RawClient {
  readonly ws: WebSocket;
  readonly received: ServerMessage[] = [];
  closeCode: number | null = null;
  closeReason = '';
  #id = 0;
  #waiters = new Map<number, (m: ServerMessage) => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as ServerMessage;
      this.received.push(m);
      if ((m.type === 'response' || m.type === 'error') && m.id !== null) {
        const w = this.#waiters.get(m.id);
        if (w) {
          this.#waiters.delete(m.id);
          w(m);
        }
      }
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = String(reason);
    });
    ws.on('error', () => {});
  }

  static connect(url: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const c = new RawClient(ws);
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }

  sendRaw(data: string | Uint8Array): void {
    this.ws.send(data);
  }

  /** Sends {v, id, type, ...body}; resolves with the response or error message. */
  request(type: string, body: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<ServerMessage & { type: 'response' | 'error' }> {
    const id = ++this.#id;
    this.ws.send(JSON.stringify({ v: PROTOCOL_VERSION, id, type, ...body }));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to ${type} within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.set(id, (m) => {
        clearTimeout(t);
        resolve(m as ServerMessage & { type: 'response' | 'error' });
      });
    });
  }

  /** Like request, but throws unless the answer is a response; returns its result. */
  async ok<T = Record<string, unknown>>(type: string, body: Record<string, unknown> = {}): Promise<T> {
    const m = await this.request(type, body);
    if (m.type !== 'response') throw new Error(`${type} failed: ${(m as { code: string }).code}: ${(m as { message: string }).message}`);
    return m.result as T;
  }

  notifications(type: string): Array<Record<string, unknown>> {
    return this.received.filter((m) => m.type === type) as unknown as Array<Record<string, unknown>>;
  }

  waitClosed(timeoutMs = 5000): Promise<number> {
    return waitFor('socket close', () => (this.closeCode !== null ? this.closeCode : undefined), timeoutMs);
  }

  close(): void {
    this.ws.close();
  }
}

// ---- RTP (RFC 3550 §5.1) ----------------------------------------------------------------

export function rtpPacket(pt: number, seq: number, timestamp: number, ssrc: number, payload: Uint8Array, marker = false): Uint8Array {
  const h = new Uint8Array(12);
  const v = new DataView(h.buffer);
  h[0] = 0x80;
  h[1] = (marker ? 0x80 : 0) | (pt & 0x7f);
  v.setUint16(2, seq & 0xffff);
  v.setUint32(4, timestamp >>> 0);
  v.setUint32(8, ssrc >>> 0);
  return concat(h, payload);
}

export interface RtpView {
  pt: number;
  seq: number;
  timestamp: number;
  ssrc: number;
  payload: Uint8Array;
}

export function parseRtp(buf: Uint8Array): RtpView | undefined {
  if (buf.length < 12 || buf[0]! >> 6 !== 2) return undefined;
  const pt = buf[1]! & 0x7f;
  if (pt >= 72 && pt <= 76) return undefined; // RTCP
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const cc = buf[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (buf[0]! & 0x10) {
    if (buf.length < off + 4) return undefined;
    const words = v.getUint16(off + 2);
    off += 4 + words * 4;
  }
  let end = buf.length;
  if (buf[0]! & 0x20) end -= buf[end - 1]!;
  if (off > end) return undefined;
  return { pt, seq: v.getUint16(2), timestamp: v.getUint32(4), ssrc: v.getUint32(8), payload: buf.slice(off, end) };
}

export async function udpSocket(): Promise<dgram.Socket & { port: number }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  return Object.assign(s, { port: s.address().port });
}

export const OPUS_PRODUCER_RTP = (ssrc: number) => ({
  codecs: [{ mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 }],
  encodings: [{ ssrc }],
});

// ---- hand-made MLS framing (RFC 9420 §6) for Delivery Service tests -------------------------

export type FakeSender = { type: 'member'; leaf: number } | { type: 'external'; index: number } | { type: 'new_member_commit' } | { type: 'new_member_proposal' };

export interface FakeProposals {
  removes?: number[];
  refs?: Uint8Array[];
  externalInit?: boolean;
  /** A by-value proposal type the DS cannot skip (e.g. 1, Add). */
  other?: number;
}

/** Commit.proposals<V> (RFC 9420 §12.4) with Removes/ExternalInit by value and references. */
export function fakeProposalList(p: FakeProposals = {}): Uint8Array {
  const w = new Writer();
  if (p.externalInit) w.u8(1).u16(6).varBytes(new Uint8Array(32));
  for (const leaf of p.removes ?? []) w.u8(1).u16(3).u32(leaf);
  for (const ref of p.refs ?? []) w.u8(2).varBytes(ref);
  if (p.other !== undefined) w.u8(1).u16(p.other).fixed(new Uint8Array(8));
  return w.finish();
}

/**
 * An MLSMessage(PublicMessage): real header; for commits a real proposal list; then filler
 * where signatures, tags and the path would be (the DS reads none of it).
 */
export function fakePublicMessage(groupId: Uint8Array, epoch: bigint, sender: FakeSender, contentType: 1 | 2 | 3, filler = new Uint8Array([1, 2, 3, 4]), proposals?: FakeProposals): Uint8Array {
  const w = new Writer();
  w.u16(1).u16(1).varBytes(groupId).u64(epoch);
  if (sender.type === 'member') w.u8(1).u32(sender.leaf);
  else if (sender.type === 'external') w.u8(2).u32(sender.index);
  else w.u8(sender.type === 'new_member_proposal' ? 3 : 4);
  w.varBytes(new Uint8Array(0)).u8(contentType);
  if (contentType === 3) w.varBytes(fakeProposalList(proposals ?? (sender.type === 'new_member_commit' ? { externalInit: true } : {})));
  w.fixed(filler);
  return w.finish();
}

/** An MLSMessage(GroupInfo) with just the GroupContext head. */
export function fakeGroupInfo(groupId: Uint8Array, epoch: bigint): Uint8Array {
  const w = new Writer();
  w.u16(1).u16(4).u16(1).u16(1).varBytes(groupId).u64(epoch).varBytes(new Uint8Array(32));
  return w.finish();
}

export const b64 = toBase64;
