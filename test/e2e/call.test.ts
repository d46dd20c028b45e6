// e2e steps 1-6: real server in-process, headless Chromium participants (one browser each), one room.
//   1. three join: each renders the other two videos, decrypts audio, same security code and epoch
//   2. frames arriving at receivers are SFrame ciphertext with live KIDs (checked before decryption)
//   3. one leaves: the others reach epoch + 1 with a new equal code; video keeps flowing; 0 failures
//   4. a fourth joins: everyone reaches the new epoch; the newcomer shows every remote picture within 2 s
//   5. a tab is killed: everyone moves to a new epoch within heartbeat timeout + 1 s
//   6. simulcast: a receiver switches spatial layers and keeps decrypting and rendering
//   9. camera and microphone off and on: the other side shows it (the SFU paused the producers)
//  10. a dropped signaling socket: the page resumes its session (no new epoch) and media flows again
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { CallTestStatus } from '../../client/app/call.js';
import {
  buildClient,
  closeAll,
  kill,
  openParticipant,
  remoteVideo,
  screenshot,
  sleep,
  startTestServer,
  status,
  summary,
  sumRecv,
  hookInfo,
  waitJoined,
  waitUntil,
  type Participant,
  type RunningServer,
} from './harness.js';
import { tapProducer } from './sfu-tap.js';
import { EPOCH_BITS } from '../../client/worker/keybridge-cipher.js';

const ROOM = 'e2e-call';
let server: RunningServer;
const people = new Map<string, Participant>();
const live = (): Participant[] => [...people.values()].filter((p) => !p.killed);
const describeAll = (): Promise<string> => summary(live());

async function statuses(ps: Participant[]): Promise<CallTestStatus[]> {
  const out: CallTestStatus[] = [];
  for (const p of ps) {
    const s = await status(p);
    if (!s) {
      const h = await hookInfo(p);
      throw new Error(`${p.name} is not in a call (phase ${h.phase}, error ${JSON.stringify(h.error)})`);
    }
    out.push(s);
  }
  return out;
}

/** Everyone in `ps` is at the same epoch (> `after` if given) with the same code and a roster of exactly `names`. */
async function agreed(ps: Participant[], names: string[], after?: bigint): Promise<boolean> {
  const ss = await statuses(ps);
  const first = ss[0]!;
  if (first.epoch === null || first.securityCode === '') return false;
  if (after !== undefined && BigInt(first.epoch) <= after) return false;
  return ss.every(
    (s) =>
      s.epoch === first.epoch &&
      s.workerEpoch === first.epoch &&
      s.securityCode === first.securityCode &&
      s.roster.map((r) => r.name).sort().join(',') === [...names].sort().join(','),
  );
}

/** Per (viewer, remote name): frames rendered and audio frames decrypted, for "is it still flowing" checks. */
async function flowSample(ps: Participant[]): Promise<Map<string, { frames: number; audio: number; width: number }>> {
  const m = new Map<string, { frames: number; audio: number; width: number }>();
  for (const p of ps) {
    const s = (await status(p))!;
    for (const other of ps) {
      if (other === p) continue;
      const v = remoteVideo(s, other.name);
      const audio = s.streams
        .filter((x) => x.direction === 'recv' && x.kind === 'audio' && x.peer === other.name)
        .reduce((a, x) => a + x.framesDecrypted, 0);
      m.set(`${p.name}<-${other.name}`, { frames: v ? Math.max(v.framesRendered, v.totalVideoFrames) : 0, audio, width: v?.width ?? 0 });
    }
  }
  return m;
}

/** Waits until every participant renders every other one's video (size > 0, frames rising) and decrypts their audio. */
async function waitFlowing(ps: Participant[], what: string, timeoutMs: number): Promise<void> {
  let prev = await flowSample(ps);
  await waitUntil(
    `${what}: every participant renders the others' video (size > 0, frames rising) and decrypts their audio`,
    timeoutMs,
    async () => {
      const cur = await flowSample(ps);
      const ok = [...cur].every(([k, v]) => {
        const b = prev.get(k);
        return v.width > 0 && b !== undefined && v.frames > b.frames && v.audio > b.audio;
      });
      prev = cur;
      return ok;
    },
    describeAll,
    700,
  );
}

before(async () => {
  buildClient();
  server = await startTestServer();
});

after(async () => {
  await closeAll();
  await server?.close();
});

describe('e2e call (Chromium, real server)', { concurrency: false }, () => {
  test('1. three participants see and hear each other, same security code and epoch', async () => {
    for (const name of ['Alice', 'Bob', 'Carol']) {
      const p = await openParticipant(server.url, ROOM, name);
      people.set(name, p);
      await waitJoined(p, 25_000, live());
    }
    const ps = live();
    await waitUntil('all three agree on epoch, security code and roster', 15_000, () => agreed(ps, ['Alice', 'Bob', 'Carol']), describeAll);
    await waitFlowing(ps, 'three participants', 30_000);
    const ss = await statuses(ps);
    assert.equal(new Set(ss.map((s) => s.securityCode)).size, 1, 'one security code on every screen');
    assert.match(ss[0]!.securityCode, /^\d{5} \d{5} \d{5} \d{5} \d{5}$/);
    for (const s of ss) {
      assert.equal(s.videos.filter((v) => !v.local && v.width > 0).length, 2, 'two remote pictures');
      for (const st of s.streams.filter((x) => x.direction === 'send')) assert.ok(st.framesEncrypted > 0, `${st.kind} frames are encrypted`);
    }
    for (const p of ps) await screenshot(p, `1-three-participants-${p.name}`);
  });

  test('2. forwarded frames are SFrame ciphertext with live KIDs (checked at the receiver before decryption)', async () => {
    const ps = live();
    await sleep(500);
    for (const p of ps) {
      const s = (await status(p))!;
      const recv = s.streams.filter((x) => x.direction === 'recv');
      assert.equal(recv.length, 4, `${p.name} receives audio + video from two peers`);
      for (const st of recv) {
        assert.ok(st.sframeHeadersOk > 0, `${p.name} ${st.peer}/${st.kind}: SFrame headers parsed`);
        assert.equal(st.sframeHeadersBad, 0, `${p.name} ${st.peer}/${st.kind}: every frame parsed as SFrame`);
        // Frames with a KID of an epoch we never held can only be the few sent just before we joined.
        assert.ok(st.sframeUnknownKid * 20 <= st.sframeHeadersOk, `${p.name} ${st.peer}/${st.kind}: ${st.sframeUnknownKid} unknown-KID frames vs ${st.sframeHeadersOk} live`);
        assert.equal(st.decryptFailures, 0, `${p.name} ${st.peer}/${st.kind}: no decryption failures`);
        assert.notEqual(st.lastKid, '', 'a KID was seen');
        if (st.kind === 'audio') assert.equal(st.lastClearBytes, 0, 'Opus is fully encrypted');
        else if (/vp8/i.test(st.codec)) assert.ok(st.lastClearBytes === 1 || st.lastClearBytes === 10, 'VP8 keeps 1 (delta) or 10 (key) bytes clear');
      }
      // KIDs of different senders differ (per-sender keys, RFC 9605 §5.2).
      const kids = new Set(recv.filter((x) => x.kind === 'video').map((x) => x.lastKid));
      assert.equal(kids.size, 2, `${p.name}: two senders, two video KIDs`);
    }
    // And at the SFU itself: a DirectTransport consumer on the room's router sees only SFrame.
    const room = server.app.hub.rooms.get(ROOM);
    assert.ok(room, 'the room exists on the server');
    const alice = (await status(people.get('Alice')!))!;
    const epoch = BigInt(alice.epoch!);
    for (const c of alice.consumers) {
      const kind = c.kind as 'audio' | 'video';
      const r = await tapProducer(room.media!.router, c.producerId, kind, { epoch, bits: EPOCH_BITS }, 1500);
      console.log(`# e2e step 2: SFU tap ${kind} producer of ${c.memberId}: ${r.packets} packets, ${r.frameStarts} frame starts, ${r.sframeOk} SFrame, bad=${r.bad.length}`);
      assert.ok(r.frameStarts > 0, `SFU tap saw ${kind} frames`);
      assert.equal(r.bad.length, 0, `every forwarded ${kind} frame is SFrame: ${r.bad.join('; ')}`);
      assert.equal(r.sframeOk, r.frameStarts);
    }
    await screenshot(ps[0]!, '2-sframe-check-Alice');
  });

  test('3. one leaves: the others reach epoch + 1 with a new equal code, video keeps flowing, no failures', async () => {
    const carol = people.get('Carol')!;
    const rest = live().filter((p) => p !== carol);
    const before = await statuses(rest);
    const e0 = BigInt(before[0]!.epoch!);
    const code0 = before[0]!.securityCode;
    await carol.page.click('#leave-button');
    await waitUntil('Carol is back on the join form', 10_000, async () => (await status(carol)) === null, describeAll);
    await waitUntil('Alice and Bob reach the next epoch without Carol', 10_000, () => agreed(rest, ['Alice', 'Bob'], e0), describeAll);
    const after = await statuses(rest);
    assert.equal(BigInt(after[0]!.epoch!), e0 + 1n, 'exactly one new epoch');
    assert.notEqual(after[0]!.securityCode, code0, 'the security code changed');
    await waitFlowing(rest, 'after Carol left', 15_000);
    for (const s of await statuses(rest)) assert.equal(sumRecv(s, 'decryptFailures'), 0, 'no decryption failures through the rotation');
    await screenshot(carol, '3-left-Carol');
    for (const p of rest) await screenshot(p, `3-after-leave-${p.name}`);
    await carol.browser.close();
    carol.killed = true;
    people.delete('Carol');
  });

  test('4. a fourth joins: every member reaches the new epoch, the newcomer shows every remote picture within 2 s', async () => {
    const rest = live();
    const e0 = BigInt((await statuses(rest))[0]!.epoch!);
    const dave = await openParticipant(server.url, ROOM, 'Dave');
    people.set('Dave', dave);
    const all = live();
    await waitJoined(dave, 25_000, all);
    await waitUntil('Dave joins and everyone agrees on the new epoch', 20_000, () => agreed(all, ['Alice', 'Bob', 'Dave'], e0), describeAll);
    // The newcomer's pictures: from the moment Dave is in the call (phase joined), every remote video renders.
    await waitUntil('Dave is in the call', 10_000, async () => (await dave.page.evaluate(() => (window as unknown as { __e2ee: { phase: string } }).__e2ee.phase)) === 'joined', describeAll, 50);
    const pictureMs = await waitUntil(
      'Dave renders Alice and Bob within 2 s of joining',
      2000,
      async () => {
        const s = (await status(dave))!;
        return ['Alice', 'Bob'].every((n) => {
          const v = remoteVideo(s, n);
          return v !== undefined && v.width > 0 && v.framesRendered + v.totalVideoFrames > 0;
        });
      },
      describeAll,
      50,
    );
    const ds = (await status(dave))!;
    const joinedAt = ds.epochHistory[0]?.at ?? 0;
    const nowPage = (await dave.page.evaluate(() => Date.now())) as number;
    console.log(`# e2e step 4: newcomer pictures ${pictureMs} ms after phase=joined (${nowPage - joinedAt} ms after its first epoch)`);
    assert.equal(BigInt(ds.epoch!), e0 + 1n, 'one commit added Dave');
    await waitFlowing(all, 'with Dave', 15_000);
    for (const s of await statuses(all)) assert.equal(sumRecv(s, 'decryptFailures'), 0, 'no decryption failures');
    for (const p of all) await screenshot(p, `4-four-joined-${p.name}`);
  });

  test('5. a killed tab: everyone moves to a new epoch within heartbeat timeout + 1 s', async () => {
    const bob = people.get('Bob')!;
    const rest = live().filter((p) => p !== bob);
    const e0 = BigInt((await statuses(rest))[0]!.epoch!);
    const bound = server.heartbeatTimeoutMs + 1000;
    kill(bob);
    const ms = await waitUntil(
      `Alice and Dave move past epoch ${e0} after Bob's tab was killed`,
      bound + 15_000,
      () => agreed(rest, ['Alice', 'Dave'], e0),
      describeAll,
      100,
    );
    console.log(`# e2e step 5: new epoch ${ms} ms after the tab was killed (bound ${bound} ms)`);
    assert.ok(ms <= bound, `new epoch after ${ms} ms: more than heartbeat timeout + 1 s (${bound} ms)`);
    people.delete('Bob');
    await waitFlowing(rest, 'after Bob was killed', 15_000);
    for (const s of await statuses(rest)) assert.equal(sumRecv(s, 'decryptFailures'), 0, 'no decryption failures');
    for (const p of rest) await screenshot(p, `5-after-kill-${p.name}`);
  });

  test('6. simulcast: a receiver switches spatial layers and keeps decrypting and rendering', async () => {
    const alice = people.get('Alice')!;
    const dave = people.get('Dave')!;
    const sizeOfDave = async (): Promise<{ width: number; frames: number; decrypted: number; failures: number }> => {
      const s = (await status(alice))!;
      const v = remoteVideo(s, 'Dave');
      const st = s.streams.filter((x) => x.direction === 'recv' && x.kind === 'video' && x.peer === 'Dave');
      return {
        width: v?.width ?? 0,
        frames: v?.framesRendered ?? 0,
        decrypted: st.reduce((a, x) => a + x.framesDecrypted, 0),
        failures: st.reduce((a, x) => a + x.decryptFailures, 0),
      };
    };
    const daveId = (await status(dave))!.memberId;
    const setLayer = (spatial: number): Promise<void> =>
      alice.page.evaluate(
        async (memberId: string, layer: number) =>
          (window as unknown as { __e2ee: { setPreferredLayers(m: string, s: number): Promise<void> } }).__e2ee.setPreferredLayers(memberId, layer),
        daveId,
        spatial,
      );
    // What the SFU sees: the RTP streams (layers) Dave's encoder really sends, and the layers mediasoup forwards
    // to Alice. The encoder decides how many layers it sends (Chromium sends two for a 640x480 camera, and fewer
    // while bandwidth estimation ramps up or the CPU is overloaded), so the test first waits for two layers to
    // arrive and then switches between the lowest and the highest that arrive; sizes are compared with each
    // other, not with 640.
    const room = server.app.hub.rooms.get(ROOM)!;
    const aliceId = (await status(alice))!.memberId;
    const daveVideo = (await status(alice))!.consumers.find((c) => c.memberId === daveId && c.kind === 'video');
    assert.ok(daveVideo, 'Alice consumes Dave\'s video');
    const sfu = async () => {
      const st = await room.media!.simulcastState(aliceId, daveVideo.producerId);
      assert.ok(st, 'the SFU has Dave\'s video producer and Alice\'s consumer of it');
      return st;
    };
    const describeSfu = async (): Promise<string> => `SFU: ${JSON.stringify(await sfu())}\n${await describeAll()}`;
    // mediasoup-client names the encodings r0 (lowest) to r2; a layer counts as sent while its bitrate is > 0.
    let layersSent: number[] = [];
    await waitUntil('Dave\'s encoder sends at least two simulcast layers to the SFU', 45_000, async () => {
      layersSent = (await sfu()).streams.filter((x) => x.bitrate > 0 && x.rid !== null).map((x) => Number(/\d+$/.exec(x.rid!)?.[0] ?? NaN)).filter((n) => Number.isInteger(n));
      return layersSent.length >= 2;
    }, describeSfu);
    const top = Math.max(...layersSent);
    const bottom = Math.min(...layersSent);
    const onLayer = async (spatial: number): Promise<boolean> => (await sfu()).currentLayers?.spatialLayer === spatial;
    await setLayer(top);
    await waitUntil(`the SFU forwards Dave's layer ${top} to Alice, and Alice renders it`, 20_000, async () => (await onLayer(top)) && (await sizeOfDave()).width > 0, describeSfu);
    // The decoder reports the new size once the first frame of the layer is decoded.
    await sleep(1500);
    const hi = await sizeOfDave();
    await screenshot(alice, '6-simulcast-high-Alice');
    await setLayer(bottom);
    await waitUntil(`Alice sees Dave on layer ${bottom} (narrower than ${hi.width})`, 20_000, async () => {
      const d = await sizeOfDave();
      return (await onLayer(bottom)) && d.width > 0 && d.width < hi.width;
    }, describeSfu);
    const low1 = await sizeOfDave();
    await sleep(1500);
    const low2 = await sizeOfDave();
    console.log(`# e2e step 6: Dave sends layers ${layersSent.join(',')}; his video at Alice: layer ${top} ${hi.width} px wide, layer ${bottom} ${low2.width} px`);
    assert.ok(low2.decrypted > low1.decrypted, 'still decrypting on the low layer');
    assert.ok(low2.frames > low1.frames, 'still rendering on the low layer');
    await screenshot(alice, '6-simulcast-low-Alice');
    await setLayer(top);
    await waitUntil('Alice sees Dave back on a wider layer', 20_000, async () => (await sizeOfDave()).width > low2.width, describeSfu);
    const high = await sizeOfDave();
    assert.equal(high.failures, 0, 'no decryption failures across layer switches');
  });

  test('9. camera and microphone off: the other side shows it (the SFU paused the producers), and back on', async () => {
    const alice = people.get('Alice')!;
    const dave = people.get('Dave')!;
    const aliceId = (await status(alice))!.memberId;
    const tileOfAlice = async (): Promise<{ cameraOff: boolean; micOff: boolean; frames: number }> => {
      const v = (await status(dave))!.videos.find((x) => x.memberId === aliceId);
      return { cameraOff: v?.cameraOff ?? false, micOff: v?.micOff ?? false, frames: v ? Math.max(v.framesRendered, v.totalVideoFrames) : 0 };
    };
    assert.deepEqual([(await tileOfAlice()).cameraOff, (await tileOfAlice()).micOff], [false, false]);
    await alice.page.click('#cam-button');
    await alice.page.click('#mic-button');
    await waitUntil('Dave sees Alice\'s camera and microphone off', 10_000, async () => {
      const t = await tileOfAlice();
      return t.cameraOff && t.micOff;
    }, describeAll);
    const local = (await status(alice))!.videos.find((v) => v.local)!;
    assert.equal(local.cameraOff, true, 'Alice\'s own tile shows her camera off');
    await screenshot(dave, '9-camera-off-Dave');
    await alice.page.click('#cam-button');
    await alice.page.click('#mic-button');
    await waitUntil('Dave sees Alice\'s camera and microphone on again', 10_000, async () => {
      const t = await tileOfAlice();
      return !t.cameraOff && !t.micOff;
    }, describeAll);
    await waitFlowing([alice, dave], 'after the camera came back on', 20_000);
  });

  test('10. a dropped socket: the page resumes its session within the grace period, no new epoch, media flows again', async () => {
    const alice = people.get('Alice')!;
    const dave = people.get('Dave')!;
    const both = [alice, dave];
    const [sa, sd] = await statuses(both);
    const e0 = sa!.epoch!;
    assert.equal(sd!.epoch, e0);
    // The network drops Dave's signaling socket (no close frame): the server keeps his session for the grace period.
    const session = server.app.hub.rooms.get(ROOM)!.sessions.get(sd!.memberId)!;
    assert.ok(session.conn, 'Dave has a live connection');
    session.conn.terminate();
    await waitUntil('Dave notices and resumes', 15_000, async () => {
      const s = (await status(dave))!;
      return s.reconnects === 1 && s.connection === 'connected';
    }, describeAll);
    await waitFlowing(both, 'after Dave resumed', 30_000);
    const [a, d] = await statuses(both);
    // A resume replays what Dave missed; it is not a leave and a join, so there is no new epoch.
    assert.equal(a!.epoch, e0, 'no new epoch for a resumed session');
    assert.equal(d!.epoch, e0);
    assert.equal(a!.securityCode, d!.securityCode);
    assert.equal(d!.memberId, sd!.memberId, 'same member after the resume');
    assert.deepEqual(d!.roster.map((r) => r.name).sort(), ['Alice', 'Dave']);
    for (const s of [a!, d!]) assert.equal(sumRecv(s, 'decryptFailures'), 0, 'no decryption failures');
    for (const p of both) await screenshot(p, `9-after-resume-${p.name}`);
  });
});
