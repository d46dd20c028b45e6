// shared/sframe beyond the RFC 9605 vectors: header rules, counters, replay window, tampering, role
// separation, and a cross-check of the three backends against each other on every suite.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex } from '../../shared/bytes/index.js';
import {
  ALL_SUITE_IDS,
  decodeHeader,
  encodeHeader,
  getSuite,
  isSFrameError,
  MAX_UINT64,
  nobleBackend,
  ReplayWindow,
  SFrameContext,
  SFrameError,
  SFrameSendKey,
  webCryptoBackend,
  type SFrameBackend,
  type SFrameErrorCode,
} from '../../shared/sframe/index.js';
import { nodeSFrameBackend } from '../../server/crypto-node/sframe-node.js';

const BACKENDS: SFrameBackend[] = [nobleBackend, webCryptoBackend, nodeSFrameBackend];

async function rejectsWith(p: Promise<unknown>, code: SFrameErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isSFrameError(e), `expected SFrameError, got ${String(e)}`);
    assert.equal((e as SFrameError).code, code);
    return true;
  });
}

function throwsCode(fn: () => unknown, code: SFrameErrorCode): void {
  assert.throws(fn, (e: unknown) => isSFrameError(e, code));
}

function baseKeyFor(suiteId: number): Uint8Array {
  const n = getSuite(suiteId).Nk;
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + suiteId) & 0xff);
}

test('header: inline values 0-7, minimal big-endian otherwise, 64-bit maxima', () => {
  assert.equal(toHex(encodeHeader(0n, 0n)), '00');
  assert.equal(toHex(encodeHeader(7n, 7n)), '77');
  assert.equal(toHex(encodeHeader(8n, 0n)), '8008');
  assert.equal(toHex(encodeHeader(0n, 8n)), '0808');
  assert.equal(toHex(encodeHeader(MAX_UINT64, MAX_UINT64)), 'ff' + 'ff'.repeat(16));
  const h = decodeHeader(fromHex('ff' + 'ff'.repeat(16) + 'abcd'));
  assert.deepEqual(h, { kid: MAX_UINT64, ctr: MAX_UINT64, length: 17 });
  assert.throws(() => encodeHeader(-1n, 0n), RangeError);
  assert.throws(() => encodeHeader(MAX_UINT64 + 1n, 0n), RangeError);
  assert.throws(() => encodeHeader(1 as unknown as bigint, 0n), TypeError);
  assert.throws(() => decodeHeader('00' as unknown as Uint8Array), TypeError);
});

test('header: decoding rejects truncated and non-minimal encodings with malformed-header', () => {
  const bad = [
    '', // no config byte
    '80', // X=1, KID length 1, missing
    '08', // Y=1, CTR length 1, missing
    '9001', // KID length 2, one byte present
    '8005', // KID 5 in extended form: must be inline
    '0807', // CTR 7 in extended form
    '900010', // KID 0x0010 with a leading zero byte
    '09000f', // CTR with a leading zero byte
    'f0' + '00'.repeat(8), // 8-byte KID 0
    '8808', // KID 8 then CTR missing
  ];
  for (const hex of bad) throwsCode(() => decodeHeader(fromHex(hex)), 'malformed-header');
});

test('context: round trip on every suite and backend, metadata authenticated, ciphertext length = header + pt + Nt', async () => {
  for (const backend of BACKENDS) {
    for (const id of ALL_SUITE_IDS) {
      const suite = getSuite(id);
      const tx = new SFrameContext({ suite: id, backend });
      const rx = new SFrameContext({ suite: id, backend });
      await tx.addEncryptionKey(0x123n, baseKeyFor(id));
      await rx.addDecryptionKey(0x123n, baseKeyFor(id));
      for (const size of [0, 1, 15, 16, 17, 1000]) {
        const pt = Uint8Array.from({ length: size }, (_, i) => i & 0xff);
        const md = new Uint8Array([size & 0xff, 9]);
        const ct = await tx.protect(0x123n, pt, md);
        const h = decodeHeader(ct);
        assert.equal(ct.length, h.length + size + suite.Nt, `${backend.name} suite ${id} size ${size}`);
        assert.deepEqual(await rx.unprotect(ct, md), pt);
      }
      tx.close();
      rx.close();
    }
  }
});

test('backends agree: a frame protected by one backend opens on every other (all suites)', async () => {
  for (const id of ALL_SUITE_IDS) {
    for (const sender of BACKENDS) {
      const tx = new SFrameContext({ suite: id, backend: sender });
      await tx.addEncryptionKey(77n, baseKeyFor(id), { firstCounter: 5000n });
      const md = new Uint8Array([1, 2, 3]);
      const frames = [333, 70_001].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 3) & 0xff));
      const cts = [];
      for (const pt of frames) cts.push(await tx.protect(77n, pt, md));
      for (const receiver of BACKENDS) {
        const rx = new SFrameContext({ suite: id, backend: receiver });
        await rx.addDecryptionKey(77n, baseKeyFor(id));
        for (const [i, ct] of cts.entries()) {
          assert.deepEqual(await rx.unprotect(ct, md), frames[i], `suite ${id}: ${sender.name} -> ${receiver.name}, ${frames[i]!.length} bytes`);
        }
        rx.close();
      }
      tx.close();
    }
  }
});

test('tampered header, ciphertext, tag or metadata is rejected with auth-failed on every suite and backend', async () => {
  for (const backend of BACKENDS) {
    for (const id of ALL_SUITE_IDS) {
      const tx = new SFrameContext({ suite: id, backend });
      const rx = new SFrameContext({ suite: id, backend });
      await tx.addEncryptionKey(9n, baseKeyFor(id), { firstCounter: 300n });
      await rx.addDecryptionKey(9n, baseKeyFor(id));
      const md = new Uint8Array([0xaa, 0xbb]);
      const ct = await tx.protect(9n, new Uint8Array(40).fill(1), md);
      const hlen = decodeHeader(ct).length;
      const variants: [string, Uint8Array, Uint8Array][] = [];
      const hdr = ct.slice();
      hdr[hlen - 1]! ^= 0x01; // CTR byte: still a valid header, different nonce and AAD
      variants.push(['header', hdr, md]);
      const body = ct.slice();
      body[hlen + 3]! ^= 0x40;
      variants.push(['ciphertext', body, md]);
      const tag = ct.slice();
      tag[tag.length - 1]! ^= 0x01;
      variants.push(['tag', tag, md]);
      variants.push(['metadata', ct, new Uint8Array([0xaa, 0xbc])]);
      variants.push(['metadata missing', ct, new Uint8Array(0)]);
      for (const [what, frame, meta] of variants) {
        await rejectsWith(rx.unprotect(frame, meta), 'auth-failed');
        void what;
      }
      // Still accepted afterwards: failed frames did not move the replay window.
      assert.deepEqual(await rx.unprotect(ct, md), new Uint8Array(40).fill(1));
      const short = ct.subarray(0, hlen + getSuite(id).Nt - 1);
      await rejectsWith(rx.unprotect(short, md), 'malformed-ciphertext');
      tx.close();
      rx.close();
    }
  }
});

test('unknown KID, wrong key role, duplicate KID, closed context', async () => {
  const ctx = new SFrameContext({ suite: 4, backend: nobleBackend });
  await ctx.addEncryptionKey(1n, baseKeyFor(4));
  await ctx.addDecryptionKey(2n, baseKeyFor(4));
  await rejectsWith(ctx.addDecryptionKey(1n, baseKeyFor(4)), 'duplicate-kid');
  await rejectsWith(ctx.protect(2n, new Uint8Array(1)), 'wrong-key-role');
  await rejectsWith(ctx.protect(3n, new Uint8Array(1)), 'unknown-kid');
  const own = await ctx.protect(1n, new Uint8Array(1));
  await rejectsWith(ctx.unprotect(own), 'wrong-key-role');
  await rejectsWith(ctx.unprotect(encodeHeader(5n, 0n)), 'unknown-kid');
  await rejectsWith(ctx.unprotect(new Uint8Array([0x80])), 'malformed-header');
  assert.throws(() => new SFrameContext({ suite: 6 as 4, backend: nobleBackend }), (e: unknown) => isSFrameError(e, 'unsupported-suite'));
  await assert.rejects(ctx.protect(1n, 'x' as unknown as Uint8Array), TypeError);
  ctx.close();
  ctx.close(); // idempotent
  await rejectsWith(ctx.protect(1n, new Uint8Array(1)), 'closed');
});

test('counter: strictly increasing per KID, independent per KID, never wraps (counter-exhausted)', async () => {
  const ctx = new SFrameContext({ suite: 4, backend: nodeSFrameBackend });
  await ctx.addEncryptionKey(1n, baseKeyFor(4));
  await ctx.addEncryptionKey(2n, baseKeyFor(4));
  const outs = await Promise.all(Array.from({ length: 50 }, (_, i) => ctx.protect(i % 2 === 0 ? 1n : 2n, new Uint8Array(4))));
  const ctrs1 = outs.filter((_, i) => i % 2 === 0).map((o) => decodeHeader(o).ctr);
  const ctrs2 = outs.filter((_, i) => i % 2 === 1).map((o) => decodeHeader(o).ctr);
  assert.deepEqual(ctrs1, Array.from({ length: 25 }, (_, i) => BigInt(i)));
  assert.deepEqual(ctrs2, Array.from({ length: 25 }, (_, i) => BigInt(i)));

  await ctx.addEncryptionKey(3n, baseKeyFor(4), { firstCounter: MAX_UINT64 - 1n });
  assert.equal(decodeHeader(await ctx.protect(3n, new Uint8Array(1))).ctr, MAX_UINT64 - 1n);
  assert.equal(decodeHeader(await ctx.protect(3n, new Uint8Array(1))).ctr, MAX_UINT64);
  await rejectsWith(ctx.protect(3n, new Uint8Array(1)), 'counter-exhausted');
  await rejectsWith(ctx.protect(3n, new Uint8Array(1)), 'counter-exhausted');
  ctx.close();
});

test('counter reservation: no CTR is used before its reservation resolved; failures refuse to encrypt', async () => {
  const reserved: bigint[] = [];
  let fail = false;
  const key = await SFrameSendKey.create(nobleBackend, getSuite(4), 1n, baseKeyFor(4), {
    firstCounter: 10n,
    reserveBlock: 4,
    reserve: async (upTo) => {
      if (fail) throw new Error('disk full');
      reserved.push(upTo);
    },
  });
  const ctrs: bigint[] = [];
  for (let i = 0; i < 9; i++) {
    const out = await key.protect(new Uint8Array(1));
    const ctr = decodeHeader(out).ctr;
    assert.ok(reserved.length > 0 && ctr < reserved[reserved.length - 1]!, `CTR ${ctr} used before reservation`);
    ctrs.push(ctr);
  }
  assert.deepEqual(ctrs, [10n, 11n, 12n, 13n, 14n, 15n, 16n, 17n, 18n]);
  assert.deepEqual(reserved, [14n, 18n, 22n]);
  fail = true;
  for (let i = 0; i < 3; i++) await key.protect(new Uint8Array(1)); // 19..21 are still reserved
  await rejectsWith(key.protect(new Uint8Array(1)), 'counter-not-persisted');
  key.destroy();
  await rejectsWith(key.protect(new Uint8Array(1)), 'closed');
});

test('replay: a frame is accepted once; too-old frames rejected; window moves only after the tag verifies', async () => {
  const tx = new SFrameContext({ suite: 1, backend: nobleBackend });
  const rx = new SFrameContext({ suite: 1, backend: nobleBackend, replayWindow: 32 });
  await tx.addEncryptionKey(4n, baseKeyFor(1));
  await rx.addDecryptionKey(4n, baseKeyFor(1));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) frames.push(await tx.protect(4n, new Uint8Array([i])));
  // Out of order within the window is fine.
  for (const i of [5, 3, 4, 0, 1, 2]) assert.deepEqual(await rx.unprotect(frames[i]!), new Uint8Array([i]));
  await rejectsWith(rx.unprotect(frames[3]!), 'replay');
  assert.deepEqual(await rx.unprotect(frames[90]!), new Uint8Array([90]));
  await rejectsWith(rx.unprotect(frames[58]!), 'replay'); // 90 - 58 >= 32: left of the window
  assert.deepEqual(await rx.unprotect(frames[59]!), new Uint8Array([59]));
  // A forged frame with a high CTR fails authentication and does not move the window.
  const forged = encodeHeader(4n, 1_000_000n);
  const f = new Uint8Array(forged.length + 20);
  f.set(forged);
  await rejectsWith(rx.unprotect(f), 'auth-failed');
  assert.deepEqual(await rx.unprotect(frames[70]!), new Uint8Array([70]));
  // Concurrent duplicates: exactly one wins.
  const results = await Promise.allSettled([rx.unprotect(frames[95]!), rx.unprotect(frames[95]!), rx.unprotect(frames[95]!)]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  tx.close();
  rx.close();
});

test('ReplayWindow unit: sizes, large jumps, bigint counters', () => {
  const w = new ReplayWindow(64);
  assert.ok(w.accept(0n));
  assert.ok(!w.accept(0n));
  assert.ok(w.accept(MAX_UINT64 - 1n));
  assert.ok(!w.check(0n));
  assert.ok(w.accept(MAX_UINT64 - 63n));
  assert.ok(w.accept(MAX_UINT64 - 64n)); // top - 63: the oldest CTR inside a 64-wide window
  assert.ok(!w.accept(MAX_UINT64 - 65n)); // top - 64: too old
  assert.ok(w.accept(MAX_UINT64));
  assert.ok(!w.accept(MAX_UINT64));
  assert.throws(() => new ReplayWindow(0), RangeError);
  const small = new ReplayWindow(1);
  assert.ok(small.accept(5n));
  assert.ok(!small.accept(4n));
  assert.ok(small.accept(6n));
});
