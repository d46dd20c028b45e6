// Messages between the page and the transform worker: one union type per direction
// (style.md habit 9). Everything here is structured-cloneable (bigint included).

export type MediaKind = 'audio' | 'video';
export type Direction = 'send' | 'recv';

/** Options given to RTCRtpScriptTransform (and echoed in the encoded-streams path). */
export interface TransformOptions {
  /** Page-chosen id of this stream: "send:<producer local id>" or "recv:<consumer id>". */
  id: string;
  direction: Direction;
  kind: MediaKind;
  /** Negotiated codec mime type when known ('video/VP8', 'audio/opus', ...), else ''. */
  codec: string;
  /** Display name / identity of the remote sender for receivers, '' for senders. */
  peer: string;
}

export type ToWorker =
  /** A new epoch's SFrame base key (RFC 9605 §5.2 with MLS: MLS-Exporter("SFrame 1.0 Base Key", "", Nk)). */
  | { type: 'epoch'; epoch: bigint; baseKey: Uint8Array; treeSize: number; ownLeafIndex: number }
  /** createEncodedStreams fallback: the streams are transferred here. */
  | { type: 'encoded-streams'; options: TransformOptions; readable: ReadableStream; writable: WritableStream }
  /** The page learned the codec / peer of a stream after negotiation. */
  | { type: 'stream-info'; id: string; codec?: string; peer?: string }
  /** A stream ended (producer/consumer closed): forget its counters. */
  | { type: 'stream-closed'; id: string }
  /** Ask every video sender for a keyframe (after an epoch change). */
  | { type: 'request-keyframes' }
  /** Ask for a stats snapshot now. */
  | { type: 'get-stats' }
  /** Leave: wipe keys and stop. */
  | { type: 'close' };

export type StreamStatus = 'idle' | 'encrypting' | 'decrypting' | 'waiting-for-key' | 'failing' | 'no-key';

export interface StreamStats {
  id: string;
  direction: Direction;
  kind: MediaKind;
  codec: string;
  peer: string;
  api: 'script-transform' | 'encoded-streams';
  status: StreamStatus;
  framesEncrypted: number;
  framesDecrypted: number;
  decryptFailures: number;
  /** Frames that waited for a key they did not have yet (key bridge hold). */
  held: number;
  /** Frames dropped: no key to send with, replayed, tampered, unknown key after the hold. */
  dropped: number;
  /** Of the dropped: frames with no key (send: before the first epoch; receive: unknown KID after the hold). */
  noKey: number;
  /** Of the dropped: replayed frames (RFC 9605 §9.3). */
  replayed: number;
  /** Received frames whose clear prefix was followed by a parseable SFrame header with a live KID. */
  sframeHeadersOk: number;
  /** Received frames that did not parse as SFrame at all (clear prefix + header + at least a tag). */
  sframeHeadersBad: number;
  /** Received frames that parsed as SFrame but whose KID names no epoch held here (e.g. sent just before we joined). */
  sframeUnknownKid: number;
  /** Video keyframes seen (sent or received). */
  keyframes: number;
  /** KID of the last frame (decimal string, bigint on the wire would not JSON-serialise for tests). */
  lastKid: string;
  /** Epoch of the key that handled the last frame ('' when none). */
  lastEpoch: string;
  /** Bytes of clear prefix on the last frame (codec header the SFU may read). */
  lastClearBytes: number;
  /** Dropped received frames by key-bridge reason (expired-epoch, unknown-epoch-timeout, auth-failed, ...). */
  dropReasons: Record<string, number>;
}

export type FromWorker =
  | { type: 'ready'; scriptTransform: boolean }
  | { type: 'stats'; epoch: string; streams: StreamStats[] }
  | { type: 'keyframes-requested'; count: number }
  | { type: 'error'; id?: string; message: string };
