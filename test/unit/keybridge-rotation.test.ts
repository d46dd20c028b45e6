// An in-memory call (4 members, simulated clock, jittered and reordered delivery) across two rotations, the
// second removing a member: zero frames lost among the remaining members, and the removed member loses access.
import { prng } from '../support/prng.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyBridge, ManualClock, type DecryptResult } from '../../shared/keybridge/index.js';
import { nodeSFrameBackend } from '../../server/crypto-node/sframe-node.js';


function baseKey(epoch: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (epoch * 41 + i * 3) & 0xff);
}

interface Delivery {
  from: number;
  to: number;
  sentAt: number;
  epochAtSend: bigint;
  result: Promise<DecryptResult>;
}

test('two rotations with skewed commit delivery and jitter: no frame lost among members, removed member cut off', async () => {
  const rand = prng(9605);
  const clock = new ManualClock();
  const members = [0, 1, 2, 3];
  const REMOVED = 3;
  const bridges = members.map(() => new KeyBridge({ backend: nodeSFrameBackend, clock }));
  // Events: [time, order, action]
  const events: [number, number, () => Promise<void> | void][] = [];
  let seq = 0;
  const at = (t: number, fn: () => Promise<void> | void) => events.push([t, seq++, fn]);

  // Epoch 1 at t=0; epoch 2 (someone joins, same tree of 4) around t=1000; epoch 3 (member 3 removed) around
  // t=2000. Each member applies a commit 0-300 ms after the first one did (DS fan-out skew).
  for (const m of members) at(0, () => bridges[m]!.installEpoch(1n, baseKey(1), 4, m));
  for (const m of members) at(1000 + Math.floor(rand() * 300), () => bridges[m]!.installEpoch(2n, baseKey(2), 4, m));
  for (const m of members) if (m !== REMOVED) at(2000 + Math.floor(rand() * 300), () => bridges[m]!.installEpoch(3n, baseKey(3), 4, m));

  // Every member sends audio (every 20 ms) and video (every 33 ms); each frame reaches every other member after
  // 5-80 ms, so frames are reordered.
  const deliveries: Delivery[] = [];
  let frameNo = 0;
  for (const from of members) {
    for (const [ctx, period] of [[0, 20], [1, 33]] as const) {
      for (let t = 1 + from; t < 3000; t += period) {
        at(t, async () => {
          const n = frameNo++;
          const payload = new Uint8Array([from, ctx, n & 0xff, (n >> 8) & 0xff]);
          const epochAtSend = bridges[from]!.currentEpoch!;
          const sframe = await bridges[from]!.encrypt(ctx, payload);
          for (const to of members) {
            if (to === from) continue;
            at(t + 5 + Math.floor(rand() * 75), () => {
              deliveries.push({ from, to, sentAt: t, epochAtSend, result: bridges[to]!.decrypt(sframe) });
            });
          }
        });
      }
    }
  }

  // Run the timeline in time order (events scheduled while running are picked up).
  while (events.length > 0) {
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const [t, , fn] = events.shift()!;
    if (t > clock.now()) clock.advance(t - clock.now());
    await fn();
  }
  clock.advance(5000); // let every hold and grace period run out
  const results = await Promise.all(deliveries.map((d) => d.result));

  let lostAmongMembers = 0;
  let removedReadNewEpoch = 0;
  let removedFramesAcceptedLate = 0;
  const reasons: Record<string, number> = {};
  results.forEach((r, i) => {
    const d = deliveries[i]!;
    if (!r.ok) reasons[r.reason] = (reasons[r.reason] ?? 0) + 1;
    if (d.from !== REMOVED && d.to !== REMOVED && !r.ok) lostAmongMembers++;
    if (d.to === REMOVED && d.epochAtSend === 3n && r.ok) removedReadNewEpoch++;
    // The removed member keeps sending under epoch 2; after the others' grace period it must stop working.
    if (d.from === REMOVED && r.ok && d.sentAt > 2300 + 2000 + 80) removedFramesAcceptedLate++;
  });
  const heldThenDecrypted = bridges.reduce((s, b) => s + b.stats().heldThenDecrypted, 0);
  assert.equal(lostAmongMembers, 0, `lost frames among members: ${JSON.stringify(reasons)}`);
  assert.equal(removedReadNewEpoch, 0);
  assert.equal(removedFramesAcceptedLate, 0);
  assert.ok(heldThenDecrypted > 0, 'the skew made some frames wait for their epoch');
  assert.ok((reasons['unknown-epoch-timeout'] ?? 0) > 0, 'the removed member never got epoch 3');
  // Every delivered frame was decrypted at most once (no replays accepted).
  const seen = new Set<string>();
  results.forEach((r, i) => {
    if (!r.ok) return;
    const key = `${deliveries[i]!.to}:${r.kid}:${r.ctr}`;
    assert.ok(!seen.has(key), `accepted twice: ${key}`);
    seen.add(key);
  });
  for (const b of bridges) b.close();
});
