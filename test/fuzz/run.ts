// `npm run fuzz`: the long fuzzing pass over every decoder and the signaling parser.
// Options: --cases N (per decoder / target, default 100000), --seed S (default: time-based,
// printed so a failure can be replayed), --only mls,sframe,signaling.
// Exit code 1 on any unexpected outcome (crash, untyped error, hang, huge allocation).
import { fuzzMls } from './mls.js';
import { fuzzSFrame } from './sframe.js';
import { fuzzSignaling } from './signaling.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const cases = Number(option('cases') ?? 100_000);
const seed = Number(option('seed') ?? Date.now() % 2 ** 31);
const only = option('only')?.split(',');
if (!Number.isInteger(cases) || cases <= 0) throw new RangeError('--cases must be a positive integer');
const log = (line: string) => console.log(`  ${line}`);
const wanted = (name: string) => !only || only.includes(name);

console.log(`fuzz: ${cases} cases per target, seed ${seed}`);
let failures = 0;
let total = 0;

if (wanted('sframe')) {
  console.log('sframe: header decoding, unprotect and the key bridge');
  const r = await fuzzSFrame(cases, seed);
  console.log(`sframe: ${r.cases} cases, ${r.failures.length} failures, heap +${(r.heapGrowth / 1e6).toFixed(1)} MB, ${r.seconds.toFixed(1)} s`);
  r.failures.slice(0, 20).forEach((f) => log(f));
  failures += r.failures.length;
  total += r.cases;
}
if (wanted('mls')) {
  console.log('mls: every wire decoder and group processing');
  const r = await fuzzMls(cases, seed, { log });
  console.log(`mls: ${r.cases} cases, ${r.failures.length} failures, heap +${(r.heapGrowth / 1e6).toFixed(1)} MB, slowest case ${r.slowestCaseMs.toFixed(0)} ms, ${r.seconds.toFixed(1)} s`);
  r.failures.slice(0, 20).forEach((f) => log(f));
  failures += r.failures.length;
  total += r.cases;
}
if (wanted('signaling')) {
  console.log('signaling: random and mutated messages against a live server on 127.0.0.1');
  const r = await fuzzSignaling(cases, seed, { log });
  console.log(`signaling: ${r.cases} cases, ${r.failures.length} failures, heap +${(r.heapGrowth / 1e6).toFixed(1)} MB, ${r.seconds.toFixed(1)} s`);
  r.failures.slice(0, 20).forEach((f) => log(f));
  failures += r.failures.length;
  total += r.cases;
}
console.log(`${total - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
