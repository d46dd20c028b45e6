// `npx tsx bench/crypto.ts [--budget-ms=60000] [--suites=1,2]`: per-operation time of every crypto
// backend (noble, webcrypto, node) for every RFC 9420 suite, printed as a table (microseconds per op,
// lower is better). Bounded by time: the budget is split evenly over all (suite, op, backend) cells,
// each cell runs at least 3 iterations after 2 warm-up calls.
import { SUITE_IDS, getCipherSuite, type CipherSuite, type CryptoBackend, type SuiteId } from '../shared/crypto/index.js';
import { noblePrimitives } from '../shared/crypto/noble.js';
import type { SuitePrimitives } from '../shared/crypto/primitives.js';
import { webcryptoPrimitives } from '../shared/crypto/webcrypto.js';
import { nodeCryptoProvider, nodePrimitives } from '../server/crypto-node/mls-node.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const budgetMs = Number(args.get('budget-ms') ?? 60000);
const suiteIds = (args.get('suites')?.split(',').map(Number) ?? SUITE_IDS) as SuiteId[];

const BACKENDS: { name: string; backend: CryptoBackend; prim: (id: SuiteId) => SuitePrimitives }[] = [
  { name: 'noble', backend: 'noble', prim: noblePrimitives },
  { name: 'webcrypto', backend: 'webcrypto', prim: webcryptoPrimitives },
  { name: 'node', backend: nodeCryptoProvider, prim: nodePrimitives },
];

type Op = { name: string; make: (s: CipherSuite, p: SuitePrimitives) => Promise<() => Promise<unknown>> };

const EMPTY = new Uint8Array(0);
const KB = new Uint8Array(1024).fill(0x5a);
const MSG = new Uint8Array(256).fill(0x33);

const OPS: Op[] = [
  { name: 'DH (raw shared secret)', make: async (_s, p) => {
    const a = await p.dh.generateKeyPair();
    const b = await p.dh.generateKeyPair();
    return () => p.dh.dh(a.privateKey, b.publicKey);
  } },
  { name: 'HPKE deriveKeyPair', make: async (s) => () => s.hpke.deriveKeyPair(MSG.subarray(0, 32)) },
  { name: 'HPKE encap (setupSender)', make: async (s) => {
    const kp = await s.hpke.generateKeyPair();
    return async () => (await s.hpke.setupSender(kp.publicKey, EMPTY)).context.destroy();
  } },
  { name: 'HPKE decap (setupReceiver)', make: async (s) => {
    const kp = await s.hpke.generateKeyPair();
    const { enc, context } = await s.hpke.setupSender(kp.publicKey, EMPTY);
    context.destroy();
    return async () => (await s.hpke.setupReceiver(kp.privateKey, enc, EMPTY)).destroy();
  } },
  { name: 'sign (256 B)', make: async (s) => {
    const kp = await s.signature.generateKeyPair();
    return () => s.signature.sign(kp.privateKey, MSG);
  } },
  { name: 'verify (256 B)', make: async (s) => {
    const kp = await s.signature.generateKeyPair();
    const sig = await s.signature.sign(kp.privateKey, MSG);
    return async () => {
      if (!(await s.signature.verify(kp.publicKey, MSG, sig))) throw new Error('verify failed');
    };
  } },
  { name: 'AEAD seal 1 KB', make: async (s) => {
    const key = new Uint8Array(s.aead.Nk).fill(1);
    const nonce = new Uint8Array(s.aead.Nn);
    return () => s.aead.seal(key, nonce, EMPTY, KB);
  } },
  { name: 'AEAD open 1 KB', make: async (s) => {
    const key = new Uint8Array(s.aead.Nk).fill(1);
    const nonce = new Uint8Array(s.aead.Nn);
    const ct = await s.aead.seal(key, nonce, EMPTY, KB);
    return () => s.aead.open(key, nonce, EMPTY, ct);
  } },
  { name: 'HKDF expand (Nh)', make: async (s) => {
    const prk = new Uint8Array(s.kdf.Nh).fill(2);
    return () => s.kdf.expand(prk, MSG.subarray(0, 40), s.kdf.Nh);
  } },
];

const cells = suiteIds.length * OPS.length * BACKENDS.length;
const cellMs = budgetMs / cells;

async function measure(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  await fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (n < 3 || now - start < cellMs) {
    await fn();
    n++;
    now = performance.now();
  }
  return ((now - start) / n) * 1000;
}

function fmt(us: number): string {
  return us >= 10000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(us < 100 ? 1 : 0)} us`;
}

const startAll = performance.now();
console.log(`crypto bench: ${suiteIds.length} suites x ${OPS.length} ops x ${BACKENDS.length} backends, ~${cellMs.toFixed(0)} ms per cell; node ${process.version}`);
const header = `| suite | operation | ${BACKENDS.map((b) => b.name).join(' | ')} |`;
console.log(header);
console.log(`|---|---|${BACKENDS.map(() => '---:').join('|')}|`);
for (const id of suiteIds) {
  for (const op of OPS) {
    const row: string[] = [];
    for (const b of BACKENDS) {
      const s = getCipherSuite(id, b.backend);
      const fn = await op.make(s, b.prim(id));
      row.push(fmt(await measure(fn)));
    }
    console.log(`| ${id} | ${op.name} | ${row.join(' | ')} |`);
  }
}
console.log(`total ${((performance.now() - startAll) / 1000).toFixed(1)} s`);
