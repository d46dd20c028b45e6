// One room's media: a mediasoup Router with its peers' transports, producers and consumers.
// Media is opaque here: the SFU forwards SFrame-protected frames it cannot read.
// Rules (as mediasoup-demo): consumers start paused and resume when the client says it is
// ready; keyframe requests (PLI/FIR) flow from consumers to producers inside mediasoup.
import type { types } from 'mediasoup';
import { ErrorCode } from '../../shared/protocol/index.js';
import type { JsonObject, Notifications, ProducerInfo } from '../../shared/protocol/index.js';
import { RequestError } from '../errors.js';
import { MEDIA_CODECS } from './codecs.js';

/** Per-peer resource limits, so one connection cannot exhaust the worker. */
export const MEDIA_LIMITS = {
  transportsPerPeer: 8,
  producersPerPeer: 8,
  consumersPerPeer: 256,
} as const;

export interface MediaOptions {
  listenIp: string;
  announcedIp: string | undefined;
  initialOutgoingBitrate: number;
}

type Notify = <K extends keyof Notifications>(peerId: string, type: K, body: Notifications[K]) => void;

export interface SimulcastState {
  /** One entry per RTP stream the SFU receives for the producer (per simulcast layer), sorted by rid. */
  streams: { rid: string | null; bitrate: number; score: number }[];
  currentLayers: { spatialLayer: number; temporalLayer?: number } | null;
  preferredLayers: { spatialLayer: number; temporalLayer?: number } | null;
}

interface MediaPeer {
  transports: Map<string, types.WebRtcTransport | types.PlainTransport>;
  producers: Map<string, types.Producer>;
  consumers: Map<string, types.Consumer>;
}

export class MediaRoom {
  readonly #router: types.Router;
  readonly #peers = new Map<string, MediaPeer>();
  readonly #options: MediaOptions;
  readonly #notify: Notify;
  readonly #allPeers: () => Iterable<string>;
  #closed = false;

  private constructor(router: types.Router, options: MediaOptions, notify: Notify, allPeers: () => Iterable<string>) {
    this.#router = router;
    this.#options = options;
    this.#notify = notify;
    this.#allPeers = allPeers;
  }

  /** notify sends a notification to one peer; allPeers lists every peer of the room (media or not). */
  static async create(worker: types.Worker, options: MediaOptions, notify: Notify, allPeers: () => Iterable<string>): Promise<MediaRoom> {
    const router = await worker.createRouter({ mediaCodecs: MEDIA_CODECS });
    return new MediaRoom(router, options, notify, allPeers);
  }

  get router(): types.Router {
    return this.#router;
  }
  get closed(): boolean {
    return this.#closed || this.#router.closed;
  }

  get rtpCapabilities(): JsonObject {
    return this.#router.rtpCapabilities as unknown as JsonObject;
  }

  #peer(peerId: string): MediaPeer {
    if (this.closed) throw new RequestError(ErrorCode.mediaError, 'the room media router is closed');
    let peer = this.#peers.get(peerId);
    if (!peer) {
      peer = { transports: new Map(), producers: new Map(), consumers: new Map() };
      this.#peers.set(peerId, peer);
    }
    return peer;
  }

  #transport(peerId: string, transportId: string) {
    const t = this.#peer(peerId).transports.get(transportId);
    if (!t) throw new RequestError(ErrorCode.notFound, `transportId ${transportId} is not one of your transports`);
    return t;
  }

  #consumer(peerId: string, consumerId: string): types.Consumer {
    const c = this.#peer(peerId).consumers.get(consumerId);
    if (!c) throw new RequestError(ErrorCode.notFound, `consumerId ${consumerId} is not one of your consumers`);
    return c;
  }

  /** Every producer in the room except the peer's own. */
  producers(exceptPeerId?: string): ProducerInfo[] {
    const out: ProducerInfo[] = [];
    for (const [peerId, peer] of this.#peers) {
      if (peerId === exceptPeerId) continue;
      for (const p of peer.producers.values()) out.push(producerInfo(peerId, p));
    }
    return out;
  }

  #checkTransportLimit(peer: MediaPeer): void {
    if (peer.transports.size >= MEDIA_LIMITS.transportsPerPeer) {
      throw new RequestError(ErrorCode.mediaError, `at most ${MEDIA_LIMITS.transportsPerPeer} transports per connection`);
    }
  }

  async createWebRtcTransport(peerId: string, direction: 'send' | 'recv') {
    const peer = this.#peer(peerId);
    this.#checkTransportLimit(peer);
    const { listenIp, announcedIp } = this.#options;
    const info = (protocol: 'udp' | 'tcp') => ({ protocol, ip: listenIp, ...(announcedIp ? { announcedAddress: announcedIp } : {}) });
    const transport = await this.#router.createWebRtcTransport({
      listenInfos: [info('udp'), info('tcp')],
      enableUdp: true,
      enableTcp: true,
      preferUdp: true,
      initialAvailableOutgoingBitrate: this.#options.initialOutgoingBitrate,
      appData: { peerId, direction },
    });
    peer.transports.set(transport.id, transport);
    transport.observer.once('close', () => peer.transports.delete(transport.id));
    return {
      transportId: transport.id,
      iceParameters: transport.iceParameters as unknown as JsonObject,
      iceCandidates: transport.iceCandidates as unknown as JsonObject[],
      dtlsParameters: transport.dtlsParameters as unknown as JsonObject,
    };
  }

  async connectTransport(peerId: string, transportId: string, dtlsParameters: JsonObject): Promise<void> {
    const t = this.#transport(peerId, transportId);
    if (t.type !== 'webrtc') throw new RequestError(ErrorCode.badRequest, 'transportId is a plain transport: use connectPlainTransport');
    await mediaCall(() => (t as types.WebRtcTransport).connect({ dtlsParameters: dtlsParameters as unknown as types.DtlsParameters }));
  }

  /** A transport without ICE/DTLS for Node participants (RTP in the clear at the transport: SFrame still protects the payload). */
  async createPlainTransport(peerId: string, o: { comedia?: boolean; rtcpMux?: boolean }) {
    const peer = this.#peer(peerId);
    this.#checkTransportLimit(peer);
    const { listenIp, announcedIp } = this.#options;
    const transport = await this.#router.createPlainTransport({
      listenInfo: { protocol: 'udp', ip: listenIp, ...(announcedIp ? { announcedAddress: announcedIp } : {}) },
      rtcpMux: o.rtcpMux ?? true,
      comedia: o.comedia ?? false,
      appData: { peerId },
    });
    peer.transports.set(transport.id, transport);
    transport.observer.once('close', () => peer.transports.delete(transport.id));
    return {
      transportId: transport.id,
      ip: transport.tuple.localAddress ?? transport.tuple.localIp,
      port: transport.tuple.localPort,
      ...(transport.rtcpTuple ? { rtcpPort: transport.rtcpTuple.localPort } : {}),
    };
  }

  async connectPlainTransport(peerId: string, transportId: string, ip: string, port: number, rtcpPort?: number): Promise<void> {
    const t = this.#transport(peerId, transportId);
    if (t.type !== 'plain') throw new RequestError(ErrorCode.badRequest, 'transportId is a WebRTC transport: use connectTransport');
    await mediaCall(() => (t as types.PlainTransport).connect({ ip, port, ...(rtcpPort !== undefined ? { rtcpPort } : {}) }));
  }

  async produce(peerId: string, transportId: string, kind: 'audio' | 'video', rtpParameters: JsonObject, appData: JsonObject = {}) {
    const peer = this.#peer(peerId);
    const t = this.#transport(peerId, transportId);
    if (peer.producers.size >= MEDIA_LIMITS.producersPerPeer) {
      throw new RequestError(ErrorCode.mediaError, `at most ${MEDIA_LIMITS.producersPerPeer} producers per connection`);
    }
    const producer = await mediaCall(() =>
      t.produce({ kind, rtpParameters: rtpParameters as unknown as types.RtpParameters, appData: { ...appData } }),
    );
    peer.producers.set(producer.id, producer);
    producer.observer.once('close', () => {
      peer.producers.delete(producer.id);
      if (!this.#closed) this.#broadcast(peerId, 'producerClosed', { producerId: producer.id });
    });
    this.#broadcast(peerId, 'newProducer', producerInfo(peerId, producer));
    return producer;
  }

  async consume(peerId: string, transportId: string, producerId: string, rtpCapabilities: JsonObject) {
    const peer = this.#peer(peerId);
    const t = this.#transport(peerId, transportId);
    if (peer.consumers.size >= MEDIA_LIMITS.consumersPerPeer) {
      throw new RequestError(ErrorCode.mediaError, `at most ${MEDIA_LIMITS.consumersPerPeer} consumers per connection`);
    }
    const caps = rtpCapabilities as unknown as types.RtpCapabilities;
    let ok: boolean;
    try {
      ok = this.#router.canConsume({ producerId, rtpCapabilities: caps });
    } catch (e) {
      throw new RequestError(ErrorCode.badRequest, `rtpCapabilities: ${(e as Error).message}`);
    }
    if (!ok) throw new RequestError(ErrorCode.notFound, 'producerId does not exist or cannot be consumed with these rtpCapabilities');
    // Start paused: the client resumes once its consumer is set up (mediasoup's recommendation).
    const consumer = await mediaCall(() => t.consume({ producerId, rtpCapabilities: caps, paused: true }));
    peer.consumers.set(consumer.id, consumer);
    const gone = () => {
      if (!peer.consumers.delete(consumer.id)) return;
      if (!this.#closed) this.#notify(peerId, 'consumerClosed', { consumerId: consumer.id });
    };
    consumer.on('producerclose', gone);
    consumer.on('producerpause', () => {
      if (!this.#closed) this.#notify(peerId, 'consumerPaused', { consumerId: consumer.id });
    });
    consumer.on('producerresume', () => {
      if (!this.#closed) this.#notify(peerId, 'consumerResumed', { consumerId: consumer.id });
    });
    consumer.on('transportclose', () => peer.consumers.delete(consumer.id));
    consumer.observer.once('close', () => peer.consumers.delete(consumer.id));
    return {
      consumerId: consumer.id,
      producerId,
      kind: consumer.kind,
      rtpParameters: consumer.rtpParameters as unknown as JsonObject,
      type: consumer.type,
      producerPaused: consumer.producerPaused,
    };
  }

  async resumeConsumer(peerId: string, consumerId: string): Promise<void> {
    const c = this.#consumer(peerId, consumerId);
    await mediaCall(() => c.resume());
  }
  async pauseConsumer(peerId: string, consumerId: string): Promise<void> {
    const c = this.#consumer(peerId, consumerId);
    await mediaCall(() => c.pause());
  }
  async setPreferredLayers(peerId: string, consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    const c = this.#consumer(peerId, consumerId);
    await mediaCall(() => c.setPreferredLayers({ spatialLayer, ...(temporalLayer !== undefined ? { temporalLayer } : {}) }));
  }
  async requestKeyFrame(peerId: string, consumerId: string): Promise<void> {
    const c = this.#consumer(peerId, consumerId);
    await mediaCall(() => c.requestKeyFrame());
  }

  /**
   * Simulcast as the SFU sees it, for tests and diagnostics: the producer's incoming RTP streams (one per
   * layer the sender is actually sending, with its bitrate) and, for `consumerPeerId`'s consumer of it, the
   * layers mediasoup forwards now and the preferred ones. Null when the producer or consumer is gone.
   */
  async simulcastState(consumerPeerId: string, producerId: string): Promise<SimulcastState | null> {
    let producer: types.Producer | undefined;
    for (const peer of this.#peers.values()) producer ??= peer.producers.get(producerId);
    const consumer = [...(this.#peers.get(consumerPeerId)?.consumers.values() ?? [])].find((c) => c.producerId === producerId);
    if (!producer || producer.closed || !consumer || consumer.closed) return null;
    const stats = await mediaCall(() => producer.getStats());
    const streams = stats
      .filter((s) => s.type === 'inbound-rtp')
      .map((s) => ({ rid: s.rid ?? null, bitrate: s.bitrate, score: s.score }))
      .sort((a, b) => String(a.rid).localeCompare(String(b.rid)));
    return { streams, currentLayers: consumer.currentLayers ?? null, preferredLayers: consumer.preferredLayers ?? null };
  }

  closeProducer(peerId: string, producerId: string): void {
    const p = this.#peer(peerId).producers.get(producerId);
    if (!p) throw new RequestError(ErrorCode.notFound, `producerId ${producerId} is not one of your producers`);
    p.close();
  }

  async setProducerPaused(peerId: string, producerId: string, paused: boolean): Promise<void> {
    const p = this.#peer(peerId).producers.get(producerId);
    if (!p) throw new RequestError(ErrorCode.notFound, `producerId ${producerId} is not one of your producers`);
    await mediaCall(() => (paused ? p.pause() : p.resume()));
  }

  closeTransport(peerId: string, transportId: string): void {
    this.#transport(peerId, transportId).close();
  }

  /** Closes everything the peer owns (its producers' consumers close with them). */
  removePeer(peerId: string): void {
    const peer = this.#peers.get(peerId);
    if (!peer) return;
    this.#peers.delete(peerId);
    for (const t of peer.transports.values()) t.close();
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** Idempotent; closes the router and with it every transport. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#peers.clear();
    this.#router.close();
  }

  #broadcast<K extends keyof Notifications>(fromPeerId: string, type: K, body: Notifications[K]): void {
    for (const peerId of this.#allPeers()) if (peerId !== fromPeerId) this.#notify(peerId, type, body);
  }
}

function producerInfo(peerId: string, p: types.Producer): ProducerInfo {
  return { producerId: p.id, memberId: peerId, kind: p.kind, appData: { ...(p.appData as JsonObject) } };
}

/** mediasoup throws TypeError/UnsupportedError/InvalidStateError for bad client input: map to media-error. */
async function mediaCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof RequestError) throw e;
    throw new RequestError(ErrorCode.mediaError, (e as Error).message.slice(0, 200));
  }
}
