// One call: camera + microphone, the participant engine (MLS group via shared/member), mediasoup transports,
// the transform worker, and the page's E2EE panel. Epoch flow (architecture.md "Data flow, one join" step 4):
//   engine epoch event -> base key to the worker (worker derives per-sender SFrame keys, senders switch)
//   -> senders generate a keyframe -> security code + roster on screen.

import type { MemberInfo, ProducerInfo } from '../../shared/protocol/index.js';
import { createGroupEngine } from '../e2ee/engine.js';
import type { EpochInfo, GroupEngine, JoinInfo } from '../e2ee/group.js';
import type { StreamStats } from '../e2ee/messages.js';
import type { TransformApi } from '../e2ee/support.js';
import { E2eeTransforms, type WorkerSnapshot } from '../e2ee/transforms.js';
import { MediaSession, type RemoteTrack } from '../session/media.js';
import { securityCode } from './securityCode.js';
import {
  addTrackToTile,
  allTiles,
  removeTrackFromTile,
  renderRoster,
  renderStreams,
  setE2eeFacts,
  setTileBadge,
  tileFor,
} from './view.js';

export interface CallOptions {
  room: string;
  name: string;
  token?: string | undefined;
  api: TransformApi;
  /** 'low': 320x240 at 15 frames/s, for slow machines and links (and many participants on one machine). */
  quality?: 'normal' | 'low';
}

/** Camera constraints per quality setting. */
export const CAMERA_CONSTRAINTS = {
  normal: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
  low: { width: { ideal: 320 }, height: { ideal: 240 }, frameRate: { ideal: 15 } },
} as const satisfies Record<string, MediaTrackConstraints>;

export type CallStatus = { state: 'joining' | 'joined' } | { state: 'ended'; error: Error | null };

const decoder = new TextDecoder();

/** The E2EE panel and tile badges are redrawn at most this often. */
const RENDER_INTERVAL_MS = 200;

export class Call {
  readonly options: CallOptions;
  #engine: GroupEngine | null = null;
  #media: MediaSession | null = null;
  #e2ee: E2eeTransforms | null = null;
  #local: MediaStream | null = null;
  #memberId = '';
  #members = new Map<string, MemberInfo>();
  #listeners = new Set<(s: CallStatus) => void>();
  #ended = false;
  #epoch: bigint | null = null;
  #epochCount = 0;
  #securityCode = '';
  #roster: { leafIndex: number; name: string; me: boolean }[] = [];
  #paused = { audio: false, video: false };
  #epochChain: Promise<void> = Promise.resolve();
  #mediaChain: Promise<void> = Promise.resolve();
  #renderedAt = -Infinity;
  #connection: 'connected' | 'reconnecting' = 'connected';
  #reconnects = 0;
  #epochHistory: EpochRecord[] = [];

  constructor(options: CallOptions) {
    this.options = options;
  }

  onStatus(l: (s: CallStatus) => void): void {
    this.#listeners.add(l);
  }

  #emit(s: CallStatus): void {
    for (const l of this.#listeners) l(s);
  }

  async start(): Promise<void> {
    this.#emit({ state: 'joining' });
    // 1. Camera and microphone first: a denied permission is the most common actionable error.
    this.#local = await navigator.mediaDevices.getUserMedia({
      audio: true,
      video: { ...CAMERA_CONSTRAINTS[this.options.quality ?? 'normal'] },
    });
    const localTile = tileFor('local', this.options.name, true);
    for (const t of this.#local.getTracks()) if (t.kind === 'video') addTrackToTile(localTile, t);

    // 2. Transform worker before anything can be sent.
    const e2ee = new E2eeTransforms(this.options.api);
    this.#e2ee = e2ee;
    e2ee.onStats((s) => this.#onWorkerStats(s));

    // 3. Signaling + MLS group.
    const engine = await createGroupEngine({
      room: this.options.room,
      name: this.options.name,
      ...(this.options.token ? { token: this.options.token } : {}),
    });
    this.#engine = engine;
    engine.onEpoch((e) => {
      // The engine wipes e.baseKey as soon as the handlers return, so take a copy now; the
      // transform bridge wipes this copy once it has handed it to the worker.
      const owned: EpochInfo = { ...e, baseKey: e.baseKey.slice() };
      this.#epochChain = this.#epochChain.then(() => this.#onEpoch(owned)).catch(() => undefined);
    });
    engine.onEnded((error) => this.#end(error));
    engine.onConnection((c) => {
      if (c.state === 'reconnecting') {
        this.#connection = 'reconnecting';
        this.#reconnects++;
        setE2eeFacts({ state: 'reconnecting: media paused until the session resumes' });
        return;
      }
      this.#connection = 'connected';
      this.#media?.close(); // the server closed our transports when the socket dropped
      this.#media = null;
      this.#setMembers(c.info.members);
      this.#mediaChain = this.#mediaChain
        .then(() => this.#startMedia(engine, e2ee, c.info, [], new Set()))
        .then(() => {
          if (this.#epoch !== null) setE2eeFacts({ state: 'encrypted', epoch: this.#epoch.toString(), code: this.#securityCode });
        })
        .catch((e: unknown) => this.#noteError('media after reconnect', e));
    });
    engine.onMembers((members) => this.#setMembers(members));
    // Producers announced before the media session exists are kept and consumed once it does.
    const early: ProducerInfo[] = [];
    const closedEarly = new Set<string>();
    engine.onNotification('newProducer', (p) => {
      if (this.#media) void this.#media.consume(p).catch((e: unknown) => this.#noteError('consume', e));
      else early.push(p);
    });
    engine.onNotification('producerClosed', (n) => {
      if (this.#media) this.#media.producerClosed(n.producerId);
      else closedEarly.add(n.producerId);
    });
    engine.onNotification('consumerClosed', (n) => this.#media?.consumerClosed(n.consumerId));
    engine.onNotification('consumerPaused', (n) => this.#media?.consumerPaused(n.consumerId, true));
    engine.onNotification('consumerResumed', (n) => this.#media?.consumerPaused(n.consumerId, false));
    const info = await engine.join();
    this.#memberId = info.memberId;
    this.#setMembers(info.members);

    // 4. Media: producers get their transform before negotiation; nothing leaves without a key.
    this.#mediaChain = this.#startMedia(engine, e2ee, info, early, closedEarly);
    await this.#mediaChain;
    this.#emit({ state: 'joined' });
  }

  /** Transports, consumers for the producers already there, and our own producers (first join or resume). */
  async #startMedia(engine: GroupEngine, e2ee: E2eeTransforms, info: JoinInfo, early: ProducerInfo[], closedEarly: Set<string>): Promise<void> {
    if (this.#ended || !this.#local) return;
    const media = new MediaSession(engine, e2ee, {
      onTrack: (t) => this.#onRemoteTrack(t),
      onTrackEnded: (_consumerId, memberId, trackId) => removeTrackFromTile(memberId, trackId),
      onPaused: (t) => tileFor(t.memberId, this.#members.get(t.memberId)?.name ?? 'participant').root.classList.toggle(
        t.kind === 'video' ? 'cam-off' : 'mic-off',
        t.paused,
      ),
      nameOf: (memberId) => this.#members.get(memberId)?.name ?? memberId,
    }, info.memberId);
    this.#media = media;
    await media.load(info.routerRtpCapabilities);
    await media.createTransports();
    // Remote pictures first (a newcomer sees everyone at once), our own producers in parallel.
    const known = new Map([...info.producers, ...early].map((p) => [p.producerId, p]));
    for (const id of closedEarly) known.delete(id);
    const consuming = [...known.values()].map((p) => media.consume(p).catch((e: unknown) => this.#noteError('consume', e)));
    for (const track of this.#local.getTracks()) {
      await media.produce(track);
      const kind = track.kind as 'audio' | 'video';
      if (this.#paused[kind]) await media.setPaused(kind, true);
    }
    await Promise.all(consuming);
  }

  async #onEpoch(e: EpochInfo): Promise<void> {
    if (this.#ended || !this.#e2ee) return;
    this.#e2ee.installEpoch(e.epoch, e.baseKey, e.treeSize, e.ownLeafIndex);
    this.#e2ee.requestKeyframes();
    this.#epoch = e.epoch;
    this.#epochCount++;
    this.#roster = e.roster.map((r) => ({
      leafIndex: r.leafIndex,
      name: decoder.decode(r.identity),
      me: r.leafIndex === e.ownLeafIndex,
    }));
    const code = await securityCode(e.epochAuthenticator);
    if (this.#epoch !== e.epoch) return; // a newer epoch arrived meanwhile
    this.#securityCode = code;
    this.#epochHistory.push({ epoch: e.epoch.toString(), at: Date.now(), securityCode: code, roster: this.#roster.map((r) => r.name) });
    if (this.#epochHistory.length > 50) this.#epochHistory.shift();
    setE2eeFacts({ state: 'encrypted', epoch: e.epoch.toString(), code });
    renderRoster(this.#roster);
    // A newcomer also asks the SFU for keyframes, for senders whose transform cannot generate one.
    void this.#media?.requestKeyFrames();
  }

  #setMembers(members: MemberInfo[]): void {
    this.#members = new Map(members.map((m) => [m.memberId, m]));
    for (const [key, tile] of allTiles()) {
      const m = this.#members.get(key);
      if (m) tile.label.textContent = m.name;
    }
  }

  #onRemoteTrack(t: RemoteTrack): void {
    const name = this.#members.get(t.memberId)?.name ?? 'participant';
    const tile = tileFor(t.memberId, name);
    tile.root.dataset['consumer' + t.kind] = t.consumerId;
    addTrackToTile(tile, t.track);
  }

  #onWorkerStats(s: WorkerSnapshot): void {
    // Counters may arrive far more often than a person can read them (anyone may ask the worker for them):
    // the panel is redrawn at most RENDER_INTERVAL_MS apart.
    const now = performance.now();
    if (now - this.#renderedAt < RENDER_INTERVAL_MS) return;
    this.#renderedAt = now;
    renderStreams(s.streams);
    for (const st of s.streams) {
      if (st.direction !== 'recv' || st.kind !== 'video') continue;
      const consumerId = st.id.slice('recv-'.length);
      const c = this.#media?.consumers.get(consumerId);
      if (c) setTileBadge(c.memberId, st.status);
    }
    const send = s.streams.find((x) => x.direction === 'send' && x.kind === 'video');
    if (send) setTileBadge('local', send.status);
  }

  #errors: string[] = [];
  #noteError(what: string, e: unknown): void {
    this.#errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    if (this.#errors.length > 20) this.#errors.shift();
  }

  toggle(kind: 'audio' | 'video'): boolean {
    this.#paused[kind] = !this.#paused[kind];
    this.#media?.setPaused(kind, this.#paused[kind]).catch((e: unknown) => this.#noteError(`${kind} ${this.#paused[kind] ? 'off' : 'on'}`, e));
    const tile = allTiles().get('local');
    if (tile) tile.root.classList.toggle(kind === 'video' ? 'cam-off' : 'mic-off', this.#paused[kind]);
    return this.#paused[kind];
  }

  async iceDiagnostics(): Promise<string[]> {
    return (await this.#media?.iceDiagnostics()) ?? [];
  }

  async setPreferredLayers(memberId: string, spatialLayer: number, temporalLayer?: number): Promise<void> {
    if (!this.#media) throw new Error('not in a call');
    for (const c of this.#media.consumers.values()) {
      if (c.memberId === memberId && c.kind === 'video') await this.#media.setPreferredLayers(c.consumerId, spatialLayer, temporalLayer);
    }
  }

  /** Read-only status for the page's test hook. */
  status(): CallTestStatus {
    const snap = this.#e2ee?.snapshot ?? { epoch: '', streams: [] };
    const videos: VideoStatus[] = [];
    for (const [key, tile] of allTiles()) {
      const q = tile.video.getVideoPlaybackQuality?.();
      videos.push({
        memberId: key,
        name: key === 'local' ? this.options.name : (this.#members.get(key)?.name ?? ''),
        local: key === 'local',
        width: tile.video.videoWidth,
        height: tile.video.videoHeight,
        currentTime: tile.video.currentTime,
        totalVideoFrames: q?.totalVideoFrames ?? 0,
        framesRendered: tile.framesRendered,
        audioTracks: tile.stream.getAudioTracks().length,
        videoTracks: tile.stream.getVideoTracks().length,
        cameraOff: tile.root.classList.contains('cam-off'),
        micOff: tile.root.classList.contains('mic-off'),
      });
    }
    return {
      memberId: this.#memberId,
      epoch: this.#epoch === null ? null : this.#epoch.toString(),
      workerEpoch: snap.epoch,
      epochCount: this.#epochCount,
      epochHistory: this.#epochHistory.map((h) => ({ ...h, roster: [...h.roster] })),
      securityCode: this.#securityCode,
      roster: this.#roster.map((r) => ({ ...r })),
      members: [...this.#members.values()].map((m) => ({ ...m })),
      streams: snap.streams.map((s: StreamStats) => ({ ...s })),
      videos,
      workerErrors: [...(this.#e2ee?.errors ?? [])],
      engineErrors: this.#engine?.errors() ?? [],
      callErrors: [...this.#errors],
      transports: this.#media?.connectionStates() ?? { send: 'none', recv: 'none' },
      connection: this.#connection,
      reconnects: this.#reconnects,
      consumers: [...(this.#media?.consumers.values() ?? [])].map((c) => ({
        consumerId: c.consumerId,
        producerId: c.producerId,
        memberId: c.memberId,
        kind: c.kind,
      })),
    };
  }

  #end(error: Error | null): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#media?.close();
    this.#e2ee?.close();
    for (const t of this.#local?.getTracks() ?? []) t.stop();
    this.#emit({ state: 'ended', error });
  }

  async leave(): Promise<void> {
    if (this.#ended) return;
    const engine = this.#engine;
    this.#end(null);
    await engine?.leave().catch(() => undefined);
  }
}

/** One epoch as this page saw it: when, its security code, and the MLS roster (display names). */
export interface EpochRecord {
  epoch: string;
  at: number;
  securityCode: string;
  roster: string[];
}

export interface VideoStatus {
  memberId: string;
  name: string;
  local: boolean;
  width: number;
  height: number;
  currentTime: number;
  totalVideoFrames: number;
  framesRendered: number;
  audioTracks: number;
  videoTracks: number;
  /** The tile shows "camera off" / "microphone off" (the participant turned it off; for remote tiles, the SFU said so). */
  cameraOff: boolean;
  micOff: boolean;
}

export interface CallTestStatus {
  memberId: string;
  epoch: string | null;
  workerEpoch: string;
  epochCount: number;
  epochHistory: EpochRecord[];
  securityCode: string;
  roster: { leafIndex: number; name: string; me: boolean }[];
  members: MemberInfo[];
  streams: StreamStats[];
  videos: VideoStatus[];
  workerErrors: string[];
  engineErrors: string[];
  callErrors: string[];
  transports: { send: string; recv: string };
  /** Signaling socket: 'reconnecting' while a dropped socket is being resumed. */
  connection: 'connected' | 'reconnecting';
  /** How many times the socket dropped and a resume was attempted. */
  reconnects: number;
  consumers: { consumerId: string; producerId: string; memberId: string; kind: string }[];
}
