// The one encoded-transform worker of a page. It owns every SFrame key (the page posts each epoch's base
// key and forgets it), encrypts every outgoing frame, decrypts every incoming one, and reports counters.
//
// Two ways frames arrive here:
//   - RTCRtpScriptTransform: the browser fires `rtctransform` with a transformer (readable, writable, options)
//   - createEncodedStreams fallback: the page transfers the sender's / receiver's streams in a message
// Both go through the same per-stream pipeline below.
//
// Fail closed: a send frame without a key is dropped, never passed through; a received frame that does not
// authenticate is dropped and counted.

import { decodeHeader } from '../../shared/sframe/header.js';
import type { FromWorker, StreamStats, StreamStatus, ToWorker, TransformOptions } from '../e2ee/messages.js';
import type { FrameCipher } from './cipher.js';
import { createFrameCipher } from './keybridge-cipher.js';
import { clearPrefixLength, codecFamily, isKeyframe, type CodecFamily } from './prefix.js';
import type { EncodedFrame, ScriptTransformer, TransformEvent, WorkerScope } from './types.js';

const scope = self as unknown as WorkerScope;

/** How often the worker pushes counters to the page. */
const STATS_INTERVAL_MS = 250;
/** A stream counts as "decrypting" when a frame decrypted within this window. */
const ACTIVE_WINDOW_MS = 1500;
/** Shortest AEAD tag of the SFrame suites (RFC 9605 §4.5: AES_128_CTR_HMAC_SHA256_32 has a 4-byte tag). */
const SFRAME_MIN_TAG = 4;
/** Context ids for SFrame KIDs: one per outgoing stream of this sender (audio, video). */
const STREAM_CONTEXT = { audio: 0, video: 1 } as const;

interface StreamState {
  stats: StreamStats;
  transformer: ScriptTransformer | null;
  lastOkAt: number;
  lastWaitAt: number;
  lastFailAt: number;
  closed: boolean;
}

let cipher: FrameCipher = createFrameCipher();
const streams = new Map<string, StreamState>();
let statsTimer: ReturnType<typeof setInterval> | null = null;

function post(msg: FromWorker): void {
  scope.postMessage(msg);
}

function newStream(options: TransformOptions, api: StreamStats['api'], transformer: ScriptTransformer | null): StreamState {
  const stats: StreamStats = {
    id: options.id,
    direction: options.direction,
    kind: options.kind,
    codec: options.codec,
    peer: options.peer,
    api,
    status: 'idle',
    framesEncrypted: 0,
    framesDecrypted: 0,
    decryptFailures: 0,
    held: 0,
    dropped: 0,
    noKey: 0,
    replayed: 0,
    sframeHeadersOk: 0,
    sframeHeadersBad: 0,
    sframeUnknownKid: 0,
    keyframes: 0,
    lastKid: '',
    lastEpoch: '',
    lastClearBytes: 0,
    dropReasons: {},
  };
  const st: StreamState = { stats, transformer, lastOkAt: 0, lastWaitAt: 0, lastFailAt: 0, closed: false };
  const previous = streams.get(options.id);
  if (previous) previous.closed = true;
  streams.set(options.id, st);
  return st;
}

function familyOf(st: StreamState, frame: EncodedFrame): CodecFamily {
  if (st.stats.codec === '') {
    // Chromium and Firefox report the payload type's codec in the frame metadata.
    const mime = frame.getMetadata().mimeType;
    if (mime) st.stats.codec = mime;
  }
  return codecFamily(st.stats.codec, st.stats.kind);
}

async function sendFrame(st: StreamState, frame: EncodedFrame, out: TransformStreamDefaultController<EncodedFrame>): Promise<void> {
  const data = new Uint8Array(frame.data);
  if (data.length === 0) {
    // An empty frame carries no media: nothing to protect, nothing to leak.
    out.enqueue(frame);
    return;
  }
  const family = familyOf(st, frame);
  const n = clearPrefixLength(family, data);
  const metadata = data.subarray(0, n);
  let result;
  try {
    result = await cipher.protect(STREAM_CONTEXT[st.stats.kind], data.subarray(n), metadata);
  } catch (e) {
    st.stats.dropped++;
    reportError(st, e);
    return;
  }
  if (result === null) {
    // No key yet (before the first epoch): drop, never send in the clear.
    st.stats.dropped++;
    st.stats.noKey++;
    st.lastWaitAt = Date.now();
    return;
  }
  const protectedFrame = new Uint8Array(n + result.data.length);
  protectedFrame.set(metadata, 0);
  protectedFrame.set(result.data, n);
  frame.data = protectedFrame.buffer;
  out.enqueue(frame);
  st.stats.framesEncrypted++;
  if (st.stats.kind === 'video' && isKeyframe(family, data)) st.stats.keyframes++;
  st.stats.lastKid = result.kid.toString();
  st.stats.lastEpoch = result.epoch.toString();
  st.stats.lastClearBytes = n;
  st.lastOkAt = Date.now();
}

function recvFrame(st: StreamState, frame: EncodedFrame, out: TransformStreamDefaultController<EncodedFrame>): Promise<void> | undefined {
  const data = new Uint8Array(frame.data);
  if (data.length === 0) {
    out.enqueue(frame);
    return undefined;
  }
  const family = familyOf(st, frame);
  const n = clearPrefixLength(family, data);
  const metadata = data.subarray(0, n);
  const body = data.subarray(n);
  // Before decrypting, check what arrived: the clear prefix must be followed by an SFrame header whose
  // KID belongs to an epoch we know (RFC 9605 §4.3). Plaintext media would fail here.
  let waitsForKey = false;
  try {
    const header = decodeHeader(body);
    if (body.length < header.length + SFRAME_MIN_TAG) st.stats.sframeHeadersBad++;
    else if (cipher.isLiveKid(header.kid)) st.stats.sframeHeadersOk++;
    else {
      st.stats.sframeUnknownKid++;
      waitsForKey = true;
    }
  } catch {
    st.stats.sframeHeadersBad++;
  }
  const done = finishRecv(st, frame, out, family, n, metadata, body);
  // A frame whose epoch key is not here yet may be held by the bridge for up to HOLD_MS. The stream must
  // not wait for it: the frames behind it (other epochs, or the same one once its key arrives) go on,
  // and the held frame is passed on whenever it resolves. Awaiting it here stalled a whole stream for
  // HOLD_MS per frame, so a newcomer's audio never caught up.
  if (waitsForKey) {
    done.catch(() => undefined);
    return undefined;
  }
  return done;
}

async function finishRecv(
  st: StreamState,
  frame: EncodedFrame,
  out: TransformStreamDefaultController<EncodedFrame>,
  family: CodecFamily,
  n: number,
  metadata: Uint8Array,
  body: Uint8Array,
): Promise<void> {
  let result;
  try {
    result = await cipher.unprotect(body, metadata);
  } catch (e) {
    st.stats.dropped++;
    st.stats.decryptFailures++;
    st.lastFailAt = Date.now();
    reportError(st, e);
    return;
  }
  if (result.held) st.stats.held++;
  if (!result.ok) {
    st.stats.dropped++;
    st.stats.dropReasons[result.detail] = (st.stats.dropReasons[result.detail] ?? 0) + 1;
    if (result.reason === 'auth') {
      st.stats.decryptFailures++;
      st.lastFailAt = Date.now();
    } else if (result.reason === 'replay') {
      st.stats.replayed++;
      st.lastFailAt = Date.now();
    } else {
      st.stats.noKey++;
      st.lastWaitAt = Date.now();
    }
    if (result.kid !== null) st.stats.lastKid = result.kid.toString();
    return;
  }
  if (st.closed) return;
  const plain = new Uint8Array(n + result.plaintext.length);
  plain.set(metadata, 0);
  plain.set(result.plaintext, n);
  frame.data = plain.buffer;
  try {
    out.enqueue(frame);
  } catch {
    return; // the stream closed while the frame was held
  }
  st.stats.framesDecrypted++;
  if (st.stats.kind === 'video' && isKeyframe(family, plain)) st.stats.keyframes++;
  st.stats.lastKid = result.kid.toString();
  st.stats.lastEpoch = result.epoch.toString();
  st.stats.lastClearBytes = n;
  st.lastOkAt = Date.now();
}

let lastErrorAt = 0;
function reportError(st: StreamState, e: unknown): void {
  const now = Date.now();
  if (now - lastErrorAt < 1000) return; // at most one report a second; never the payload
  lastErrorAt = now;
  post({ type: 'error', id: st.stats.id, message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
}

function attach(
  options: TransformOptions,
  readable: ReadableStream<EncodedFrame>,
  writable: WritableStream<EncodedFrame>,
  api: StreamStats['api'],
  transformer: ScriptTransformer | null,
): void {
  const st = newStream(options, api, transformer);
  const handle = options.direction === 'send' ? sendFrame : recvFrame;
  const transform = new TransformStream<EncodedFrame, EncodedFrame>({
    transform: (frame, controller) => (st.closed ? undefined : handle(st, frame, controller)),
  });
  readable
    .pipeThrough(transform)
    .pipeTo(writable)
    .catch((e: unknown) => {
      if (!st.closed) post({ type: 'error', id: options.id, message: `stream ended: ${String(e)}` });
    })
    .finally(() => {
      st.closed = true;
    });
  ensureStatsTimer();
}

function isTransformOptions(v: unknown): v is TransformOptions {
  const o = v as Partial<TransformOptions> | null;
  return (
    typeof o === 'object' && o !== null && typeof o.id === 'string' &&
    (o.direction === 'send' || o.direction === 'recv') && (o.kind === 'audio' || o.kind === 'video')
  );
}

function onTransform(event: TransformEvent): void {
  const t = event.transformer;
  if (!isTransformOptions(t.options)) {
    post({ type: 'error', message: 'rtctransform without valid options: stream not attached' });
    return; // never piped: the browser sends nothing through this transform
  }
  const options: TransformOptions = { ...t.options, codec: t.options.codec ?? '', peer: t.options.peer ?? '' };
  attach(options, t.readable, t.writable, 'script-transform', t);
}

async function requestKeyframes(): Promise<number> {
  let count = 0;
  for (const st of streams.values()) {
    if (st.closed || st.stats.direction !== 'send' || st.stats.kind !== 'video') continue;
    const gen = st.transformer?.generateKeyFrame;
    if (!gen) continue;
    try {
      await gen.call(st.transformer);
      count++;
    } catch {
      // Not every encoder state accepts the request (e.g. no frame encoded yet); the next one will.
    }
  }
  return count;
}

function statusOf(st: StreamState, now: number): StreamStatus {
  if (st.stats.direction === 'send') {
    if (now - st.lastOkAt < ACTIVE_WINDOW_MS) return 'encrypting';
    if (now - st.lastWaitAt < ACTIVE_WINDOW_MS) return 'no-key';
    return 'idle';
  }
  if (now - st.lastFailAt < ACTIVE_WINDOW_MS && st.lastFailAt >= st.lastOkAt) return 'failing';
  if (now - st.lastOkAt < ACTIVE_WINDOW_MS) return 'decrypting';
  if (now - st.lastWaitAt < ACTIVE_WINDOW_MS) return 'waiting-for-key';
  return 'idle';
}

function postStats(): void {
  const now = Date.now();
  const list: StreamStats[] = [];
  for (const st of streams.values()) {
    st.stats.status = statusOf(st, now);
    list.push({ ...st.stats, dropReasons: { ...st.stats.dropReasons } });
  }
  const epoch = cipher.currentEpoch();
  post({ type: 'stats', epoch: epoch === null ? '' : epoch.toString(), streams: list });
}

function ensureStatsTimer(): void {
  if (statsTimer === null) statsTimer = setInterval(postStats, STATS_INTERVAL_MS);
}

// One queue for page messages, handled in order (an epoch install finishes before the next message).
let queue: Promise<void> = Promise.resolve();
function onMessage(ev: MessageEvent): void {
  const msg = ev.data as ToWorker;
  queue = queue.then(() => handle(msg)).catch((e: unknown) => {
    post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  });
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'epoch': {
      try {
        await cipher.installEpoch(msg.epoch, msg.baseKey, msg.treeSize, msg.ownLeafIndex);
      } finally {
        msg.baseKey.fill(0);
      }
      ensureStatsTimer();
      postStats();
      return;
    }
    case 'request-keyframes': {
      const count = await requestKeyframes();
      post({ type: 'keyframes-requested', count });
      return;
    }
    case 'encoded-streams': {
      if (!isTransformOptions(msg.options)) throw new TypeError('encoded-streams: invalid options');
      attach(msg.options, msg.readable as ReadableStream<EncodedFrame>, msg.writable as WritableStream<EncodedFrame>,
        'encoded-streams', null);
      return;
    }
    case 'stream-info': {
      const st = streams.get(msg.id);
      if (st) {
        if (msg.codec) st.stats.codec = msg.codec;
        if (msg.peer !== undefined) st.stats.peer = msg.peer;
      }
      return;
    }
    case 'stream-closed': {
      const st = streams.get(msg.id);
      if (st) st.closed = true;
      streams.delete(msg.id);
      return;
    }
    case 'get-stats':
      postStats();
      return;
    case 'close': {
      cipher.close();
      cipher = createFrameCipher();
      for (const st of streams.values()) st.closed = true;
      streams.clear();
      postStats();
      return;
    }
  }
}

scope.addEventListener('message', onMessage);
scope.addEventListener('rtctransform', onTransform);
post({ type: 'ready', scriptTransform: 'RTCTransformEvent' in scope || 'onrtctransform' in scope });
