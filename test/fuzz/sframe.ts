// Fuzzing SFrame header decoding, unprotect and the key bridge's decrypt with random and mutated inputs seeded
// from the RFC 9605 vectors. Every outcome must be a typed SFrameError (or a clean DecryptResult), never a crash,
// an untyped exception, a non-canonical header that decodes, or a forged frame that decrypts.
import { heapUsed, mutateBytes, prng } from './common.js';
import { equal, fromHex as fromHexSafe, toHex } from '../../shared/bytes/index.js';
import { KeyBridge, ManualClock } from '../../shared/keybridge/index.js';
import {
  decodeHeader,
  encodeHeader,
  isSFrameError,
  nobleBackend,
  SFrameContext,
  SFrameError,
  webCryptoBackend,
  type SFrameBackend,
  type SFrameErrorCode,
  type SFrameSuiteId,
} from '../../shared/sframe/index.js';
import { nodeSFrameBackend } from '../../server/crypto-node/sframe-node.js';
import { loadSFrameVectors } from '../vectors/sframe.js';

export interface FuzzReport {
  cases: number;
  seed: number;
  /** One line per unexpected outcome (crash, untyped error, non-canonical header accepted, forgery). */
  failures: string[];
  /** How often each outcome occurred (e.g. "decode:ok", "unprotect:auth-failed", "bridge:malformed"). */
  outcomes: Record<string, number>;
  /** Heap growth over the run (bytes; after GC when node runs with --expose-gc) and wall time. */
  heapGrowth: number;
  seconds: number;
}


const UNPROTECT_CODES: ReadonlySet<SFrameErrorCode> = new Set([
  'malformed-header',
  'malformed-ciphertext',
  'unknown-kid',
  'auth-failed',
  'replay',
]);

function mutate(rand: () => number, src: Uint8Array): Uint8Array {
  const int = (n: number) => Math.floor(rand() * n);
  const op = int(9);
  const out = src.slice();
  switch (op) {
    case 0:
      return mutateBytes('flip', rand, out, 0, 0);
    case 1:
      return mutateBytes('byte', rand, out, 0, 0);
    case 2:
      return mutateBytes('truncate', rand, out, 0, 0);
    case 3:
      return mutateBytes('append', rand, out, 0, 0);
    case 4: // random config byte
      if (out.length > 0) out[0] = int(256);
      return out;
    case 5: // delete a byte
      if (out.length === 0) return out;
      {
        const i = int(out.length);
        return Uint8Array.from([...out.subarray(0, i), ...out.subarray(i + 1)]);
      }
    case 6:
      return mutateBytes('insert', rand, out, 0, 0);
    case 7:
      return mutateBytes('flips', rand, out, 4, 0);
    default:
      return mutateBytes('random', rand, out, 0, 48);
  }
}

interface Seed {
  bytes: Uint8Array;
  metadata: Uint8Array;
  /** Index of the SFrame context that holds the key, or -1 for header-only seeds. */
  suiteIndex: number;
}

export async function fuzzSFrame(cases: number, seed: number): Promise<FuzzReport> {
  if (!Number.isInteger(cases) || cases < 0) throw new RangeError(`cases must be a non-negative integer, got ${cases}`);
  const started = performance.now();
  const heapBefore = heapUsed();
  const rand = prng(seed);
  const vectors = loadSFrameVectors();
  const backends: SFrameBackend[] = [nobleBackend, webCryptoBackend, nodeSFrameBackend];
  const report: FuzzReport = { cases, seed, failures: [], outcomes: {}, heapGrowth: 0, seconds: 0 };
  const count = (k: string) => (report.outcomes[k] = (report.outcomes[k] ?? 0) + 1);
  const fail = (msg: string) => {
    if (report.failures.length < 50) report.failures.push(msg);
  };

  // One receiving context per (vector, backend); originals decrypt once, then replay.
  const contexts: SFrameContext[][] = [];
  const seeds: Seed[] = [];
  for (const [i, c] of vectors.sframe.entries()) {
    const row: SFrameContext[] = [];
    for (const backend of backends) {
      const ctx = new SFrameContext({ suite: c.cipher_suite as SFrameSuiteId, backend });
      await ctx.addDecryptionKey(c.kid, fromHexSafe(c.base_key));
      row.push(ctx);
    }
    contexts.push(row);
    seeds.push({ bytes: fromHexSafe(c.ct), metadata: fromHexSafe(c.metadata), suiteIndex: i });
  }
  for (const h of vectors.header) seeds.push({ bytes: fromHexSafe(h.encoded), metadata: new Uint8Array(0), suiteIndex: -1 });
  const originals = seeds.map((s) => s.bytes);

  // A receiving key bridge, and a few genuine frames from another member as seeds.
  const clock = new ManualClock();
  const epochKey = fromHexSafe('f0e1d2c3b4a5968778695a4b3c2d1e0f'); // not a vector's base key
  const bridge = new KeyBridge({ backend: nodeSFrameBackend, clock, holdMaxFrames: 0 });
  bridge.installEpoch(3n, epochKey, 64, 63);
  const sender = new KeyBridge({ backend: nodeSFrameBackend, clock });
  sender.installEpoch(3n, epochKey, 64, 5);
  const bridgeSeeds: Uint8Array[] = [];
  for (let i = 0; i < 8; i++) {
    const md = new Uint8Array([i]);
    const frame = await sender.encrypt(i % 3, Uint8Array.from({ length: 20 + i * 10 }, (_, j) => j), md);
    bridgeSeeds.push(frame);
    seeds.push({ bytes: frame, metadata: md, suiteIndex: -1 });
  }
  sender.close();
  const sframeSeeds = seeds.filter((x) => x.suiteIndex >= 0 || bridgeSeeds.includes(x.bytes));

  for (let n = 0; n < cases; n++) {
    // Half the cases start from a full SFrame ciphertext, half from one of the 289 headers.
    const pool = rand() < 0.5 ? sframeSeeds : seeds;
    const s = pool[Math.floor(rand() * pool.length)]!;
    const input = rand() < 0.9 ? mutate(rand, s.bytes) : s.bytes.slice();
    const label = `case ${n} (seed ${seed})`;

    // 1. Header decoding: a typed error, or a header that re-encodes to exactly the bytes it consumed.
    try {
      const h = decodeHeader(input);
      if (!equal(encodeHeader(h.kid, h.ctr), input.subarray(0, h.length))) fail(`${label}: non-canonical header accepted`);
      count('decode:ok');
    } catch (e) {
      if (isSFrameError(e, 'malformed-header')) count('decode:malformed-header');
      else fail(`${label}: decodeHeader threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }

    // 2. unprotect on one of the contexts (rotating backends).
    const row = contexts[s.suiteIndex >= 0 ? s.suiteIndex : Math.floor(rand() * contexts.length)]!;
    const ctx = row[n % row.length]!;
    try {
      await ctx.unprotect(input, s.metadata);
      if (!originals.some((o) => equal(o, input))) fail(`${label}: a modified frame decrypted (forgery)`);
      count('unprotect:ok');
    } catch (e) {
      if (e instanceof SFrameError && UNPROTECT_CODES.has(e.code)) count(`unprotect:${e.code}`);
      else fail(`${label}: unprotect threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }

    // 3. The key bridge: always resolves to a DecryptResult.
    try {
      const r = await bridge.decrypt(input, s.metadata);
      count(`bridge:${r.ok ? 'ok' : r.reason}`);
      if (r.ok && !bridgeSeeds.some((o) => equal(o, input))) fail(`${label}: bridge decrypted a modified frame (forgery) ${toHex(input)} seed ${toHex(s.bytes)} md ${toHex(s.metadata)}`);
    } catch (e) {
      fail(`${label}: bridge.decrypt rejected ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }
  }
  for (const row of contexts) for (const c of row) c.close();
  bridge.close();
  report.heapGrowth = heapUsed() - heapBefore;
  report.seconds = (performance.now() - started) / 1000;
  return report;
}

// `npx tsx test/fuzz/sframe.ts [cases] [seed]`
if (import.meta.url === `file://${process.argv[1]}`) {
  const cases = Number(process.argv[2] ?? 100000);
  const seed = Number(process.argv[3] ?? 1);
  const r = await fuzzSFrame(cases, seed);
  console.log(`sframe fuzz: ${r.cases} cases, seed ${r.seed}, ${r.failures.length} failures, ${r.seconds.toFixed(1)} s`);
  console.log(JSON.stringify(r.outcomes));
  for (const f of r.failures) console.log(`  ${f}`);
  process.exit(r.failures.length === 0 ? 0 : 1);
}
