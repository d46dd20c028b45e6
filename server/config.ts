// Server configuration: every option named once, with its default and its environment override.
// loadConfig(env) reads the environment; tests pass overrides directly to startServer().

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface ServerConfig {
  /** HTTP/WebSocket listen address (HOST). `npm start`: 0.0.0.0; tests: 127.0.0.1. */
  host: string;
  /** Listen port (PORT); 0 picks a free port. */
  port: number;
  /** Directory with the built client (CLIENT_DIR), served at /. */
  clientDir: string;

  // ---- signaling limits
  /** Largest text frame accepted (MAX_MESSAGE_BYTES); larger ones get `too-large`, frames over 2x close with 1009. */
  maxMessageBytes: number;
  /** Sustained messages per second per connection (MESSAGES_PER_SECOND); bursts up to messageBurst. */
  messagesPerSecond: number;
  /** Token-bucket size (MESSAGE_BURST); a connection that empties it is closed with 4001. */
  messageBurst: number;
  /** Rooms per process (MAX_ROOMS). */
  maxRooms: number;
  /** Connections per room (MAX_MEMBERS_PER_ROOM). */
  maxMembersPerRoom: number;
  /** WebSocket ping interval (HEARTBEAT_INTERVAL_MS). */
  heartbeatIntervalMs: number;
  /** No pong for this long: the peer is dead (HEARTBEAT_TIMEOUT_MS). Detection <= timeout + interval. */
  heartbeatTimeoutMs: number;
  /** Connections per process (MAX_CONNECTIONS). */
  maxConnections: number;

  // ---- access
  /** When set (JOIN_TOKEN_SECRET), `join` requires an HMAC-SHA256 join token (server/mint-token.ts). */
  joinTokenSecret: string | undefined;

  // ---- delivery service
  /** A member whose socket closed may resume within this time before it is removed (RECONNECT_GRACE_MS). */
  reconnectGraceMs: number;
  /** Handshake messages kept per room for catch-up (HANDSHAKE_LOG_SIZE). */
  handshakeLogSize: number;
  /** How many times the server re-proposes the removal of a leaf before giving up (REMOVE_RETRIES). */
  removeRetries: number;
  /** Longest wait of a join (external commit) behind removals noticed before it arrived; 0 disables (JOIN_HOLD_MS). */
  joinHoldMs: number;

  // ---- media (mediasoup)
  /** Run the SFU (MEDIA=0 disables it: signaling and Delivery Service only, e.g. for DS tests). */
  media: boolean;
  /** Worker processes (MEDIASOUP_WORKERS); default one per core. */
  numWorkers: number;
  /** IP the RTC transports listen on (RTC_LISTEN_IP). */
  rtcListenIp: string;
  /** Address announced in ICE candidates (ANNOUNCED_IP): set it to the public IP when serving beyond this host. */
  announcedIp: string | undefined;
  /** RTC port range (RTC_MIN_PORT, RTC_MAX_PORT). */
  rtcMinPort: number;
  rtcMaxPort: number;
  /** mediasoup worker log level (MEDIASOUP_LOG_LEVEL). */
  workerLogLevel: 'debug' | 'warn' | 'error' | 'none';
  /** Initial outgoing bitrate per WebRtcTransport (INITIAL_OUTGOING_BITRATE). */
  initialOutgoingBitrate: number;

  /** Log lines (LOG=0 silences). */
  log: boolean;
}

export const DEFAULT_CONFIG: ServerConfig = {
  host: '0.0.0.0',
  port: 3000,
  clientDir: path.join(ROOT, 'client', 'dist'),
  maxMessageBytes: 512 * 1024,
  messagesPerSecond: 50,
  messageBurst: 200,
  maxRooms: 100,
  maxMembersPerRoom: 50,
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 3500,
  maxConnections: 2000,
  joinTokenSecret: undefined,
  reconnectGraceMs: 3000,
  handshakeLogSize: 256,
  removeRetries: 3,
  joinHoldMs: 3000,
  media: true,
  numWorkers: Math.max(1, os.availableParallelism?.() ?? os.cpus().length),
  rtcListenIp: '127.0.0.1',
  announcedIp: undefined,
  rtcMinPort: 40000,
  rtcMaxPort: 49999,
  workerLogLevel: 'error',
  initialOutgoingBitrate: 1_000_000,
  log: true,
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v < min || v > max) throw new ConfigError(`${name} must be an integer in [${min}, ${max}], got "${text}"`);
  return v;
}

/** Reads the environment over the defaults. Throws ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const d = DEFAULT_CONFIG;
  const logLevel = env.MEDIASOUP_LOG_LEVEL ?? d.workerLogLevel;
  if (!['debug', 'warn', 'error', 'none'].includes(logLevel)) throw new ConfigError(`MEDIASOUP_LOG_LEVEL must be debug, warn, error or none`);
  const cfg: ServerConfig = {
    host: env.HOST || d.host,
    port: intEnv(env, 'PORT', d.port, 0, 65535),
    clientDir: env.CLIENT_DIR || d.clientDir,
    maxMessageBytes: intEnv(env, 'MAX_MESSAGE_BYTES', d.maxMessageBytes, 1024, 64 * 1024 * 1024),
    messagesPerSecond: intEnv(env, 'MESSAGES_PER_SECOND', d.messagesPerSecond, 1, 1_000_000),
    messageBurst: intEnv(env, 'MESSAGE_BURST', d.messageBurst, 1, 10_000_000),
    maxRooms: intEnv(env, 'MAX_ROOMS', d.maxRooms, 1, 1_000_000),
    maxMembersPerRoom: intEnv(env, 'MAX_MEMBERS_PER_ROOM', d.maxMembersPerRoom, 1, 10_000),
    heartbeatIntervalMs: intEnv(env, 'HEARTBEAT_INTERVAL_MS', d.heartbeatIntervalMs, 50, 600_000),
    heartbeatTimeoutMs: intEnv(env, 'HEARTBEAT_TIMEOUT_MS', d.heartbeatTimeoutMs, 100, 600_000),
    maxConnections: intEnv(env, 'MAX_CONNECTIONS', d.maxConnections, 1, 1_000_000),
    joinTokenSecret: env.JOIN_TOKEN_SECRET || undefined,
    reconnectGraceMs: intEnv(env, 'RECONNECT_GRACE_MS', d.reconnectGraceMs, 0, 3_600_000),
    handshakeLogSize: intEnv(env, 'HANDSHAKE_LOG_SIZE', d.handshakeLogSize, 8, 1_000_000),
    removeRetries: intEnv(env, 'REMOVE_RETRIES', d.removeRetries, 1, 100),
    joinHoldMs: intEnv(env, 'JOIN_HOLD_MS', d.joinHoldMs, 0, 60_000),
    media: env.MEDIA !== '0',
    numWorkers: intEnv(env, 'MEDIASOUP_WORKERS', d.numWorkers, 1, 256),
    rtcListenIp: env.RTC_LISTEN_IP || d.rtcListenIp,
    announcedIp: env.ANNOUNCED_IP || d.announcedIp,
    rtcMinPort: intEnv(env, 'RTC_MIN_PORT', d.rtcMinPort, 1024, 65535),
    rtcMaxPort: intEnv(env, 'RTC_MAX_PORT', d.rtcMaxPort, 1024, 65535),
    workerLogLevel: logLevel as ServerConfig['workerLogLevel'],
    initialOutgoingBitrate: intEnv(env, 'INITIAL_OUTGOING_BITRATE', d.initialOutgoingBitrate, 100_000, 100_000_000),
    log: env.LOG !== '0',
    ...overrides,
  };
  return checkConfig(cfg);
}

/** Checks cross-field rules; returns the config. */
export function checkConfig(cfg: ServerConfig): ServerConfig {
  if (cfg.rtcMinPort > cfg.rtcMaxPort) throw new ConfigError(`RTC_MIN_PORT (${cfg.rtcMinPort}) must not exceed RTC_MAX_PORT (${cfg.rtcMaxPort})`);
  if (cfg.messageBurst < cfg.messagesPerSecond) throw new ConfigError('MESSAGE_BURST must be at least MESSAGES_PER_SECOND');
  if (cfg.joinTokenSecret !== undefined && cfg.joinTokenSecret.length < 16) throw new ConfigError('JOIN_TOKEN_SECRET must be at least 16 characters');
  return cfg;
}

/** A config for tests: 127.0.0.1, port 0, one worker, quiet; overrides on top. */
export function testConfig(overrides: Partial<ServerConfig> = {}): ServerConfig {
  return checkConfig({ ...DEFAULT_CONFIG, host: '127.0.0.1', port: 0, numWorkers: 1, log: false, ...overrides });
}
