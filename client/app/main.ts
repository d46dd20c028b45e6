// Page entry: feature detection (fail closed), join form, controls, and the read-only test hook.

import { detectTransformSupport } from '../e2ee/support.js';
import { Call, type CallStatus } from './call.js';
import { describeError, JoinError } from './errors.js';
import { installTestHook } from './testHook.js';
import { clearTiles, setE2eeFacts, view } from './view.js';

const support = detectTransformSupport();
let call: Call | null = null;
let lastError: { code: string; title: string; detail: string } | null = null;
let phase: 'idle' | 'joining' | 'joined' | 'left' | 'blocked' | 'error' = 'idle';

function init(): void {
  const params = new URLSearchParams(location.search);
  const room = params.get('room');
  const name = params.get('name');
  if (room) view.room().value = room;
  if (name) view.name().value = name;
  if (params.has('token')) {
    view.showTokenField();
    view.token().value = params.get('token') ?? '';
  }
  view.showJoin();

  if (support.api === null) {
    // Fail closed: without encoded transforms nothing could be encrypted, so the page refuses to join.
    phase = 'blocked';
    fail(new JoinError('no-transform', support.reason));
    view.joinButton().disabled = true;
  } else {
    view.setJoinStatus(`End-to-end encryption available (${support.reason}).`);
  }

  view.form().addEventListener('submit', (ev) => {
    ev.preventDefault();
    void join();
  });
  view.leaveButton().addEventListener('click', () => void leave());
  view.micButton().addEventListener('click', () => {
    if (!call) return;
    const muted = call.toggle('audio');
    view.micButton().textContent = muted ? 'Unmute' : 'Mute';
    view.micButton().setAttribute('aria-pressed', String(muted));
  });
  view.camButton().addEventListener('click', () => {
    if (!call) return;
    const off = call.toggle('video');
    view.camButton().textContent = off ? 'Camera on' : 'Camera off';
    view.camButton().setAttribute('aria-pressed', String(off));
  });
  window.addEventListener('pagehide', () => call?.leave());

  installTestHook(() => ({
    phase,
    api: support.api,
    supportReason: support.reason,
    error: lastError,
    call,
  }));

  if (params.get('autojoin') === '1' && view.room().value && view.name().value && support.api) void join();
}

function fail(e: unknown): void {
  lastError = describeError(e);
  view.showError(lastError);
}

async function join(): Promise<void> {
  if (!support.api || call) return;
  const room = view.room().value.trim();
  const name = view.name().value.trim();
  const token = view.token().value.trim();
  if (!view.form().reportValidity()) return;
  view.showError(null);
  lastError = null;
  view.joinButton().disabled = true;
  phase = 'joining';
  const url = new URL(location.href);
  url.searchParams.set('room', room);
  history.replaceState(null, '', url);
  const quality = new URLSearchParams(location.search).get('quality') === 'low' ? 'low' : 'normal';
  const c = new Call({ room, name, token: token || undefined, api: support.api, quality });
  call = c;
  c.onStatus((s: CallStatus) => {
    if (s.state === 'ended' && call === c && phase === 'joined') {
      call = null;
      phase = s.error ? 'error' : 'left';
      if (s.error) fail(s.error);
      clearTiles();
      view.showJoin();
      view.joinButton().disabled = false;
      view.setJoinStatus(s.error ? '' : 'You left the call.');
    }
  });
  try {
    view.setJoinStatus('Joining...');
    await c.start();
    phase = 'joined';
    view.showCall();
    setE2eeFacts({ api: support.api === 'script-transform' ? 'RTCRtpScriptTransform' : 'createEncodedStreams' });
  } catch (e) {
    phase = 'error';
    c.leave();
    call = null;
    clearTiles();
    view.showJoin();
    view.setJoinStatus('');
    fail(e);
    view.joinButton().disabled = false;
  }
}

async function leave(): Promise<void> {
  const c = call;
  if (!c) return;
  call = null;
  phase = 'left';
  await c.leave();
  clearTiles();
  view.showJoin();
  view.joinButton().disabled = false;
  view.setJoinStatus('You left the call.');
}

init();
