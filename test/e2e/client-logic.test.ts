// Browser-free checks of the client's per-frame logic (runs in Node, no browser): clear-prefix rules,
// the worker's FrameCipher over the real key bridge (round trip, tamper, replay, no key = no frame),
// and the security code format.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { securityCode } from '../../client/app/securityCode.js';
import { createFrameCipher } from '../../client/worker/keybridge-cipher.js';
import { clearPrefixLength, codecFamily, isKeyframe } from '../../client/worker/prefix.js';
import { decodeHeader } from '../../shared/sframe/header.js';

test('clear prefix: VP8 keeps 10 bytes on keyframes, 1 on delta frames; Opus and VP9 none', () => {
  const key = new Uint8Array(40).fill(0xaa);
  key[0] = 0x10; // P bit 0: keyframe
  const delta = new Uint8Array(40).fill(0xaa);
  delta[0] = 0x11; // P bit 1: delta frame
  assert.equal(clearPrefixLength('vp8', key), 10);
  assert.equal(clearPrefixLength('vp8', delta), 1);
  assert.equal(isKeyframe('vp8', key), true);
  assert.equal(isKeyframe('vp8', delta), false);
  assert.equal(clearPrefixLength('vp8', new Uint8Array([0x10, 1, 2])), 3, 'never longer than the frame');
  assert.equal(clearPrefixLength('opus', key), 0);
  assert.equal(clearPrefixLength('vp9', key), 0);
  assert.equal(codecFamily('video/VP8', 'video'), 'vp8');
  assert.equal(codecFamily('', 'audio'), 'opus');
  assert.equal(codecFamily('audio/opus', 'audio'), 'opus');
});

test('clear prefix: H.264 keeps NAL headers up to the first slice header', () => {
  // SPS (7), PPS (8), IDR slice (5) with a payload
  const f = new Uint8Array([0, 0, 0, 1, 0x67, 9, 9, 0, 0, 0, 1, 0x68, 8, 0, 0, 1, 0x65, 1, 2, 3, 4]);
  assert.equal(clearPrefixLength('h264', f), 17);
  assert.equal(isKeyframe('h264', f), true);
  const nonIdr = new Uint8Array([0, 0, 0, 1, 0x41, 5, 6, 7]);
  assert.equal(clearPrefixLength('h264', nonIdr), 5);
  assert.equal(isKeyframe('h264', nonIdr), false);
});

test('worker cipher: sender and receiver round trip with metadata; tamper, replay and no-key are refused', async () => {
  const base = new Uint8Array(16).fill(3);
  const alice = createFrameCipher();
  const bob = createFrameCipher();
  const frame = new Uint8Array(200).map((_, i) => i & 0xff);
  const meta = frame.subarray(0, 10);
  assert.equal(await alice.protect(1, frame.subarray(10), meta), null, 'no epoch: protect returns null (the frame is dropped)');
  await alice.installEpoch(5n, base.slice(), 3, 0);
  await bob.installEpoch(5n, base.slice(), 3, 1);
  const p = await alice.protect(1, frame.subarray(10), meta);
  assert.ok(p);
  assert.equal(p.epoch, 5n);
  const h = decodeHeader(p.data);
  assert.equal(h.kid, p.kid);
  assert.equal(bob.isLiveKid(h.kid), true);
  assert.ok(!p.data.subarray(h.length).some((_, i, a) => i + 20 <= a.length && a.subarray(i, i + 20).every((b, j) => b === frame[10 + j])), 'no plaintext run');
  const r = await bob.unprotect(p.data, meta);
  assert.ok(r.ok);
  assert.deepEqual(r.plaintext, frame.subarray(10));
  const replay = await bob.unprotect(p.data, meta);
  assert.equal(replay.ok, false);
  assert.equal(!replay.ok && replay.reason, 'replay');
  const p2 = (await alice.protect(1, frame.subarray(10), meta))!;
  const badMeta = meta.slice();
  badMeta[0]! ^= 1;
  const t1 = await bob.unprotect(p2.data, badMeta);
  assert.equal(!t1.ok && t1.reason, 'auth', 'metadata (the clear prefix) is authenticated');
  const tampered = p2.data.slice();
  tampered[tampered.length - 1]! ^= 0x80;
  const t2 = await bob.unprotect(tampered, meta);
  assert.equal(!t2.ok && t2.reason, 'auth', 'a flipped ciphertext bit is refused');
  alice.close();
  bob.close();
});

test('worker cipher: a rotation loses no frames (grace for the old epoch, hold for the new one)', async () => {
  const k5 = new Uint8Array(16).fill(5);
  const k6 = new Uint8Array(16).fill(6);
  const alice = createFrameCipher();
  const bob = createFrameCipher();
  await alice.installEpoch(5n, k5.slice(), 2, 0);
  await bob.installEpoch(5n, k5.slice(), 2, 1);
  const old = (await alice.protect(0, new Uint8Array([1, 2, 3]), new Uint8Array(0)))!;
  await alice.installEpoch(6n, k6.slice(), 2, 0);
  const fresh = (await alice.protect(0, new Uint8Array([4, 5, 6]), new Uint8Array(0)))!;
  assert.equal(fresh.epoch, 6n);
  // Bob gets the new-epoch frame before he processed the commit: it is held, then decrypted.
  const pending = bob.unprotect(fresh.data, new Uint8Array(0));
  await bob.installEpoch(6n, k6.slice(), 2, 1);
  const r1 = await pending;
  assert.ok(r1.ok && r1.held, 'held frame decrypted once the epoch arrived');
  // A late frame of the previous epoch still decrypts within the grace period.
  const r2 = await bob.unprotect(old.data, new Uint8Array(0));
  assert.ok(r2.ok && r2.epoch === 5n);
  alice.close();
  bob.close();
});

test('security code: 5 groups of 5 digits, equal for equal authenticators, different otherwise', async () => {
  const a = new Uint8Array(32).fill(1);
  const b = new Uint8Array(32).fill(2);
  const ca = await securityCode(a);
  assert.match(ca, /^\d{5} \d{5} \d{5} \d{5} \d{5}$/);
  assert.equal(await securityCode(a.slice()), ca);
  assert.notEqual(await securityCode(b), ca);
  await assert.rejects(securityCode(new Uint8Array(4)), RangeError);
});
