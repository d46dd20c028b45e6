// The signaling media requests as the page uses them: mediasoup-client (FakeHandler, no browser)
// loads the router capabilities from `join`, creates send/recv WebRtcTransports, produces audio
// and simulcast video, consumes them (paused first, then resumed), sets preferred layers and asks
// for a keyframe, all through shared/member's signaling client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeMediaStreamTrack } from 'fake-mediastreamtrack';
import { Device, FakeHandler, testFakeParameters } from 'mediasoup-client';
import type { types as msc } from 'mediasoup-client';
import { startServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import { SignalingClient } from '../../shared/member/index.js';
import type { JsonObject } from '../../shared/protocol/index.js';
import { waitFor } from './helpers.js';
import { openTransport } from './room-harness.js';

test('mediasoup-client over the signaling protocol: transports, audio + simulcast video, consumers, layers', async () => {
  const s = await startServer(testConfig());
  try {
    const connect = async () => new SignalingClient((await openTransport(s.wsUrl)).transport);
    const alice = await connect();
    const bob = await connect();
    const aJoin = await alice.request('join', { room: 'msc', name: 'alice' });
    const bJoin = await bob.request('join', { room: 'msc', name: 'bob' });
    const newProducers: string[] = [];
    bob.onNotification((n) => {
      if (n.type === 'newProducer') newProducers.push(n.producerId);
    });

    const device = async (caps: JsonObject) => {
      const d = new Device({ handlerFactory: FakeHandler.createFactory(testFakeParameters) });
      await d.load({ routerRtpCapabilities: caps as unknown as msc.RtpCapabilities });
      return d;
    };
    const aDev = await device(aJoin.routerRtpCapabilities);
    const bDev = await device(bJoin.routerRtpCapabilities);
    assert.ok(aDev.canProduce('audio') && aDev.canProduce('video'));

    const t = await alice.request('createWebRtcTransport', { direction: 'send' });
    const send = aDev.createSendTransport({
      id: t.transportId,
      iceParameters: t.iceParameters as unknown as msc.IceParameters,
      iceCandidates: t.iceCandidates as unknown as msc.IceCandidate[],
      dtlsParameters: t.dtlsParameters as unknown as msc.DtlsParameters,
    });
    send.on('connect', ({ dtlsParameters }, cb, eb) => {
      alice.request('connectTransport', { transportId: t.transportId, dtlsParameters: dtlsParameters as unknown as JsonObject }).then(() => cb(), eb);
    });
    send.on('produce', ({ kind, rtpParameters, appData }, cb, eb) => {
      alice
        .request('produce', { transportId: t.transportId, kind, rtpParameters: rtpParameters as unknown as JsonObject, appData: appData as JsonObject })
        .then((r) => cb({ id: r.producerId }), eb);
    });
    const audio = await send.produce({ track: new FakeMediaStreamTrack({ kind: 'audio' }) as unknown as MediaStreamTrack });
    const video = await send.produce({
      track: new FakeMediaStreamTrack({ kind: 'video' }) as unknown as MediaStreamTrack,
      encodings: [{ maxBitrate: 100_000 }, { maxBitrate: 300_000 }, { maxBitrate: 900_000 }],
      appData: { source: 'camera' },
    });
    await waitFor('newProducer notifications', () => newProducers.length === 2, 5000);
    assert.deepEqual(newProducers.sort(), [audio.id, video.id].sort());

    const r = await bob.request('createWebRtcTransport', { direction: 'recv' });
    const recv = bDev.createRecvTransport({
      id: r.transportId,
      iceParameters: r.iceParameters as unknown as msc.IceParameters,
      iceCandidates: r.iceCandidates as unknown as msc.IceCandidate[],
      dtlsParameters: r.dtlsParameters as unknown as msc.DtlsParameters,
    });
    recv.on('connect', ({ dtlsParameters }, cb, eb) => {
      bob.request('connectTransport', { transportId: r.transportId, dtlsParameters: dtlsParameters as unknown as JsonObject }).then(() => cb(), eb);
    });
    const types: string[] = [];
    for (const producerId of [audio.id, video.id]) {
      const c = await bob.request('consume', { transportId: r.transportId, producerId, rtpCapabilities: bDev.rtpCapabilities as unknown as JsonObject });
      types.push(c.type);
      const consumer = await recv.consume({ id: c.consumerId, producerId, kind: c.kind, rtpParameters: c.rtpParameters as unknown as msc.RtpParameters });
      assert.equal(consumer.id, c.consumerId);
      await bob.request('resumeConsumer', { consumerId: c.consumerId });
      if (c.kind === 'video') {
        await bob.request('setPreferredLayers', { consumerId: c.consumerId, spatialLayer: 1, temporalLayer: 0 });
        await bob.request('requestKeyFrame', { consumerId: c.consumerId });
      }
    }
    assert.deepEqual(types, ['simple', 'simulcast']);
    await alice.request('closeProducer', { producerId: video.id });
    alice.close();
    bob.close();
  } finally {
    await s.close();
  }
});
