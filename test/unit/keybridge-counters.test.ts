// Nonce uniqueness and restart safety: no two frames ever share (key, nonce), across 10^6 encryptions,
// streams, rotations, concurrent calls and restarts (RFC 9605 §4.3, §7.5, Appendix B.1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { KeyBridge, ManualClock, MemoryCounterStore, type CounterStore } from '../../shared/keybridge/index.js';
import { decodeHeader, isSFrameError, type SFrameAead, type SFrameBackend, type SFrameErrorCode } from '../../shared/sframe/index.js';
import { nodeSFrameBackend } from '../../server/crypto-node/sframe-node.js';

function key(seed: number): Uint8Array {
  return Uint8Array.from({ length: 16 }, (_, i) => (seed * 13 + i) & 0xff);
}

async function rejectsWith(p: Promise<unknown>, code: SFrameErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => isSFrameError(e, code));
}

/**
 * A backend that records every (key, nonce) the AEAD is asked to seal with. Key derivation is real (node:crypto
 * HKDF); the AEAD itself is a trivial copy, so 10^6 frames stay fast: nonce uniqueness is what is tested.
 */
function recordingBackend() {
  // (key, nonce) as numbers where possible: per key, nonces that share the first nonce's high 64 bits are told
  // apart by their low 32 bits (key index * 2^32 + low 32 fits a double exactly); any other nonce goes into a
  // bigint set of full 96-bit values. Together this is an exact uniqueness check at a fraction of the cost.
  const seenLow = new Set<number>();
  const seenFull = new Set<bigint>();
  let keys = 0;
  let sealed = 0;
  let duplicates = 0;
  const backend: SFrameBackend = {
    name: 'recording',
    hkdfExtract: (h, s, i) => nodeSFrameBackend.hkdfExtract(h, s, i),
    hkdfExpand: (h, p, i, l) => nodeSFrameBackend.hkdfExpand(h, p, i, l),
    async importAead(suite, k): Promise<SFrameAead> {
      const keyIndex = ++keys;
      let hi0: number | undefined;
      let hi1: number | undefined;
      void k;
      return {
        async seal(nonce, _aad, pt, prefix) {
          const v = new DataView(nonce.buffer, nonce.byteOffset, 12);
          const a = v.getUint32(0);
          const b = v.getUint32(4);
          const lo = v.getUint32(8);
          if (hi0 === undefined) {
            hi0 = a;
            hi1 = b;
          }
          const before = seenLow.size + seenFull.size;
          if (a === hi0 && b === hi1) seenLow.add(keyIndex * 2 ** 32 + lo);
          else seenFull.add((BigInt(keyIndex) << 96n) | (BigInt(a) << 64n) | (BigInt(b) << 32n) | BigInt(lo));
          if (seenLow.size + seenFull.size === before) duplicates++;
          sealed++;
          const out = new Uint8Array(prefix.length + pt.length + suite.Nt);
          out.set(prefix);
          out.set(pt, prefix.length);
          return out;
        },
        async open() {
          return null;
        },
        destroy() {},
      };
    },
  };
  return { backend, stats: () => ({ keys, sealed, duplicates, distinct: seenLow.size + seenFull.size }) };
}

const NONCE_FRAMES = 1_000_000;

/**
 * The 10^6-frame run. It executes in a child process: node:test (Node 20) tracks async context through every
 * promise, which makes this promise-heavy loop ~20x slower inside the test runner than in a plain process.
 */
async function nonceRun() {
  const rec = recordingBackend();
  const clock = new ManualClock();
  const bridge = new KeyBridge({ backend: rec.backend, clock });
  const frame = new Uint8Array(1);
  const batch = 2000;
  const lastCtr = new Map<bigint, bigint>(); // KID -> last CTR (the 4 epochs differ in their low E bits)
  let notIncreasing = 0;
  let epoch = 1n;
  bridge.installEpoch(epoch, key(1), 4, 2);
  for (let done = 0; done < NONCE_FRAMES; done += batch) {
    if (done > 0 && done % 250_000 === 0) bridge.installEpoch(++epoch, key(Number(epoch)), 4, 2);
    const outs = await Promise.all(Array.from({ length: batch }, (_, i) => bridge.encrypt((done + i) % 3, frame)));
    // Counters are taken synchronously in call order: per KID they strictly increase.
    for (const out of outs) {
      const h = decodeHeader(out);
      const prev = lastCtr.get(h.kid);
      if (prev !== undefined && h.ctr <= prev) notIncreasing++;
      lastCtr.set(h.kid, h.ctr);
    }
  }
  bridge.close();
  return { ...rec.stats(), kids: lastCtr.size, notIncreasing };
}

if (process.env.SFRAME_NONCE_RUN === '1') {
  process.stdout.write(JSON.stringify(await nonceRun()));
  process.exit(0);
}

test('10^6 encryptions over 3 streams, 4 epochs and concurrent calls: no (key, nonce) pair repeats', () => {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, SFRAME_NONCE_RUN: '1' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  const r = JSON.parse(out) as { sealed: number; duplicates: number; distinct: number; keys: number; kids: number; notIncreasing: number };
  assert.equal(r.sealed, NONCE_FRAMES);
  assert.equal(r.duplicates, 0);
  assert.equal(r.distinct, NONCE_FRAMES);
  assert.equal(r.notIncreasing, 0);
  assert.equal(r.keys, 12); // 3 stream KIDs x 4 epochs, each key imported once
  assert.equal(r.kids, 12);
});

test('restart without a counter store: a restored epoch is decrypt-only; a fresh epoch encrypts again', async () => {
  const clock = new ManualClock();
  const before = new KeyBridge({ backend: nodeSFrameBackend, clock });
  before.installEpoch(7n, key(7), 2, 0);
  const sent = await before.encrypt(0, new Uint8Array([1]));
  before.close(); // the process "restarts"; the MLS state (and so the base key) was persisted

  const after = new KeyBridge({ backend: nodeSFrameBackend, clock });
  after.installEpoch(7n, key(7), 2, 0, { restored: true });
  await rejectsWith(after.encrypt(0, new Uint8Array([1])), 'counter-not-persisted');
  // Receiving still works under the restored epoch.
  const bob = new KeyBridge({ backend: nodeSFrameBackend, clock });
  bob.installEpoch(7n, key(7), 2, 1);
  const fromBob = await bob.encrypt(0, new Uint8Array([9]));
  const r = await after.decrypt(fromBob);
  assert.ok(r.ok);
  // The recovery: a new epoch (new commit) means new keys and counters from 0.
  after.installEpoch(8n, key(8), 2, 0);
  const out = await after.encrypt(0, new Uint8Array([1]));
  assert.equal(decodeHeader(out).ctr, 0n);
  void sent;
  for (const b of [after, bob]) b.close();
});

test('re-installing an epoch this bridge already encrypted under (fresh counters) refuses to encrypt', async () => {
  const clock = new ManualClock();
  const b = new KeyBridge({ backend: nodeSFrameBackend, clock });
  b.installEpoch(5n, key(5), 2, 0);
  await b.encrypt(0, new Uint8Array(1));
  b.installEpoch(5n, key(5), 2, 0); // identical: a no-op, counters kept
  assert.equal(decodeHeader(await b.encrypt(0, new Uint8Array(1))).ctr, 1n);
  b.installEpoch(5n, key(5), 3, 0); // same epoch and key, new tree: would restart counters
  await rejectsWith(b.encrypt(0, new Uint8Array(1)), 'counter-not-persisted');
  b.close();
});

test('restart with a counter store: encryption resumes above every CTR that may have been used', async () => {
  const clock = new ManualClock();
  const store = new MemoryCounterStore();
  const first = new KeyBridge({ backend: nodeSFrameBackend, clock, counterStore: store, counterBlock: 1024 });
  first.installEpoch(3n, key(3), 4, 1);
  const used = new Set<string>();
  for (let i = 0; i < 2500; i++) {
    const h = decodeHeader(await first.encrypt(0, new Uint8Array(1)));
    used.add(`${h.kid}:${h.ctr}`);
  }
  for (let i = 0; i < 10; i++) {
    const h = decodeHeader(await first.encrypt(1, new Uint8Array(1)));
    used.add(`${h.kid}:${h.ctr}`);
  }
  assert.equal(store.saves, 4); // 3 blocks for stream 0, 1 for stream 1: one write per 1024 frames
  first.close(); // crash: up to a block of reserved CTRs is skipped, never reused

  const second = new KeyBridge({ backend: nodeSFrameBackend, clock, counterStore: store, counterBlock: 1024 });
  second.installEpoch(3n, key(3), 4, 1, { restored: true });
  const a = decodeHeader(await second.encrypt(0, new Uint8Array(1)));
  const v = decodeHeader(await second.encrypt(1, new Uint8Array(1)));
  assert.equal(a.ctr, 3072n);
  assert.equal(v.ctr, 1024n);
  for (let i = 0; i < 2000; i++) {
    const h = decodeHeader(await second.encrypt(i % 2, new Uint8Array(1)));
    assert.ok(!used.has(`${h.kid}:${h.ctr}`), `reused ${h.kid}:${h.ctr}`);
  }
  // And the frames still decrypt at a receiver.
  const bob = new KeyBridge({ backend: nodeSFrameBackend, clock });
  bob.installEpoch(3n, key(3), 4, 0);
  const r = await bob.decrypt(await second.encrypt(0, new Uint8Array([5])));
  assert.ok(r.ok);
  second.close();
  bob.close();
});

test('a failing counter store refuses to encrypt instead of using unpersisted counters', async () => {
  const clock = new ManualClock();
  let healthy = true;
  const store: CounterStore = {
    async load() {
      return undefined;
    },
    async save() {
      if (!healthy) throw new Error('storage unavailable');
    },
  };
  const b = new KeyBridge({ backend: nodeSFrameBackend, clock, counterStore: store, counterBlock: 2 });
  b.installEpoch(1n, key(1), 2, 0);
  await b.encrypt(0, new Uint8Array(1));
  await b.encrypt(0, new Uint8Array(1));
  healthy = false;
  await rejectsWith(b.encrypt(0, new Uint8Array(1)), 'counter-not-persisted');
  healthy = true;
  assert.equal(decodeHeader(await b.encrypt(0, new Uint8Array(1))).ctr, 2n);
  b.close();
});
