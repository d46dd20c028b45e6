// e2e step 8: fail closed. A page whose encoded-transform APIs are removed before load cannot join and says why.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { buildClient, closeAll, hookInfo, openParticipant, screenshot, startTestServer, waitUntil, type RunningServer } from './harness.js';

let server: RunningServer;

before(async () => {
  buildClient();
  server = await startTestServer();
});

after(async () => {
  await closeAll();
  await server?.close();
});

test('8. without encoded transforms the page refuses to join and says why', async () => {
  const p = await openParticipant(server.url, 'failclosed', 'NoTransform', {
    autojoin: false,
    beforeLoad: `
      delete window.RTCRtpScriptTransform;
      if (window.RTCRtpSender) delete RTCRtpSender.prototype.createEncodedStreams;
      if (window.RTCRtpReceiver) delete RTCRtpReceiver.prototype.createEncodedStreams;
      // Count signaling connections the page tries to open (must stay 0).
      window.__wsCount = 0;
      window.WebSocket = new Proxy(window.WebSocket, {
        construct(target, args) { window.__wsCount++; return new target(...args); },
      });
    `,
  });
  await waitUntil('the page to load its script', 10_000, async () => (await hookInfo(p)).phase !== undefined);
  const info = await hookInfo(p);
  assert.equal(info.api, null, 'no transform API must be detected');
  assert.equal(info.phase, 'blocked');
  assert.equal(info.error?.code, 'no-transform');
  assert.match(info.error?.detail ?? '', /encoded transforms/i);
  const ui = await p.page.evaluate(() => ({
    disabled: (document.getElementById('join-button') as HTMLButtonElement).disabled,
    error: document.getElementById('error')?.textContent ?? '',
    errorVisible: !(document.getElementById('error') as HTMLElement).hidden,
  }));
  assert.equal(ui.disabled, true, 'the Join button must be disabled');
  assert.equal(ui.errorVisible, true, 'the reason must be on screen');
  assert.match(ui.error, /cannot encrypt/i);
  // Pressing Join anyway (e.g. via the form's submit) must not connect: the phase stays blocked.
  await p.page.evaluate(() => (document.getElementById('join-form') as HTMLFormElement).requestSubmit());
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await hookInfo(p)).phase, 'blocked');
  const wsCount = await p.page.evaluate(() => (window as unknown as { __wsCount: number }).__wsCount);
  assert.equal(wsCount, 0, 'no signaling connection may be opened');
  await screenshot(p, '8-fail-closed');
});
