// mediasoup-client side of a call: Device, one send and one receive WebRtcTransport, producers for the local
// camera and microphone (VP8 simulcast, 3 layers), consumers for every remote producer. Every sender and
// receiver gets its encoded transform before negotiation (onRtpSender / onRtpReceiver), so no frame passes
// without SFrame.

import { Device } from 'mediasoup-client';
import type { Consumer, Producer, RtpCapabilities, RtpEncodingParameters, Transport } from 'mediasoup-client/types';
import type { JsonObject, ProducerInfo, Requests, RequestType, Results } from '../../shared/protocol/index.js';
import type { E2eeTransforms } from '../e2ee/transforms.js';

export interface MediaSignaling {
  request<K extends RequestType>(type: K, body: Requests[K]): Promise<Results[K]>;
}

/** Three VP8 simulcast layers (quarter, half, full resolution). */
export const SIMULCAST_ENCODINGS: RtpEncodingParameters[] = [
  { scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { scaleResolutionDownBy: 2, maxBitrate: 400_000 },
  { scaleResolutionDownBy: 1, maxBitrate: 1_200_000 },
];

export interface RemoteTrack {
  consumerId: string;
  producerId: string;
  memberId: string;
  kind: 'audio' | 'video';
  track: MediaStreamTrack;
  consumer: Consumer;
  /** The sender turned this camera or microphone off (the SFU paused its producer). */
  paused: boolean;
}

export interface MediaEvents {
  onTrack(t: RemoteTrack): void;
  onTrackEnded(consumerId: string, memberId: string, trackId: string): void;
  /** A remote camera or microphone went off or on. */
  onPaused(t: RemoteTrack): void;
  /** Name of a member for transform labels. */
  nameOf(memberId: string): string;
}

export class MediaSession {
  readonly device = new Device();
  #send: Transport | null = null;
  #recv: Transport | null = null;
  readonly producers = new Map<'audio' | 'video', Producer>();
  readonly consumers = new Map<string, RemoteTrack>();
  #sendCounter = 0;
  #closed = false;
  readonly #signal: MediaSignaling;
  readonly #e2ee: E2eeTransforms;
  readonly #events: MediaEvents;
  readonly #ownMemberId: string;
  /** Producers announced before the receive transport existed. */
  #pendingProducers: ProducerInfo[] = [];
  #consuming = new Set<string>();

  constructor(signal: MediaSignaling, e2ee: E2eeTransforms, events: MediaEvents, ownMemberId: string) {
    this.#signal = signal;
    this.#e2ee = e2ee;
    this.#events = events;
    this.#ownMemberId = ownMemberId;
  }

  async load(routerRtpCapabilities: JsonObject): Promise<void> {
    await this.device.load({ routerRtpCapabilities: routerRtpCapabilities as unknown as RtpCapabilities });
  }

  #additionalSettings(): Partial<RTCConfiguration> {
    // Chromium's createEncodedStreams path needs this flag on the peer connection.
    return this.#e2ee.api === 'encoded-streams'
      ? ({ encodedInsertableStreams: true } as Partial<RTCConfiguration>)
      : {};
  }

  async createTransports(): Promise<void> {
    const s = await this.#signal.request('createWebRtcTransport', { direction: 'send' });
    const send = this.device.createSendTransport({
      id: s.transportId,
      iceParameters: s.iceParameters as never,
      iceCandidates: s.iceCandidates as never,
      dtlsParameters: s.dtlsParameters as never,
      additionalSettings: this.#additionalSettings(),
    });
    send.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.#signal
        .request('connectTransport', { transportId: send.id, dtlsParameters: dtlsParameters as unknown as JsonObject })
        .then(() => ok(), fail);
    });
    send.on('produce', ({ kind, rtpParameters, appData }, ok, fail) => {
      this.#signal
        .request('produce', {
          transportId: send.id,
          kind,
          rtpParameters: rtpParameters as unknown as JsonObject,
          appData: appData as JsonObject,
        })
        .then((r) => ok({ id: r.producerId }), fail);
    });
    this.#send = send;

    const r = await this.#signal.request('createWebRtcTransport', { direction: 'recv' });
    const recv = this.device.createRecvTransport({
      id: r.transportId,
      iceParameters: r.iceParameters as never,
      iceCandidates: r.iceCandidates as never,
      dtlsParameters: r.dtlsParameters as never,
      additionalSettings: this.#additionalSettings(),
    });
    recv.on('connect', ({ dtlsParameters }, ok, fail) => {
      this.#signal
        .request('connectTransport', { transportId: recv.id, dtlsParameters: dtlsParameters as unknown as JsonObject })
        .then(() => ok(), fail);
    });
    this.#recv = recv;
    const pending = this.#pendingProducers;
    this.#pendingProducers = [];
    for (const p of pending) void this.consume(p);
  }

  async produce(track: MediaStreamTrack, simulcast = true): Promise<Producer> {
    if (!this.#send) throw new Error('send transport not created');
    const kind = track.kind as 'audio' | 'video';
    const id = `send-${kind}-${++this.#sendCounter}`;
    const videoCodec = this.device.rtpCapabilities.codecs?.find((c) => c.mimeType.toLowerCase() === 'video/vp8');
    const producer = await this.#send.produce({
      track,
      stopTracks: false,
      ...(kind === 'video' && simulcast ? { encodings: SIMULCAST_ENCODINGS.map((e) => ({ ...e })) } : {}),
      ...(kind === 'video' && videoCodec ? { codec: videoCodec } : {}),
      ...(kind === 'audio' ? { codecOptions: { opusStereo: false, opusDtx: false } } : {}),
      onRtpSender: (sender: RTCRtpSender) =>
        this.#e2ee.attachSender(sender, { id, direction: 'send', kind, codec: '', peer: '' }),
      appData: { transformId: id },
    });
    const codec = producer.rtpParameters.codecs[0]?.mimeType ?? '';
    this.#e2ee.streamInfo(id, { codec });
    this.producers.set(kind, producer);
    return producer;
  }

  async consume(p: ProducerInfo): Promise<void> {
    if (this.#closed || p.memberId === this.#ownMemberId) return;
    if (!this.#recv) {
      this.#pendingProducers.push(p);
      return;
    }
    if (this.#consuming.has(p.producerId)) return;
    this.#consuming.add(p.producerId);
    try {
      const res = await this.#signal.request('consume', {
        transportId: this.#recv.id,
        producerId: p.producerId,
        rtpCapabilities: this.device.rtpCapabilities as unknown as JsonObject,
      });
      const id = `recv-${res.consumerId}`;
      const peer = this.#events.nameOf(p.memberId);
      const codec = (res.rtpParameters as { codecs?: { mimeType?: string }[] }).codecs?.[0]?.mimeType ?? '';
      const consumer = await this.#recv.consume({
        id: res.consumerId,
        producerId: res.producerId,
        kind: res.kind,
        rtpParameters: res.rtpParameters as never,
        onRtpReceiver: (receiver: RTCRtpReceiver) =>
          this.#e2ee.attachReceiver(receiver, { id, direction: 'recv', kind: res.kind, codec, peer }),
        appData: { memberId: p.memberId, transformId: id },
      });
      const remote: RemoteTrack = {
        consumerId: consumer.id,
        producerId: p.producerId,
        memberId: p.memberId,
        kind: res.kind,
        track: consumer.track,
        consumer,
        paused: res.producerPaused === true,
      };
      this.consumers.set(consumer.id, remote);
      consumer.on('transportclose', () => this.#consumerGone(consumer.id));
      this.#events.onTrack(remote);
      if (remote.paused) this.#events.onPaused(remote);
      await this.#signal.request('resumeConsumer', { consumerId: consumer.id });
    } catch (e) {
      this.#consuming.delete(p.producerId);
      throw e;
    }
  }

  producerClosed(producerId: string): void {
    for (const [id, c] of this.consumers) if (c.producerId === producerId) this.#consumerGone(id);
    this.#consuming.delete(producerId);
  }

  consumerPaused(consumerId: string, paused: boolean): void {
    const c = this.consumers.get(consumerId);
    if (!c || c.paused === paused) return;
    c.paused = paused;
    this.#events.onPaused(c);
  }

  consumerClosed(consumerId: string): void {
    this.#consumerGone(consumerId);
  }

  #consumerGone(consumerId: string): void {
    const c = this.consumers.get(consumerId);
    if (!c) return;
    this.consumers.delete(consumerId);
    this.#consuming.delete(c.producerId);
    const trackId = c.track.id;
    c.consumer.close();
    this.#e2ee.streamClosed(`recv-${consumerId}`);
    this.#events.onTrackEnded(consumerId, c.memberId, trackId);
  }

  /** Ask the SFU for a keyframe on every video consumer (a newcomer's first picture). */
  async requestKeyFrames(): Promise<void> {
    const jobs: Promise<unknown>[] = [];
    for (const c of this.consumers.values()) {
      if (c.kind === 'video') jobs.push(this.#signal.request('requestKeyFrame', { consumerId: c.consumerId }).catch(() => undefined));
    }
    await Promise.all(jobs);
  }

  async setPreferredLayers(consumerId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    await this.#signal.request('setPreferredLayers', {
      consumerId,
      spatialLayer,
      ...(temporalLayer === undefined ? {} : { temporalLayer }),
    });
  }

  /** ICE candidate types/addresses of the send transport (diagnostics for the test hook). */
  async iceDiagnostics(): Promise<string[]> {
    const out: string[] = [];
    const stats = await this.#send?.getStats();
    stats?.forEach((r: { type: string; address?: string; port?: number; protocol?: string; candidateType?: string; state?: string }) => {
      if (r.type === 'local-candidate' || r.type === 'remote-candidate') out.push(`${r.type} ${r.protocol} ${r.address}:${r.port} ${r.candidateType}`);
      if (r.type === 'candidate-pair') out.push(`pair ${r.state}`);
    });
    return out;
  }

  /** ICE/DTLS state of the two transports (status only). */
  connectionStates(): { send: string; recv: string } {
    return { send: this.#send?.connectionState ?? 'none', recv: this.#recv?.connectionState ?? 'none' };
  }

  /** Camera / microphone off and on: stop sending locally and tell the SFU, which tells every consumer. */
  async setPaused(kind: 'audio' | 'video', paused: boolean): Promise<void> {
    const p = this.producers.get(kind);
    if (!p) return;
    if (paused) p.pause();
    else p.resume();
    await this.#signal.request(paused ? 'pauseProducer' : 'resumeProducer', { producerId: p.id });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.consumers.keys()]) this.#consumerGone(id); // tiles and worker streams too
    this.consumers.clear();
    for (const p of this.producers.values()) p.close();
    this.producers.clear();
    this.#send?.close();
    this.#recv?.close();
  }
}
