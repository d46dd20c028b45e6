// The client half of the signaling protocol over any text transport (ws in Node, WebSocket in
// the browser): request/response by id with timeouts, notifications in arrival order.
import { PROTOCOL_VERSION, parseServerMessage } from '../protocol/index.js';
import type { ErrorCode, ErrorMessage, NotificationType, Requests, RequestType, Results, ServerMessage, ServerNotification } from '../protocol/index.js';

/** What the engine needs from a socket: send text, close, and two callbacks it sets. */
export interface Transport {
  send(text: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((text: string) => void) | null;
  onclose: ((code: number, reason: string) => void) | null;
}

/** Anything shaped like a WebSocket (the browser's, or the `ws` package's): wraps it as a Transport. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
}

export function webSocketTransport(ws: WebSocketLike): Transport {
  const t: Transport = {
    send: (text) => ws.send(text),
    close: (code, reason) => ws.close(code, reason),
    onmessage: null,
    onclose: null,
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') t.onmessage?.(ev.data);
  };
  ws.onclose = (ev) => t.onclose?.(ev.code, ev.reason);
  return t;
}

/** The server answered a request with an `error` message. */
export class SignalingError extends Error {
  override readonly name = 'SignalingError';
  readonly code: ErrorCode | 'timeout' | 'closed';
  readonly epoch: string | null | undefined;
  readonly groupInfo: string | null | undefined;
  /** stale-epoch after the DS held the commit for arrival order: retry at once. */
  readonly held: boolean;
  constructor(code: ErrorCode | 'timeout' | 'closed', message: string, extra: Partial<ErrorMessage> = {}) {
    super(`${code}: ${message}`);
    this.code = code;
    this.epoch = extra.epoch;
    this.groupInfo = extra.groupInfo;
    this.held = extra.held === true;
  }
}

type Reply = { ok: true; result: unknown } | { ok: false; error: SignalingError };

export interface SignalingClientOptions {
  requestTimeoutMs?: number;
}

export class SignalingClient {
  #transport: Transport;
  #nextId = 1;
  readonly #pending = new Map<number, { resolve: (r: Reply) => void; timer: ReturnType<typeof setTimeout> }>();
  readonly #listeners = new Set<(n: ServerNotification) => void>();
  readonly #closeListeners = new Set<(code: number, reason: string) => void>();
  readonly #timeoutMs: number;
  #closed = false;

  constructor(transport: Transport, options: SignalingClientOptions = {}) {
    this.#timeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#transport = transport;
    this.#attach(transport);
  }

  #attach(t: Transport): void {
    t.onmessage = (text) => this.#receive(text);
    t.onclose = (code, reason) => {
      if (t !== this.#transport) return;
      this.#closed = true;
      this.#failAll(new SignalingError('closed', `connection closed (${code})`));
      for (const l of this.#closeListeners) l(code, reason);
    };
  }

  /** Swap to a new transport (reconnect). Pending requests on the old one fail with `closed`. */
  replaceTransport(t: Transport): void {
    const old = this.#transport;
    this.#transport = t;
    old.onmessage = null;
    old.onclose = null;
    this.#failAll(new SignalingError('closed', 'transport replaced'));
    this.#closed = false;
    this.#attach(t);
  }

  get closed(): boolean {
    return this.#closed;
  }

  #failAll(err: SignalingError): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.resolve({ ok: false, error: err });
    }
  }

  #receive(text: string): void {
    const m: ServerMessage | undefined = parseServerMessage(text);
    if (!m) return;
    if (m.type === 'response' || m.type === 'error') {
      const p = m.id === null ? undefined : this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id!);
      clearTimeout(p.timer);
      if (m.type === 'response') p.resolve({ ok: true, result: m.result });
      else p.resolve({ ok: false, error: new SignalingError(m.code, m.message, m) });
      return;
    }
    for (const l of this.#listeners) l(m);
  }

  /**
   * Sends a request; `onReply` runs synchronously when the answer arrives, in stream order with
   * notifications (the member engine relies on this to keep one order).
   */
  send<K extends RequestType>(type: K, body: Requests[K], onReply: (r: { ok: true; result: Results[K] } | { ok: false; error: SignalingError }) => void): void {
    if (this.#closed) {
      onReply({ ok: false, error: new SignalingError('closed', 'connection closed') });
      return;
    }
    const id = this.#nextId++;
    const timer = setTimeout(() => {
      if (this.#pending.delete(id)) onReply({ ok: false, error: new SignalingError('timeout', `${type} got no answer within ${this.#timeoutMs} ms`) });
    }, this.#timeoutMs);
    this.#pending.set(id, { resolve: onReply as (r: Reply) => void, timer });
    try {
      this.#transport.send(JSON.stringify({ v: PROTOCOL_VERSION, id, type, ...body }));
    } catch {
      this.#pending.delete(id);
      clearTimeout(timer);
      onReply({ ok: false, error: new SignalingError('closed', 'send failed') });
    }
  }

  /** Promise form of send(); rejects with SignalingError. */
  request<K extends RequestType>(type: K, body: Requests[K]): Promise<Results[K]> {
    return new Promise((resolve, reject) => {
      this.send(type, body, (r) => (r.ok ? resolve(r.result) : reject(r.error)));
    });
  }

  onNotification(l: (n: ServerNotification) => void): () => void {
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  onClose(l: (code: number, reason: string) => void): () => void {
    this.#closeListeners.add(l);
    return () => this.#closeListeners.delete(l);
  }

  close(code = 1000, reason = 'bye'): void {
    this.#closed = true;
    this.#failAll(new SignalingError('closed', 'client closed'));
    try {
      this.#transport.close(code, reason);
    } catch {
      /* already closed */
    }
  }
}

export type { NotificationType };
