// The slice of the worker-side WebRTC Encoded Transform API this worker uses
// (W3C webrtc-encoded-transform). tsconfig loads the DOM lib, not WebWorker, so these are declared here.

import type { TransformOptions } from '../e2ee/messages.js';

export interface EncodedFrameMetadata {
  mimeType?: string;
  synchronizationSource?: number;
  rid?: string;
  width?: number;
  height?: number;
  spatialIndex?: number;
  temporalIndex?: number;
  frameId?: number;
}

/** RTCEncodedVideoFrame / RTCEncodedAudioFrame: `type` exists on video frames only. */
export interface EncodedFrame {
  data: ArrayBuffer;
  readonly type?: 'key' | 'delta' | 'empty';
  readonly timestamp?: number;
  getMetadata(): EncodedFrameMetadata;
}

export interface ScriptTransformer {
  readonly readable: ReadableStream<EncodedFrame>;
  readonly writable: WritableStream<EncodedFrame>;
  readonly options: TransformOptions;
  generateKeyFrame?(rid?: string): Promise<number | void>;
  sendKeyFrameRequest?(): Promise<void>;
}

export interface TransformEvent extends Event {
  readonly transformer: ScriptTransformer;
}

export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (ev: MessageEvent) => void): void;
  addEventListener(type: 'rtctransform', listener: (ev: TransformEvent) => void): void;
  onrtctransform?: ((ev: TransformEvent) => void) | null;
  RTCTransformEvent?: unknown;
}
