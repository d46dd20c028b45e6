// One WebSocket connection: frame checks (text only, size), rate limit, liveness, parsing and
// validation; valid requests go to the handler, invalid ones get an `error` response and the
// connection stays usable. Protocol abuse closes it with a documented close code.
import type { WebSocket } from 'ws';
import { CloseCode, ErrorCode, PROTOCOL_VERSION, parseClientMessage } from '../../shared/protocol/index.js';
import type { ClientMessage, Notifications, RequestType, Results, ErrorCode as ErrorCodeT } from '../../shared/protocol/index.js';
import { TokenBucket } from './rate-limit.js';

/** A connection whose unsent data exceeds this is not reading: it is terminated. */
export const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export interface ConnectionLimits {
  maxMessageBytes: number;
  messagesPerSecond: number;
  messageBurst: number;
}

export interface ConnectionHandler {
  onRequest(conn: Connection, msg: ClientMessage): void;
  onClose(conn: Connection): void;
}

let nextId = 0;

export class Connection {
  readonly id = `c${++nextId}`;
  /** The session (room membership) this connection carries, set by the hub. */
  session: unknown = null;
  lastSeen = Date.now();
  #closed = false;
  readonly #ws: WebSocket;
  readonly #bucket: TokenBucket;

  constructor(
    ws: WebSocket,
    private readonly limits: ConnectionLimits,
    private readonly handler: ConnectionHandler,
  ) {
    this.#ws = ws;
    this.#bucket = new TokenBucket(limits.messagesPerSecond, limits.messageBurst);
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer | Buffer[] | ArrayBuffer, isBinary));
    ws.on('pong', () => (this.lastSeen = Date.now()));
    ws.on('close', () => this.#onClose());
    ws.on('error', () => this.#ws.terminate());
  }

  get closed(): boolean {
    return this.#closed;
  }

  #onMessage(data: Buffer | Buffer[] | ArrayBuffer, isBinary: boolean): void {
    if (this.#closed) return;
    this.lastSeen = Date.now();
    if (!this.#bucket.take()) {
      this.close(CloseCode.flood, 'message rate limit exceeded');
      return;
    }
    if (isBinary) {
      this.close(CloseCode.binaryFrame, 'binary frames are not part of the protocol');
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (buf.length > this.limits.maxMessageBytes) {
      this.sendError(null, ErrorCode.tooLarge, `messages are limited to ${this.limits.maxMessageBytes} bytes`);
      return;
    }
    const parsed = parseClientMessage(buf.toString('utf8'), { maxMlsBytes: this.limits.maxMessageBytes });
    if (!parsed.ok) {
      this.sendError(parsed.id, parsed.code, parsed.error);
      return;
    }
    this.handler.onRequest(this, parsed.message);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.handler.onClose(this);
  }

  #send(obj: object): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    if (this.#ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.terminate();
      return;
    }
    this.#ws.send(JSON.stringify(obj));
  }

  respond<K extends RequestType>(id: number, result: Results[K]): void {
    this.#send({ v: PROTOCOL_VERSION, type: 'response', id, result });
  }

  sendError(id: number | null, code: ErrorCodeT, message: string, extra: { epoch?: string | null; groupInfo?: string | null; held?: boolean } = {}): void {
    this.#send({ v: PROTOCOL_VERSION, type: 'error', id, code, message, ...extra });
  }

  notify<K extends keyof Notifications>(type: K, body: Notifications[K]): void {
    this.#send({ v: PROTOCOL_VERSION, type, ...body });
  }

  ping(): void {
    if (!this.#closed && this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }

  /** Closes with a code from CloseCode; the close handshake ends in `close` -> handler.onClose. */
  close(code: number, reason: string): void {
    if (this.#ws.readyState === this.#ws.OPEN || this.#ws.readyState === this.#ws.CONNECTING) {
      this.#ws.close(code, reason);
      // A peer that ignores the close handshake is cut off.
      setTimeout(() => this.#ws.terminate(), 2000).unref();
    }
    this.#onClose();
  }

  /** Drops the TCP connection at once (dead peer). */
  terminate(): void {
    this.#ws.terminate();
    this.#onClose();
  }
}
