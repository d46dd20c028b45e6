// `npm run test:vectors`: every official vector file (MLS RFC 9420, HPKE RFC 9180,
// SFrame RFC 9605) on every crypto backend. One line per file, then `N passed, N failed`.
// Exit code 1 when any case fails or a recognized file cannot be parsed.
import type { VectorFileResult, VectorSuite } from './types.js';

const SUITES = ['hpke', 'crypto-basics', 'mls', 'sframe'];

let passed = 0;
let failed = 0;
for (const name of SUITES) {
  let run: VectorSuite;
  try {
    ({ run } = (await import(`./${name}.js`)) as { run: VectorSuite });
  } catch (err) {
    console.log(`${name}: suite missing (${(err as Error).message.split('\n')[0]})`);
    failed++;
    continue;
  }
  let results: VectorFileResult[];
  try {
    results = await run((line) => console.log(`  ${line}`));
  } catch (err) {
    console.log(`${name}: suite crashed: ${(err as Error).message}`);
    failed++;
    continue;
  }
  for (const r of results) {
    console.log(`${r.file.padEnd(52)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(4)} failed`);
    for (const f of r.failures.slice(0, 10)) console.log(`    ${f}`);
    if (r.failures.length > 10) console.log(`    ... ${r.failures.length - 10} more`);
    passed += r.passed;
    failed += r.failed;
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
