// shared/keybridge: RFC 9605 §5.2 KIDs, epoch window and grace period, held frames across rotations,
// removed members, replay and tampering through the bridge, close().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeKid, KeyBridge, ManualClock, parseKid, senderIndexBits, type DecryptResult, type KeyBridgeOptions } from '../../shared/keybridge/index.js';
import { decodeHeader, isSFrameError, nobleBackend, type SFrameBackend, type SFrameErrorCode } from '../../shared/sframe/index.js';
import { nodeSFrameBackend } from '../../server/crypto-node/sframe-node.js';

function key(seed: number, length = 16): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

function bridge(clock: ManualClock, extra: KeyBridgeOptions = {}): KeyBridge {
  return new KeyBridge({ backend: nodeSFrameBackend, clock, ...extra });
}

function ok(r: DecryptResult): Uint8Array {
  assert.ok(r.ok, `expected a decrypted frame, got ${r.ok ? '' : r.reason}`);
  return r.frame;
}

function fails(r: DecryptResult, reason: string): void {
  assert.equal(r.ok, false, `expected ${reason}, frame decrypted`);
  if (!r.ok) assert.equal(r.reason, reason);
}

async function rejectsWith(p: Promise<unknown>, code: SFrameErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => isSFrameError(e, code));
}

/** Lets queued microtasks (held-frame draining) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

test('RFC 9605 §5.2 KID examples (E=4, S=6)', () => {
  assert.equal(senderIndexBits(64), 6);
  assert.equal(senderIndexBits(33), 6);
  assert.equal(senderIndexBits(1), 0);
  assert.equal(senderIndexBits(2), 1);
  assert.equal(senderIndexBits(3), 2);
  const cases: [bigint, number, bigint, bigint][] = [
    [14n, 3, 0n, 0x3en],
    [14n, 7, 0n, 0x7en],
    [14n, 20, 0n, 0x14en],
    [15n, 3, 0n, 0x3fn],
    [15n, 5, 0n, 0x5fn],
    [16n, 2, 2n, 0x820n],
    [16n, 2, 3n, 0xc20n],
    [17n, 33, 0n, 0x211n],
    [17n, 51, 0n, 0x331n],
  ];
  for (const [epoch, index, context, kid] of cases) {
    assert.equal(composeKid(context, index, epoch, 6, 4), kid, `epoch ${epoch} index ${index} context ${context}`);
    assert.deepEqual(parseKid(kid, 6, 4), { context, senderIndex: index, epochBits: Number(epoch % 16n) });
  }
  assert.throws(() => composeKid(0n, 64, 1n, 6, 4), RangeError);
  assert.throws(() => composeKid(1n << 54n, 0, 1n, 6, 4), RangeError);
});

test('the bridge puts the §5.2 KID in the header: epoch 14 index 3 -> 0x3e, epoch 16 index 2 context 2 -> 0x820', async () => {
  const clock = new ManualClock();
  const a = bridge(clock);
  a.installEpoch(14n, key(1), 64, 3);
  assert.equal(a.ownKid(0), 0x3en);
  assert.equal(decodeHeader(await a.encrypt(0, new Uint8Array(3))).kid, 0x3en);
  a.installEpoch(16n, key(2), 64, 2);
  assert.equal(decodeHeader(await a.encrypt(2, new Uint8Array(3))).kid, 0x820n);
  assert.equal(decodeHeader(await a.encrypt(3n, new Uint8Array(3))).kid, 0xc20n);
  a.close();
});

test('round trip between members, per-stream contexts have separate counters, base key length checked', async () => {
  for (const suite of [1, 2, 3, 4, 5] as const) {
    const clock = new ManualClock();
    const nk = suite <= 3 ? 48 : suite === 4 ? 16 : 32;
    const alice = bridge(clock, { suite, backend: nobleBackend });
    const bob = bridge(clock, { suite });
    assert.throws(() => alice.installEpoch(1n, key(1, nk + 1), 3, 0), RangeError);
    alice.installEpoch(1n, key(1, nk), 3, 0);
    bob.installEpoch(1n, key(1, nk), 3, 1);
    const md = new Uint8Array([1, 2]);
    const audio = [await alice.encrypt(0, new Uint8Array([10]), md), await alice.encrypt(0, new Uint8Array([11]), md)];
    const video = [await alice.encrypt(1, new Uint8Array([20]), md)];
    assert.deepEqual(audio.map((f) => decodeHeader(f).ctr), [0n, 1n]);
    assert.equal(decodeHeader(video[0]!).ctr, 0n);
    assert.notEqual(decodeHeader(video[0]!).kid, decodeHeader(audio[0]!).kid);
    const r = await bob.decrypt(video[0]!, md);
    assert.ok(r.ok);
    assert.equal(r.senderIndex, 0);
    assert.equal(r.context, 1n);
    assert.equal(r.epoch, 1n);
    assert.deepEqual(r.frame, new Uint8Array([20]));
    assert.deepEqual(ok(await bob.decrypt(audio[1]!, md)), new Uint8Array([11]));
    assert.deepEqual(ok(await bob.decrypt(audio[0]!, md)), new Uint8Array([10]));
    // A member never decrypts its own KIDs (keys are for encryption or decryption, never both).
    fails(await alice.decrypt(audio[0]!, md), 'own-kid');
    const s = bob.stats();
    assert.equal(s.decrypted, 3);
    assert.equal(alice.stats().encrypted, 3);
    alice.close();
    bob.close();
  }
});

test('replayed frame rejected; tampered header, ciphertext or metadata rejected; malformed counted', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  const bob = bridge(clock);
  alice.installEpoch(3n, key(3), 2, 0);
  bob.installEpoch(3n, key(3), 2, 1);
  const md = new Uint8Array([7, 7]);
  const frames = [];
  for (let i = 0; i < 10; i++) frames.push(await alice.encrypt(1, new Uint8Array(100).fill(i), md));
  ok(await bob.decrypt(frames[0]!, md));
  fails(await bob.decrypt(frames[0]!, md), 'replay');

  const f = frames[1]!;
  const hlen = decodeHeader(f).length;
  const hdr = f.slice();
  hdr[0]! ^= 0x01; // config byte: inline CTR 1 -> 0
  fails(await bob.decrypt(hdr, md), 'auth-failed');
  const kidFlip = f.slice();
  kidFlip[1]! ^= 0x40; // KID context bit: same epoch, another (unused) stream KID
  fails(await bob.decrypt(kidFlip, md), 'auth-failed');
  const body = f.slice();
  body[hlen + 10]! ^= 0xff;
  fails(await bob.decrypt(body, md), 'auth-failed');
  fails(await bob.decrypt(f, new Uint8Array([7, 8])), 'auth-failed');
  fails(await bob.decrypt(new Uint8Array([0x80]), md), 'malformed');
  fails(await bob.decrypt(f.subarray(0, hlen + 4), md), 'malformed');
  // The genuine frame still decrypts: failures never moved the window.
  ok(await bob.decrypt(f, md));
  const s = bob.stats();
  assert.equal(s.replayed, 1);
  assert.equal(s.authFailed, 4);
  assert.equal(s.malformed, 2);
  assert.equal(s.decrypted, 2);
  alice.close();
  bob.close();
});

test('rotation: old-epoch frames arriving late and new-epoch frames arriving early all decrypt', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  const bob = bridge(clock);
  alice.installEpoch(1n, key(1), 2, 0);
  bob.installEpoch(1n, key(1), 2, 1);
  const old = [];
  for (let i = 0; i < 5; i++) old.push(await alice.encrypt(1, new Uint8Array([1, i])));
  alice.installEpoch(2n, key(2), 2, 0); // alice processed the commit first
  const early = [];
  for (let i = 0; i < 5; i++) early.push(await alice.encrypt(1, new Uint8Array([2, i])));
  // Bob sees the early epoch-2 frames before he has epoch 2: they are held, in order.
  const pending = early.map((f) => bob.decrypt(f));
  clock.advance(100);
  assert.equal(bob.stats().heldNow, 5);
  bob.installEpoch(2n, key(2), 2, 1);
  const results = await Promise.all(pending);
  results.forEach((r, i) => {
    assert.deepEqual(ok(r), new Uint8Array([2, i]));
    assert.ok(r.ok && r.held);
  });
  // Late epoch-1 frames still decrypt inside the grace period.
  clock.advance(1500);
  for (let i = 0; i < 5; i++) assert.deepEqual(ok(await bob.decrypt(old[i]!)), new Uint8Array([1, i]));
  const s = bob.stats();
  assert.equal(s.decrypted, 10);
  assert.equal(s.heldThenDecrypted, 5);
  assert.deepEqual(s.epochs, [1n, 2n]);
  // After the grace period epoch 1 is gone (keys wiped) and its frames are dropped.
  clock.advance(600);
  assert.deepEqual(bob.stats().epochs, [2n]);
  const late = await alice.decrypt(old[0]!); // alice's own view: expired too
  fails(late, 'expired-epoch');
  fails(await bob.decrypt(old[0]!), 'expired-epoch');
  alice.close();
  bob.close();
});

test('held frames resolve in arrival order, later frames of that epoch queue behind them', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock, { backend: nobleBackend });
  const bob = bridge(clock);
  alice.installEpoch(8n, key(8), 4, 2);
  const frames = [];
  for (let i = 0; i < 20; i++) frames.push(await alice.encrypt(0, new Uint8Array([i])));
  const order: number[] = [];
  const pending = frames.slice(0, 15).map((f, i) => bob.decrypt(f).then((r) => (order.push(i), r)));
  bob.installEpoch(8n, key(8), 4, 0);
  const after = frames.slice(15).map((f, i) => bob.decrypt(f).then((r) => (order.push(15 + i), r)));
  const all = await Promise.all([...pending, ...after]);
  all.forEach((r, i) => assert.deepEqual(ok(r), new Uint8Array([i])));
  assert.deepEqual(order, Array.from({ length: 20 }, (_, i) => i));
  assert.equal(bob.stats().heldThenDecrypted, 15);
  alice.close();
  bob.close();
});

test('hold expiry and overflow: dropped and counted, never lost silently', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  const bob = bridge(clock, { holdMs: 500, holdMaxFrames: 4 });
  alice.installEpoch(5n, key(5), 2, 0);
  bob.installEpoch(4n, key(4), 2, 1);
  const frames = [];
  for (let i = 0; i < 6; i++) frames.push(await alice.encrypt(0, new Uint8Array([i])));
  const pending = frames.map((f) => bob.decrypt(f));
  // 6 frames into a hold of 4: the two oldest are dropped at once.
  fails(await pending[0]!, 'hold-overflow');
  fails(await pending[1]!, 'hold-overflow');
  clock.advance(499);
  assert.equal(bob.stats().heldNow, 4);
  clock.advance(1);
  for (const p of pending.slice(2)) fails(await p, 'unknown-epoch-timeout');
  const s = bob.stats();
  assert.equal(s.dropped['hold-overflow'], 2);
  assert.equal(s.dropped['unknown-epoch-timeout'], 4);
  assert.equal(s.heldNow, 0);
  alice.close();
  bob.close();
});


test('held frames are bounded in bytes too: the oldest make room, a frame over the budget is never held', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  // Each frame below is 1000 plaintext bytes plus the SFrame header and tag, so about 1020 bytes.
  const bob = bridge(clock, { holdMs: 500, holdMaxFrames: 100, holdMaxBytes: 2500 });
  alice.installEpoch(5n, key(5), 2, 0);
  bob.installEpoch(4n, key(4), 2, 1);
  const frames = [];
  for (let i = 0; i < 3; i++) frames.push(await alice.encrypt(0, new Uint8Array(1000).fill(i)));
  const big = await alice.encrypt(0, new Uint8Array(3000));
  const pending = frames.map((f) => bob.decrypt(f));
  // Three frames of ~1020 bytes into 2500 bytes: the oldest goes at once.
  fails(await pending[0]!, 'hold-overflow');
  const s = bob.stats();
  assert.equal(s.heldNow, 2);
  assert.equal(s.heldBytesNow, frames[1]!.length + frames[2]!.length);
  fails(await bob.decrypt(big), 'hold-overflow');
  assert.equal(bob.stats().heldNow, 2, 'an oversize frame displaces nothing');
  // The epoch arrives: the two held frames decrypt, in order, and the budget is free again.
  bob.installEpoch(5n, key(5), 2, 1);
  const r1 = await pending[1]!;
  const r2 = await pending[2]!;
  assert.ok(r1.ok && r2.ok && r1.held && r2.held);
  assert.deepEqual([r1.frame[0], r2.frame[0]], [1, 2]);
  assert.equal(bob.stats().heldBytesNow, 0);
  assert.throws(() => new KeyBridge({ holdMaxBytes: -1 }), RangeError);
  alice.close();
  bob.close();
});
test('a removed member cannot decrypt frames of a later epoch, and its old keys stop working after the grace period', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  const bob = bridge(clock);
  const carol = bridge(clock);
  alice.installEpoch(1n, key(1), 3, 0);
  bob.installEpoch(1n, key(1), 3, 1);
  carol.installEpoch(1n, key(1), 3, 2);
  ok(await bob.decrypt(await carol.encrypt(0, new Uint8Array([1]))));
  // Carol is removed: epoch 2's base key is known only to alice and bob.
  alice.installEpoch(2n, key(2), 3, 0);
  bob.installEpoch(2n, key(2), 3, 1);
  const secret = await alice.encrypt(1, new Uint8Array([42]));
  ok(await bob.decrypt(secret));
  // Carol has no epoch 2: the frame is held, then dropped.
  const held = carol.decrypt(secret);
  clock.advance(500);
  fails(await held, 'unknown-epoch-timeout');
  // Even with a guessed epoch-2 base key, the tag does not verify.
  const guess = new KeyBridge({ backend: nodeSFrameBackend, clock });
  guess.installEpoch(2n, key(99), 3, 2);
  fails(await guess.decrypt(secret), 'auth-failed');
  // Carol keeps sending under epoch 1: accepted within the grace period, rejected after it.
  ok(await bob.decrypt(await carol.encrypt(0, new Uint8Array([2]))));
  clock.advance(2000);
  fails(await bob.decrypt(await carol.encrypt(0, new Uint8Array([3]))), 'expired-epoch');
  assert.equal(bob.stats().dropped['expired-epoch'], 1);
  for (const b of [alice, bob, carol, guess]) b.close();
});

test('at most 2^E epochs: installing an epoch removes the one with the same low E bits (§5.2 MUST)', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock, { epochBits: 2, graceMs: 60_000 });
  const bob = bridge(clock, { epochBits: 2, graceMs: 60_000 });
  alice.installEpoch(0n, key(0), 2, 0);
  bob.installEpoch(0n, key(0), 2, 1);
  const e0 = await alice.encrypt(0, new Uint8Array([0]));
  for (let e = 1n; e <= 3n; e++) {
    alice.installEpoch(e, key(Number(e)), 2, 0);
    bob.installEpoch(e, key(Number(e)), 2, 1);
  }
  assert.deepEqual(bob.stats().epochs, [0n, 1n, 2n, 3n]);
  alice.installEpoch(4n, key(4), 2, 0);
  bob.installEpoch(4n, key(4), 2, 1);
  assert.deepEqual(bob.stats().epochs, [1n, 2n, 3n, 4n]);
  // Epoch 0's frame now maps to epoch 4's slot: it no longer authenticates.
  fails(await bob.decrypt(e0), 'auth-failed');
  assert.throws(() => bob.installEpoch(0n, key(0), 2, 1), (e: unknown) => isSFrameError(e, 'invalid-state'));
  ok(await bob.decrypt(await alice.encrypt(0, new Uint8Array([4]))));
  alice.close();
  bob.close();
});

test('encrypt needs an epoch; close() wipes keys, drops held frames, clears timers, is idempotent', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  await rejectsWith(alice.encrypt(0, new Uint8Array(1)), 'no-epoch');
  const bob = bridge(clock);
  alice.installEpoch(1n, key(1), 2, 0);
  alice.installEpoch(2n, key(2), 2, 0);
  const f = await alice.encrypt(0, new Uint8Array([1]));
  const held = bob.decrypt(f);
  assert.ok(clock.pendingTimers > 0);
  bob.close();
  fails(await held, 'closed');
  alice.close();
  alice.close();
  assert.equal(clock.pendingTimers, 0);
  await rejectsWith(alice.encrypt(0, new Uint8Array(1)), 'closed');
  fails(await alice.decrypt(f), 'closed');
  assert.throws(() => alice.installEpoch(3n, key(3), 2, 0), (e: unknown) => isSFrameError(e, 'closed'));
  await assert.rejects(bob.decrypt('x' as unknown as Uint8Array), TypeError);
  assert.throws(() => new KeyBridge({ epochBits: 0 }), RangeError);
  assert.throws(() => new KeyBridge({ holdMs: -1 }), RangeError);
});

test('frames from senders outside the tree are dropped as unknown-sender', async () => {
  const clock = new ManualClock();
  const mallory = bridge(clock);
  const bob = bridge(clock);
  mallory.installEpoch(1n, key(1), 8, 6); // thinks the tree has 8 leaves
  bob.installEpoch(1n, key(1), 5, 1); // S = 3 for both
  fails(await bob.decrypt(await mallory.encrypt(0, new Uint8Array(1))), 'unknown-sender');
  mallory.close();
  bob.close();
});

test('keys of removed epochs are destroyed: after the grace period, on same-slot replacement, and on close()', async () => {
  let live = 0;
  const counting: SFrameBackend = {
    name: 'counting',
    hkdfExtract: (h, s, i) => nodeSFrameBackend.hkdfExtract(h, s, i),
    hkdfExpand: (h, p, i, l) => nodeSFrameBackend.hkdfExpand(h, p, i, l),
    async importAead(suite, k) {
      const inner = await nodeSFrameBackend.importAead(suite, k);
      live++;
      let destroyed = false;
      return {
        seal: (n, a, p, x) => inner.seal(n, a, p, x),
        open: (n, a, c) => inner.open(n, a, c),
        destroy() {
          if (!destroyed) live--;
          destroyed = true;
          inner.destroy();
        },
      };
    },
  };
  const clock = new ManualClock();
  const alice = new KeyBridge({ backend: counting, clock, epochBits: 1 });
  const bob = new KeyBridge({ backend: counting, clock, epochBits: 1 });
  alice.installEpoch(1n, key(1), 2, 0);
  bob.installEpoch(1n, key(1), 2, 1);
  ok(await bob.decrypt(await alice.encrypt(0, new Uint8Array(1))));
  assert.equal(live, 2); // alice's send key, bob's receive key
  alice.installEpoch(2n, key(2), 2, 0);
  bob.installEpoch(2n, key(2), 2, 1);
  ok(await bob.decrypt(await alice.encrypt(0, new Uint8Array(1))));
  assert.equal(live, 4);
  clock.advance(2000); // epoch 1's grace period ends
  await settle();
  assert.equal(live, 2);
  alice.installEpoch(4n, key(4), 2, 0); // same low bit as epoch 2: replaces it at once
  await settle();
  assert.equal(live, 1); // alice's epoch-2 send key is gone; bob still holds epoch 2
  alice.close();
  bob.close();
  await settle();
  assert.equal(live, 0);
});

test('removeEpochsBefore wipes older epochs at once (no grace period)', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  const bob = bridge(clock);
  alice.installEpoch(1n, key(1), 2, 0);
  bob.installEpoch(1n, key(1), 2, 1);
  const old = await alice.encrypt(0, new Uint8Array([1]));
  alice.installEpoch(2n, key(2), 2, 0);
  bob.installEpoch(2n, key(2), 2, 1);
  assert.equal(bob.removeEpochsBefore(2n), 1);
  assert.deepEqual(bob.stats().epochs, [2n]);
  fails(await bob.decrypt(old), 'expired-epoch');
  assert.equal(bob.removeEpochsBefore(3n), 1); // the current epoch too, when asked
  await rejectsWith(bob.encrypt(0, new Uint8Array(1)), 'no-epoch');
  alice.close();
  bob.close();
});

test('a newcomer drops frames sent before it joined at once (before-join), never holding them', async () => {
  const clock = new ManualClock();
  const alice = bridge(clock);
  const carol = bridge(clock, { holdMs: 1500 });
  // Alice is at epoch 9 when Carol's Welcome (epoch 10) is on its way; her epoch-9 frames reach Carol first.
  alice.installEpoch(9n, key(9), 3, 0);
  const before = [await alice.encrypt(0, new Uint8Array([1])), await alice.encrypt(0, new Uint8Array([2]))];
  const early = carol.decrypt(before[0]!); // nothing installed yet: held (it could be Carol's first epoch)
  assert.equal(carol.stats().heldNow, 1);
  carol.installEpoch(10n, key(10), 3, 2);
  // Installing epoch 10 shows the held frame belongs to epoch 9: dropped now, not after holdMs.
  fails(await early, 'before-join');
  assert.equal(carol.stats().heldNow, 0);
  // A later frame of epoch 9 is dropped without waiting either.
  fails(await carol.decrypt(before[1]!), 'before-join');
  // ... and Alice's epoch-10 frames decrypt.
  alice.installEpoch(10n, key(10), 3, 0);
  assert.deepEqual(ok(await carol.decrypt(await alice.encrypt(0, new Uint8Array([3])))), new Uint8Array([3]));
  // A frame of the next epoch is still held until its key arrives.
  alice.installEpoch(11n, key(11), 3, 0);
  const next = carol.decrypt(await alice.encrypt(0, new Uint8Array([4])));
  assert.equal(carol.stats().heldNow, 1);
  assert.equal(carol.hasEpochFor(alice.ownKid(0)), false);
  carol.installEpoch(11n, key(11), 3, 2);
  assert.equal(carol.hasEpochFor(alice.ownKid(0)), true);
  assert.deepEqual(ok(await next), new Uint8Array([4]));
  const s = carol.stats();
  assert.equal(s.dropped['before-join'], 2);
  assert.equal(s.dropped['unknown-epoch-timeout'], 0);
  assert.equal(s.dropped['expired-epoch'], 0);
  // A member that was there (first epoch 9) calls an epoch it dropped after the grace period expired.
  const bob = bridge(clock, { graceMs: 100 });
  bob.installEpoch(9n, key(9), 3, 1);
  bob.installEpoch(10n, key(10), 3, 1);
  clock.advance(101);
  fails(await bob.decrypt(before[1]!), 'expired-epoch');
  for (const b of [alice, bob, carol]) b.close();
});
