// Browser WebSocket to /ws: connects with a deadline and exposes the socket as a string transport
// (send / onMessage / onClose), which the participant engine (shared/member) drives.

export class ServerUnreachableError extends Error {
  override readonly name = 'ServerUnreachableError';
}

export interface StringTransport {
  send(text: string): void;
  onMessage(handler: (text: string) => void): void;
  onClose(handler: (code: number, reason: string) => void): void;
  close(code?: number, reason?: string): void;
}

export const CONNECT_TIMEOUT_MS = 8000;

export function signalingUrl(loc: Location = location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

/** Opens the WebSocket; rejects with ServerUnreachableError when it cannot connect in time. */
export function connectWebSocket(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<StringTransport> {
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
    const messageHandlers: ((t: string) => void)[] = [];
    const closeHandlers: ((c: number, r: string) => void)[] = [];
    const early: string[] = [];
    ws.addEventListener('message', (ev) => {
      if (typeof ev.data !== 'string') return; // the protocol is text frames only
      if (messageHandlers.length === 0) early.push(ev.data);
      for (const h of messageHandlers) h(ev.data);
    });
    ws.addEventListener('close', (ev) => {
      clearTimeout(timer);
      for (const h of closeHandlers) h(ev.code, ev.reason);
      reject(new ServerUnreachableError(`connection to ${url} closed (${ev.code})`));
    });
    ws.addEventListener('open', () => {
      clearTimeout(timer);
      resolve({
        send: (text) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(text);
        },
        onMessage: (h) => {
          messageHandlers.push(h);
          for (const t of early.splice(0)) h(t);
        },
        onClose: (h) => closeHandlers.push(h),
        close: (code = 1000, reason = '') => ws.close(code, reason),
      });
    });
  });
}
