// Page side of the transform worker: attaches encoded transforms to RTCRtpSenders / RTCRtpReceivers,
// posts each epoch's base key (transferred, then wiped here), and collects the worker's counters.
//
// One worker per page. With RTCRtpScriptTransform every sender/receiver gets `new RTCRtpScriptTransform(worker,
// options)`; with createEncodedStreams (fallback, needs `encodedInsertableStreams: true` on the peer connection)
// the streams are transferred to the same worker.

import type { FromWorker, StreamStats, ToWorker, TransformOptions } from './messages.js';
import type { TransformApi } from './support.js';

export const WORKER_URL = '/transform-worker.js';

type EncodedStreamsSender = RTCRtpSender & { createEncodedStreams(): { readable: ReadableStream; writable: WritableStream } };
type EncodedStreamsReceiver = RTCRtpReceiver & { createEncodedStreams(): { readable: ReadableStream; writable: WritableStream } };

export interface WorkerSnapshot {
  epoch: string;
  streams: StreamStats[];
}

export class E2eeTransforms {
  readonly api: TransformApi;
  readonly #worker: Worker;
  #snapshot: WorkerSnapshot = { epoch: '', streams: [] };
  #errors: string[] = [];
  #listeners = new Set<(s: WorkerSnapshot) => void>();
  #closed = false;

  constructor(api: TransformApi, workerUrl = WORKER_URL) {
    this.api = api;
    this.#worker = new Worker(workerUrl, { name: 'sframe-transform' });
    this.#worker.addEventListener('message', (ev: MessageEvent) => this.#onMessage(ev.data as FromWorker));
    this.#worker.addEventListener('error', (ev) => this.#errors.push(`worker error: ${ev.message}`));
  }

  get snapshot(): WorkerSnapshot {
    return this.#snapshot;
  }

  /** The last few worker error messages (never payloads or keys). */
  get errors(): readonly string[] {
    return this.#errors;
  }

  onStats(listener: (s: WorkerSnapshot) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #post(msg: ToWorker, transfer: Transferable[] = []): void {
    if (this.#closed) return;
    this.#worker.postMessage(msg, transfer);
  }

  #onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'stats':
        this.#snapshot = { epoch: msg.epoch, streams: msg.streams };
        for (const l of this.#listeners) l(this.#snapshot);
        return;
      case 'error':
        this.#errors.push(msg.id ? `${msg.id}: ${msg.message}` : msg.message);
        if (this.#errors.length > 20) this.#errors.shift();
        return;
      default:
        return;
    }
  }

  /**
   * Must run synchronously before the sender's first frame (mediasoup-client's onRtpSender callback runs right
   * after addTransceiver, before negotiation), so no frame ever leaves unencrypted.
   */
  attachSender(sender: RTCRtpSender, options: TransformOptions): void {
    if (this.api === 'script-transform') {
      sender.transform = new RTCRtpScriptTransform(this.#worker, options);
    } else {
      const { readable, writable } = (sender as EncodedStreamsSender).createEncodedStreams();
      this.#post({ type: 'encoded-streams', options, readable, writable }, [readable, writable]);
    }
  }

  attachReceiver(receiver: RTCRtpReceiver, options: TransformOptions): void {
    if (this.api === 'script-transform') {
      receiver.transform = new RTCRtpScriptTransform(this.#worker, options);
    } else {
      const { readable, writable } = (receiver as EncodedStreamsReceiver).createEncodedStreams();
      this.#post({ type: 'encoded-streams', options, readable, writable }, [readable, writable]);
    }
  }

  /** Hands the epoch's base key to the worker (the buffer is transferred: this page keeps no copy). */
  installEpoch(epoch: bigint, baseKey: Uint8Array, treeSize: number, ownLeafIndex: number): void {
    const copy = baseKey.slice();
    baseKey.fill(0);
    this.#post({ type: 'epoch', epoch, baseKey: copy, treeSize, ownLeafIndex }, [copy.buffer]);
  }

  requestKeyframes(): void {
    this.#post({ type: 'request-keyframes' });
  }

  streamInfo(id: string, info: { codec?: string; peer?: string }): void {
    this.#post({ type: 'stream-info', id, ...info });
  }

  streamClosed(id: string): void {
    this.#post({ type: 'stream-closed', id });
  }

  close(): void {
    if (this.#closed) return;
    this.#post({ type: 'close' });
    this.#closed = true;
    // Give the worker a moment to wipe its keys, then stop it.
    setTimeout(() => this.#worker.terminate(), 200);
  }
}
