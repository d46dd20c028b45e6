// startServer(config): one Node process that serves the web client (express static), speaks the
// signaling protocol on /ws (ws), runs each room's MLS Delivery Service and forwards media
// through mediasoup. close() shuts everything down and waits for the worker processes to exit.
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { WebSocketServer } from 'ws';
import type { ServerConfig } from './config.js';
import { StartupError } from './errors.js';
import { WorkerPool } from './sfu/workers.js';
import { Connection } from './signaling/connection.js';
import { Hub } from './signaling/hub.js';
import type { ServerDeps } from './signaling/hub.js';

export interface RunningServer {
  /** http://host:port */
  url: string;
  /** ws://host:port/ws */
  wsUrl: string;
  port: number;
  hub: Hub;
  /** null when config.media is false. */
  workers: WorkerPool | null;
  /** Graceful shutdown: closes sockets (1001), rooms, routers and worker processes. Idempotent. */
  close(): Promise<void>;
}

const PLACEHOLDER = `<!doctype html><meta charset="utf-8"><title>sealed-call</title>
<h1>sealed-call server is running</h1>
<p>The web client has not been built: run <code>npm run build</code> (or <code>npm start</code>, which builds it first).</p>`;

export async function startServer(config: ServerConfig, deps: ServerDeps = {}): Promise<RunningServer> {
  const log = config.log ? (line: string) => console.log(`[server] ${line}`) : () => {};
  const workers = config.media ? await WorkerPool.create(config, log) : null;

  const app = express();
  app.disable('x-powered-by');
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  const index = path.join(config.clientDir, 'index.html');
  if (existsSync(index)) {
    app.use(express.static(config.clientDir, { index: 'index.html' }));
  } else {
    log(`client not built (${index} is missing): serving a placeholder page; run \`npm run build\``);
    app.get('/', (_req, res) => {
      res.status(200).type('html').send(PLACEHOLDER);
    });
  }
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, rooms: hub.rooms.size, connections: hub.connections.size });
  });

  const server = http.createServer(app);
  const hub = new Hub(config, workers, log, deps);
  // Frames over 2x maxMessageBytes are cut off by ws (close 1009); between 1x and 2x they get `too-large`.
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes * 2 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname !== '/ws' || hub.connections.size >= config.maxConnections) {
      socket.write(url.pathname !== '/ws' ? 'HTTP/1.1 404 Not Found\r\n\r\n' : 'HTTP/1.1 503 Service Unavailable\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const conn = new Connection(ws, config, hub);
      hub.add(conn);
    });
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    hub.close();
    await workers?.close();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') {
      throw new StartupError(`port ${config.port} on ${config.host} is already in use: stop the other server or start with PORT=<free port>`);
    }
    if (err.code === 'EACCES') throw new StartupError(`no permission to listen on port ${config.port}: use PORT=3000 or another port above 1023`);
    if (err.code === 'EADDRNOTAVAIL') throw new StartupError(`HOST=${config.host} is not an address of this machine: use HOST=0.0.0.0 or 127.0.0.1`);
    throw e;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const host = config.host === '0.0.0.0' ? '127.0.0.1' : config.host.includes(':') ? `[${config.host}]` : config.host;

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      hub.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await workers?.close();
    })());

  log(`listening on http://${host}:${port} (WebSocket /ws, ${workers ? `${workers.workers.length} mediasoup worker(s)` : 'media disabled'})`);
  return { url: `http://${host}:${port}`, wsUrl: `ws://${host}:${port}/ws`, port, hub, workers, close };
}
