// Browser WebSocket to /ws: opens it with a deadline (ServerUnreachableError otherwise) and wraps it as the
// participant engine's Transport. A tap lets the page read the raw `join` response, whose media fields
// (router capabilities, current producers) the engine does not re-expose.

import type { Transport } from '../../shared/member/index.js';

export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
}

export const CONNECT_TIMEOUT_MS = 8000;

export function signalingUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

/** Opens the WebSocket; rejects with ServerUnreachableError when it cannot connect in time. */
export function openWebSocket(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      reject(new ServerUnreachableError(`cannot open ${url}: ${String(e)}`));
      return;
    }
    const timer = setTimeout(() => {
      ws.close();
      reject(new ServerUnreachableError(`no answer from ${url} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    const onClose = (ev: CloseEvent): void => {
      clearTimeout(timer);
      reject(new ServerUnreachableError(`connection to ${url} failed (${ev.code})`));
    };
    ws.addEventListener('close', onClose);
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      ws.removeEventListener('close', onClose);
      resolve(ws);
    });
  });
}

/**
 * The engine's Transport over an open WebSocket. `tap` sees every incoming text frame first (read-only:
 * the page uses it to pick the media fields out of the join response).
 */
export function tappedTransport(ws: WebSocket, tap: (text: string) => void): Transport {
  const t: Transport = {
    send: (text) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
    },
    close: (code, reason) => ws.close(code, reason),
    onmessage: null,
    onclose: null,
  };
  ws.onmessage = (ev: MessageEvent) => {
    if (typeof ev.data !== 'string') return; // the protocol is text frames only
    try {
      tap(ev.data);
    } catch {
      /* the tap never breaks the engine */
    }
    t.onmessage?.(ev.data);
  };
  ws.onclose = (ev: CloseEvent) => t.onclose?.(ev.code, ev.reason);
  return t;
}
