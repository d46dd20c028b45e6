// SFU foundation: worker + router with Opus/VP8/VP9/H.264, WebRtcTransport and PlainTransport on
// 127.0.0.1, RTP through a PlainTransport producer out of a consumer on another PlainTransport
// with the payload byte-identical, clean close with the worker process gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { testConfig } from '../../server/config.js';
import { MediaRoom } from '../../server/sfu/media-room.js';
import { WorkerPool, processAlive } from '../../server/sfu/workers.js';
import type { JsonObject } from '../../shared/protocol/index.js';
import { OPUS_PRODUCER_RTP, RawClient, parseRtp, rtpPacket, udpSocket, waitFor } from './helpers.js';

test('mediasoup: router codecs, transports on 127.0.0.1, RTP forwarded byte-identical, clean close', async () => {
  const pool = await WorkerPool.create(testConfig({ numWorkers: 1 }));
  const worker = pool.next();
  const pid = worker.pid;
  assert.ok(processAlive(pid), 'the worker process runs');
  const notes: Array<[string, string]> = [];
  const room = await MediaRoom.create(worker, { listenIp: '127.0.0.1', announcedIp: undefined, initialOutgoingBitrate: 1_000_000 },
    (peer, type) => notes.push([peer, type]), () => ['alice', 'bob']);
  try {
    const mimes = (room.router.rtpCapabilities.codecs ?? []).map((c) => c.mimeType.toLowerCase());
    for (const m of ['audio/opus', 'video/vp8', 'video/vp9', 'video/h264']) assert.ok(mimes.includes(m), `router has ${m}`);

    const wrtc = await room.createWebRtcTransport('alice', 'send');
    const cands = wrtc.iceCandidates as Array<{ address?: string; ip?: string }>;
    assert.ok(cands.length >= 1);
    for (const c of cands) assert.equal(c.address ?? c.ip, '127.0.0.1');

    // Producer side: comedia plain transport, fed from a local UDP socket.
    const sender = await udpSocket();
    const sendT = await room.createPlainTransport('alice', { comedia: true, rtcpMux: true });
    assert.equal(sendT.ip, '127.0.0.1');
    const ssrc = 0x11223344;
    const producer = await room.produce('alice', sendT.transportId, 'audio', OPUS_PRODUCER_RTP(ssrc) as unknown as JsonObject);
    assert.deepEqual(notes.filter(([, t]) => t === 'newProducer').map(([p]) => p), ['bob'], 'the other peer hears of the producer');

    // Consumer side: a plain transport sending to our receiver socket.
    const receiver = await udpSocket();
    const got: Uint8Array[] = [];
    receiver.on('message', (m) => {
      const rtp = parseRtp(new Uint8Array(m));
      if (rtp) got.push(rtp.payload);
    });
    const recvT = await room.createPlainTransport('bob', { comedia: false, rtcpMux: true });
    await room.connectPlainTransport('bob', recvT.transportId, '127.0.0.1', receiver.port);
    const consumer = await room.consume('bob', recvT.transportId, producer.id, room.rtpCapabilities);
    assert.equal(consumer.kind, 'audio');
    await room.resumeConsumer('bob', consumer.consumerId);

    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 50; i++) {
      const payload = new Uint8Array(randomBytes(40 + i));
      payloads.push(payload);
      sender.send(rtpPacket(100, 1000 + i, 960 * i, ssrc, payload), sendT.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor('forwarded RTP', () => got.length >= 45, 5000);
    const sent = new Set(payloads.map((p) => Buffer.from(p).toString('hex')));
    for (const p of got) assert.ok(sent.has(Buffer.from(p).toString('hex')), 'every forwarded payload is byte-identical to one we sent');

    room.closeProducer('alice', producer.id);
    await waitFor('consumerClosed notification', () => notes.some(([p, t]) => p === 'bob' && t === 'consumerClosed'), 3000);
    sender.close();
    receiver.close();
  } finally {
    room.close();
    await pool.close();
  }
  assert.ok(room.closed);
  assert.equal(processAlive(pid), false, 'the worker process has exited');
});

test('media requests over signaling: bad parameters get media-error/not-found, another peer\'s objects are out of reach, limits hold', async () => {
  const { startServer } = await import('../../server/app.js');
  const s = await startServer(testConfig());
  try {
    const a = await RawClient.connect(s.wsUrl);
    const b = await RawClient.connect(s.wsUrl);
    const caps = (await a.ok<{ routerRtpCapabilities: JsonObject }>('join', { room: 'm', name: 'a' })).routerRtpCapabilities;
    await b.ok('join', { room: 'm', name: 'b' });
    const code = async (c: RawClient, type: string, body: Record<string, unknown>) => {
      const m = await c.request(type, body);
      return m.type === 'error' ? (m as { code: string }).code : 'ok';
    };
    const t = await a.ok<{ transportId: string; iceCandidates: unknown[] }>('createWebRtcTransport', { direction: 'send' });
    assert.ok(t.iceCandidates.length > 0);
    assert.equal(await code(a, 'connectTransport', { transportId: t.transportId, dtlsParameters: { role: 'nope', fingerprints: 'x' } }), 'media-error');
    assert.equal(await code(a, 'produce', { transportId: t.transportId, kind: 'audio', rtpParameters: { codecs: 'junk' } }), 'media-error');
    const plain = await a.ok<{ transportId: string }>('createPlainTransport', { comedia: true });
    const p = await a.ok<{ producerId: string }>('produce', { transportId: plain.transportId, kind: 'audio', rtpParameters: OPUS_PRODUCER_RTP(42) });
    assert.ok(b.notifications('newProducer').some((n) => n.producerId === p.producerId), 'b hears of the producer');
    assert.equal(await code(b, 'closeProducer', { producerId: p.producerId }), 'not-found', "b cannot close a's producer");
    assert.equal(await code(b, 'pauseProducer', { producerId: p.producerId }), 'not-found', "nor pause it");
    assert.equal(await code(b, 'connectTransport', { transportId: t.transportId, dtlsParameters: {} }), 'not-found', "nor use a's transport");
    const bt = await b.ok<{ transportId: string }>('createPlainTransport', {});
    assert.equal(await code(b, 'consume', { transportId: bt.transportId, producerId: 'no-such-producer', rtpCapabilities: caps }), 'not-found');
    assert.equal(await code(b, 'consume', { transportId: bt.transportId, producerId: p.producerId, rtpCapabilities: { codecs: [] } }), 'not-found');
    assert.equal(await code(b, 'resumeConsumer', { consumerId: 'nope' }), 'not-found');
    // a pauses its own producer: b's consumer of it hears consumerPaused, then consumerResumed.
    const bc = await b.ok<{ consumerId: string }>('consume', { transportId: bt.transportId, producerId: p.producerId, rtpCapabilities: caps });
    await a.ok('pauseProducer', { producerId: p.producerId });
    await waitFor('consumerPaused reaches b', () => b.notifications('consumerPaused').some((n) => n.consumerId === bc.consumerId), 5000);
    await a.ok('resumeProducer', { producerId: p.producerId });
    await waitFor('consumerResumed reaches b', () => b.notifications('consumerResumed').some((n) => n.consumerId === bc.consumerId), 5000);
    for (let i = 0; i < 7; i++) await b.ok('createPlainTransport', {});
    assert.equal(await code(b, 'createPlainTransport', {}), 'media-error', 'at most 8 transports per connection');
    a.close();
    await waitFor('producerClosed reaches b', () => b.notifications('producerClosed').some((n) => n.producerId === p.producerId), 5000);
    b.close();
  } finally {
    await s.close();
  }
});
