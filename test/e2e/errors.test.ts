// Errors a person can act on, shown on the page: camera denied, room full, bad token, server unreachable.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { mintJoinToken } from '../../server/signaling/token.js';
import { buildClient, closeAll, closeParticipant, hookInfo, openParticipant, screenshot, startTestServer, summary, waitUntil, type RunningServer } from './harness.js';

const SECRET = 'e2e-join-token-secret-0123456789';
let server: RunningServer;

before(async () => {
  buildClient();
  server = await startTestServer({ joinTokenSecret: SECRET, maxMembersPerRoom: 1 });
});

after(async () => {
  await closeAll();
  await server?.close();
});

const token = (room: string, name: string): string => mintJoinToken(SECRET, room, name, Math.floor(Date.now() / 1000) + 600);

async function errorOnScreen(p: Awaited<ReturnType<typeof openParticipant>>): Promise<string> {
  return p.page.evaluate(() => {
    const box = document.getElementById('error') as HTMLElement;
    return box.hidden ? '' : (box.textContent ?? '');
  }) as Promise<string>;
}

test('errors: camera denied, room full and bad token are explained on the page', async () => {
  // A signaling-only participant (Node WebSocket, valid token) fills the one-member room.
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const joined = new Promise<Record<string, unknown>>((resolve) => ws.once('message', (d) => resolve(JSON.parse(String(d)))));
  ws.send(JSON.stringify({ v: 1, id: 1, type: 'join', room: 'tiny', name: 'First', token: token('tiny', 'First') }));
  const answer = await joined;
  assert.equal(answer['type'], 'response', `the first join is accepted: ${JSON.stringify(answer).slice(0, 200)}`);

  const full = await openParticipant(server.url, 'tiny', 'Second', { query: { token: token('tiny', 'Second') } });
  await waitUntil('Second sees "room full"', 15_000, async () => (await hookInfo(full)).error?.code === 'room-full', () => summary([full]));
  assert.match(await errorOnScreen(full), /room is full/i);
  await screenshot(full, 'errors-room-full');
  await closeParticipant(full);
  ws.close();

  const bad = await openParticipant(server.url, 'other', 'Mallory', { query: { token: token('other', 'Someone else') } });
  await waitUntil('Mallory sees "token not accepted"', 15_000, async () => (await hookInfo(bad)).error?.code === 'unauthorized', () => summary([bad]));
  assert.match(await errorOnScreen(bad), /token was not accepted/i);
  assert.equal((await hookInfo(bad)).phase, 'error');
  await screenshot(bad, 'errors-bad-token');
  await closeParticipant(bad);

  const denied = await openParticipant(server.url, 'cam', 'NoCam', {
    query: { token: token('cam', 'NoCam') },
    beforeLoad: `navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'));`,
  });
  await waitUntil('NoCam sees "camera denied"', 15_000, async () => (await hookInfo(denied)).error?.code === 'camera-denied', () => summary([denied]));
  assert.match(await errorOnScreen(denied), /camera or microphone access was denied/i);
  await screenshot(denied, 'errors-camera-denied');
  await closeParticipant(denied);
});

test('errors: server unreachable is explained on the page', async () => {
  const p = await openParticipant(server.url, 'gone', 'Late', { autojoin: false });
  // The page is loaded; now nothing listens on the signaling URL any more.
  await p.page.evaluate(`
    window.WebSocket = new Proxy(window.WebSocket, { construct(target) { return new target('ws://127.0.0.1:9/ws'); } });
  `);
  await p.page.click('#join-button');
  await waitUntil('Late sees "server unreachable"', 15_000, async () => (await hookInfo(p)).error?.code === 'server-unreachable', () => summary([p]));
  assert.match(await errorOnScreen(p), /cannot be reached/i);
  await screenshot(p, 'errors-server-unreachable');
});
