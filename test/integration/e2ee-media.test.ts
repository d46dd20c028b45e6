// Media is opaque to the SFU: alice (a real MLS member) sends SFrame-protected Opus frames over a
// PlainTransport; an observer at the SFU (a room connection that is not in the MLS group)
// consumes the producer into a UDP socket on 127.0.0.1. Every forwarded payload parses as an
// SFrame header whose KID names alice's leaf in a live epoch, is ciphertext (the plaintext does
// not appear), and bob, a member, decrypts it to alice's frame. A join mid-stream rotates keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import { concat, toHex, utf8 } from '../../shared/bytes/index.js';
import { KeyBridge, SFRAME_EXPORTER_LABEL, parseKid, senderIndexBits } from '../../shared/keybridge/index.js';
import * as mls from '../../shared/mls/index.js';
import { decodeHeader } from '../../shared/sframe/index.js';
import type { JsonObject } from '../../shared/protocol/index.js';
import { OPUS_PRODUCER_RTP, RawClient, parseRtp, rtpPacket, udpSocket, waitFor } from './helpers.js';
import { Participant, converge } from './room-harness.js';

function bridgeFor(p: Participant, installed: Map<bigint, number>): KeyBridge {
  const bridge = new KeyBridge({ epochBits: 4, graceMs: 60_000 });
  p.member.on('epoch', (e) => {
    void e.exporter(SFRAME_EXPORTER_LABEL, new Uint8Array(0), 16).then((baseKey) => {
      bridge.installEpoch(e.epoch, baseKey, e.treeSize, e.ownLeafIndex);
      installed.set(e.epoch, e.treeSize);
    });
  });
  return bridge;
}

test('the SFU forwards only SFrame ciphertext under live-epoch KIDs; members decrypt it', async () => {
  const s = await startServer(testConfig({ reconnectGraceMs: 200 }));
  const udp = await udpSocket();
  const bridges: KeyBridge[] = [];
  try {
    const room = 'e2ee';
    const aliceEpochs = new Map<bigint, number>();
    const bobEpochs = new Map<bigint, number>();
    const alice = await new Participant('alice', s.wsUrl, room, mls).connect();
    const aBridge = bridgeFor(alice, aliceEpochs);
    await alice.join();
    const bob = await new Participant('bob', s.wsUrl, room, mls).connect();
    const bBridge = bridgeFor(bob, bobEpochs);
    bridges.push(aBridge, bBridge);
    await bob.join();
    await converge([alice, bob], 1n);
    await waitFor('keys for epoch 1', () => aliceEpochs.has(1n) && bobEpochs.has(1n));

    // alice produces Opus over a comedia PlainTransport.
    const sig = alice.member.signaling;
    const sendT = await sig.request('createPlainTransport', { comedia: true, rtcpMux: true });
    const ssrc = 0x5eed;
    const { producerId } = await sig.request('produce', { transportId: sendT.transportId, kind: 'audio', rtpParameters: OPUS_PRODUCER_RTP(ssrc) as unknown as JsonObject });

    // The observer: in the room, not in the group; its consumer feeds our UDP socket.
    const observer = await RawClient.connect(s.wsUrl);
    const joined = await observer.ok<{ producers: Array<{ producerId: string }>; routerRtpCapabilities: JsonObject }>('join', { room, name: 'observer' });
    assert.deepEqual(joined.producers.map((p) => p.producerId), [producerId]);
    const recvT = await observer.ok<{ transportId: string }>('createPlainTransport', { comedia: false, rtcpMux: true });
    await observer.ok('connectPlainTransport', { transportId: recvT.transportId, ip: '127.0.0.1', port: udp.port });
    const consumer = await observer.ok<{ consumerId: string }>('consume', { transportId: recvT.transportId, producerId, rtpCapabilities: joined.routerRtpCapabilities });
    await observer.ok('resumeConsumer', { consumerId: consumer.consumerId });
    const captured: Uint8Array[] = [];
    udp.on('message', (m) => {
      const rtp = parseRtp(new Uint8Array(m));
      if (rtp) captured.push(rtp.payload);
    });

    const plaintexts = new Map<string, number>();
    let seq = 0;
    const sendFrames = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const frame = concat(utf8('PLAINTEXT-OPUS-FRAME-'), utf8(String(seq).padStart(6, '0')), new Uint8Array(40).fill(0x55));
        plaintexts.set(toHex(frame), seq);
        const payload = await aBridge.encrypt(0, frame);
        udp.send(rtpPacket(100, seq, seq * 960, ssrc, payload), sendT.port, '127.0.0.1');
        seq++;
        await new Promise((r) => setTimeout(r, 4));
      }
    };
    await sendFrames(30);
    // carol joins: epoch 2, alice switches keys mid-stream.
    const carol = await new Participant('carol', s.wsUrl, room, mls).join();
    await converge([alice, bob, carol], 2n);
    await waitFor('keys for epoch 2', () => aliceEpochs.has(2n) && bobEpochs.has(2n));
    await sendFrames(30);
    await waitFor('forwarded frames', () => captured.length >= 55, 5000);

    const aliceLeaf = alice.member.ownLeafIndex!;
    const kidEpochs = new Set<bigint>();
    const marker = toHex(utf8('PLAINTEXT'));
    for (const payload of captured) {
      const h = decodeHeader(payload);
      // A KID of a live epoch: its low E bits name an epoch alice had installed, its index alice's leaf.
      const live = [...aliceEpochs].filter(([epoch, treeSize]) => {
        const k = parseKid(h.kid, senderIndexBits(treeSize), 4);
        return BigInt(k.epochBits) === (epoch & 15n) && k.senderIndex === aliceLeaf && k.context === 0n;
      });
      assert.equal(live.length, 1, `KID ${h.kid} names alice in exactly one live epoch`);
      kidEpochs.add(live[0]![0]);
      assert.equal(toHex(payload).includes(marker), false, 'the plaintext does not appear in what the SFU forwards');
      const r = await bBridge.decrypt(payload);
      assert.ok(r.ok, `bob decrypts it (${!r.ok && r.reason})`);
      assert.ok(plaintexts.has(toHex(r.frame)), 'to one of the frames alice sent');
    }
    assert.deepEqual([...kidEpochs].sort(), [1n, 2n], 'frames from both epochs went through');
    observer.close();
    for (const p of [alice, bob, carol]) p.member.close();
  } finally {
    for (const b of bridges) b.close();
    udp.close();
    await s.close();
  }
});
