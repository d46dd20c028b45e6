// e2e step 7: a Firefox participant (firefox-esr, WebDriver BiDi, RTCRtpScriptTransform) and a Chromium
// participant see and hear each other through the SFU with SFrame on, and show equal security codes.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  buildClient,
  closeAll,
  FIREFOX_PATH,
  openParticipant,
  remoteVideo,
  screenshot,
  startTestServer,
  status,
  summary,
  sumRecv,
  waitJoined,
  waitUntil,
  type Participant,
  type RunningServer,
} from './harness.js';

let server: RunningServer;

before(async () => {
  if (!existsSync(FIREFOX_PATH)) throw new Error(`Firefox not found at ${FIREFOX_PATH}: run scripts/setup-browsers.sh or set FIREFOX_PATH`);
  buildClient();
  server = await startTestServer();
});

after(async () => {
  await closeAll();
  await server?.close();
});

test('7. Firefox and Chromium see and hear each other with equal security codes', async () => {
  const room = 'e2e-cross';
  const chrome = await openParticipant(server.url, room, 'Chromey');
  await waitJoined(chrome, 25_000);
  const fox = await openParticipant(server.url, room, 'Foxy', { kind: 'firefox' });
  const ps: Participant[] = [chrome, fox];
  const describe = (): Promise<string> => summary(ps);
  await waitJoined(fox, 30_000, [chrome]);
  await waitUntil(
    'both agree on epoch and security code',
    15_000,
    async () => {
      const [a, b] = [await status(chrome), await status(fox)];
      return !!a && !!b && a.epoch !== null && a.epoch === b.epoch && a.securityCode !== '' && a.securityCode === b.securityCode;
    },
    describe,
  );
  const sample = async (viewer: Participant, peer: string): Promise<{ width: number; frames: number; audio: number; video: number }> => {
    const s = (await status(viewer))!;
    const v = remoteVideo(s, peer);
    const recv = (kind: string): number =>
      s.streams.filter((x) => x.direction === 'recv' && x.kind === kind && x.peer === peer).reduce((a, x) => a + x.framesDecrypted, 0);
    return { width: v?.width ?? 0, frames: v ? Math.max(v.framesRendered, v.totalVideoFrames) : 0, audio: recv('audio'), video: recv('video') };
  };
  let prev = { c: await sample(chrome, 'Foxy'), f: await sample(fox, 'Chromey') };
  await waitUntil(
    'each renders the other (size > 0, frames and decrypted audio/video rising)',
    40_000,
    async () => {
      const cur = { c: await sample(chrome, 'Foxy'), f: await sample(fox, 'Chromey') };
      const rising = (a: typeof cur.c, b: typeof cur.c): boolean =>
        a.width > 0 && a.frames > b.frames && a.audio > b.audio && a.video > b.video;
      const ok = rising(cur.c, prev.c) && rising(cur.f, prev.f);
      prev = cur;
      return ok;
    },
    describe,
    1000,
  );
  const [a, b] = [(await status(chrome))!, (await status(fox))!];
  assert.equal(a.securityCode, b.securityCode);
  assert.equal(sumRecv(a, 'decryptFailures'), 0, 'Chromium: no decryption failures');
  assert.equal(sumRecv(b, 'decryptFailures'), 0, 'Firefox: no decryption failures');
  // Both directions of the interop carry SFrame: each browser parses the other's frames as SFrame with a live KID.
  assert.equal(sumRecv(a, 'sframeHeadersBad'), 0, 'Chromium receives SFrame only');
  assert.equal(sumRecv(b, 'sframeHeadersBad'), 0, 'Firefox receives SFrame only');
  assert.ok(sumRecv(a, 'sframeHeadersOk') > 0, 'Chromium parsed SFrame headers from Firefox');
  assert.ok(sumRecv(b, 'sframeHeadersOk') > 0, 'Firefox parsed SFrame headers from Chromium');
  assert.ok(b.streams.every((x) => x.api === 'script-transform'), 'Firefox uses RTCRtpScriptTransform');
  await screenshot(chrome, '7-cross-browser-Chromium');
  await screenshot(fox, '7-cross-browser-Firefox');
});
