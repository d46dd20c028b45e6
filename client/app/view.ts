// DOM rendering for the page: join form, error box, video grid, E2EE panel. No framework: small functions
// that own one part of the document each. Text goes in through textContent only (names are untrusted).

import type { StreamStats } from '../e2ee/messages.js';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el as T;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

export interface ActionableError {
  title: string;
  detail: string;
}

export const view = {
  form: () => byId<HTMLFormElement>('join-form'),
  room: () => byId<HTMLInputElement>('room'),
  name: () => byId<HTMLInputElement>('name'),
  token: () => byId<HTMLInputElement>('token'),
  joinButton: () => byId<HTMLButtonElement>('join-button'),
  micButton: () => byId<HTMLButtonElement>('mic-button'),
  camButton: () => byId<HTMLButtonElement>('cam-button'),
  leaveButton: () => byId<HTMLButtonElement>('leave-button'),

  showJoin(): void {
    byId('join-view').hidden = false;
    byId('call-view').hidden = true;
  },
  showCall(): void {
    byId('join-view').hidden = true;
    byId('call-view').hidden = false;
  },
  setJoinStatus(text: string): void {
    byId('join-status').textContent = text;
  },
  showError(err: ActionableError | null): void {
    const box = byId('error');
    box.replaceChildren();
    box.hidden = err === null;
    if (!err) return;
    box.append(el('strong', undefined, err.title), el('span', undefined, err.detail));
  },
  showTokenField(): void {
    (byId('token').parentElement as HTMLElement).hidden = false;
  },
};

// ---- video grid --------------------------------------------------------------------------------

export interface Tile {
  root: HTMLElement;
  video: HTMLVideoElement;
  label: HTMLElement;
  badge: HTMLElement;
  stream: MediaStream;
  /** Frames presented, counted with requestVideoFrameCallback (Firefox headless reports 0 playback quality). */
  framesRendered: number;
}

const tiles = new Map<string, Tile>();

/** Tile per participant (key: member id, or 'local'). */
export function tileFor(key: string, name: string, local = false): Tile {
  let t = tiles.get(key);
  if (t) {
    t.label.textContent = local ? `${name} (you)` : name;
    return t;
  }
  const root = el('div', `tile${local ? ' local' : ''}`);
  root.dataset['member'] = key;
  const video = el('video');
  video.autoplay = true;
  video.playsInline = true;
  video.muted = local;
  const stream = new MediaStream();
  video.srcObject = stream;
  const label = el('div', 'label', local ? `${name} (you)` : name);
  const badge = el('div', 'badge wait', local ? 'encrypting' : 'waiting for key');
  root.append(video, label, badge);
  byId('grid').append(root);
  const tile: Tile = { root, video, label, badge, stream, framesRendered: 0 };
  countFrames(tile);
  tiles.set(key, tile);
  return tile;
}

type FrameCallbackVideo = HTMLVideoElement & {
  requestVideoFrameCallback?(cb: () => void): number;
};

function countFrames(t: Tile): void {
  const v = t.video as FrameCallbackVideo;
  if (typeof v.requestVideoFrameCallback !== 'function') return;
  const tick = (): void => {
    t.framesRendered++;
    if (t.root.isConnected) v.requestVideoFrameCallback!(tick);
  };
  v.requestVideoFrameCallback(tick);
}

export function addTrackToTile(t: Tile, track: MediaStreamTrack): void {
  for (const old of t.stream.getTracks()) if (old.kind === track.kind) t.stream.removeTrack(old);
  t.stream.addTrack(track);
  // Audio of remote tiles plays through the same element (not muted); play() may need a user gesture:
  // the Join click provides it.
  void t.video.play().catch(() => undefined);
}

export function removeTrackFromTile(key: string, trackId: string): void {
  const t = tiles.get(key);
  if (!t) return;
  for (const tr of t.stream.getTracks()) if (tr.id === trackId) t.stream.removeTrack(tr);
  if (t.stream.getTracks().length === 0 && key !== 'local') removeTile(key);
}

export function removeTile(key: string): void {
  const t = tiles.get(key);
  if (!t) return;
  t.root.remove();
  tiles.delete(key);
}

export function clearTiles(): void {
  for (const key of [...tiles.keys()]) removeTile(key);
}

export function allTiles(): ReadonlyMap<string, Tile> {
  return tiles;
}

// ---- E2EE panel --------------------------------------------------------------------------------

export function setE2eeFacts(f: { state?: string; epoch?: string; api?: string; code?: string }): void {
  if (f.state !== undefined) byId('e2ee-state').textContent = f.state;
  if (f.epoch !== undefined) byId('e2ee-epoch').textContent = f.epoch;
  if (f.api !== undefined) byId('e2ee-api').textContent = f.api;
  if (f.code !== undefined) byId('security-code').textContent = f.code;
}

export function renderRoster(entries: { leafIndex: number; name: string; me: boolean }[]): void {
  const ul = byId('roster');
  ul.replaceChildren(
    ...entries.map((e) => {
      const li = el('li', e.me ? 'me' : undefined);
      li.append(el('span', undefined, e.me ? `${e.name} (you)` : e.name), el('span', 'counts', `leaf ${e.leafIndex}`));
      return li;
    }),
  );
}

const STATUS_TEXT: Record<StreamStats['status'], [string, string]> = {
  idle: ['idle', 'wait'],
  encrypting: ['encrypting', 'ok'],
  decrypting: ['decrypting', 'ok'],
  'waiting-for-key': ['waiting for key', 'wait'],
  'no-key': ['no key yet: not sending', 'wait'],
  failing: ['failing', 'bad'],
};

export function renderStreams(streams: StreamStats[]): void {
  const incoming = byId('streams');
  const outgoing = byId('outgoing');
  const row = (s: StreamStats): HTMLLIElement => {
    const [text, cls] = STATUS_TEXT[s.status];
    const li = el('li');
    const who = s.direction === 'recv' ? `${s.peer || 'remote'} ${s.kind}` : `${s.kind}`;
    const counts =
      s.direction === 'recv'
        ? `${s.framesDecrypted} ok, ${s.held} held, ${s.decryptFailures} failed, ${s.dropped} dropped`
        : `${s.framesEncrypted} sent, ${s.dropped} dropped`;
    const left = el('span', undefined, who);
    const right = el('span');
    right.append(el('span', cls, text), el('span', 'counts', ` ${counts}`));
    li.append(left, right);
    return li;
  };
  incoming.replaceChildren(...streams.filter((s) => s.direction === 'recv').map(row));
  outgoing.replaceChildren(...streams.filter((s) => s.direction === 'send').map(row));
}

export function setTileBadge(key: string, status: StreamStats['status']): void {
  const t = tiles.get(key);
  if (!t) return;
  const [text, cls] = STATUS_TEXT[status];
  t.badge.textContent = text;
  t.badge.className = `badge ${cls}`;
}
