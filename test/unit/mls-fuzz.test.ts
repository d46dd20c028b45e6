// Short pass of the MLS fuzzer (test/fuzz/mls.ts): every wire decoder, deserializeState, and group
// processing (processMessage, joinWelcome, joinExternal, createCommit with a KeyPackage) on random
// and mutated inputs seeded from the RFC 9420 vectors. `npm run fuzz` runs the long pass.
// Run: npx tsx --test test/unit/mls-fuzz.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fuzzMls } from '../fuzz/mls.js';

/**
 * Open findings in shared/mls (reported to the MLS owner; this file does not own the fix). A failure
 * line matching one of these is printed as a diagnostic instead of failing the test; any other
 * failure fails it. Remove an entry once fixed.
 */
const KNOWN_ISSUES: { pattern: RegExp; what: string }[] = [];

test('MLS fuzz, short pass: typed errors or canonical values, no forgery, no crash/hang/blow-up', async (t) => {
  const lines: string[] = [];
  const r = await fuzzMls(150, 20261123, { log: (l) => lines.push(l) });
  for (const l of lines) t.diagnostic(l);
  const unexpected = r.failures.filter((f) => !KNOWN_ISSUES.some((k) => k.pattern.test(f)));
  for (const k of KNOWN_ISSUES) {
    const n = r.failures.filter((f) => k.pattern.test(f)).length;
    if (n > 0) t.diagnostic(`known issue seen ${n}x: ${k.what}`);
  }
  assert.deepEqual(unexpected, [], 'unexpected fuzz failures');
  assert.ok(r.cases >= 2000, `only ${r.cases} cases ran`);
  // Every target ran, and each decoder saw both accepted and rejected inputs (the mutations reach
  // the success path as well as the error paths).
  assert.ok(Object.keys(r.targets).length >= 30, `targets: ${Object.keys(r.targets).join(', ')}`);
  for (const [name, c] of Object.entries(r.targets)) {
    assert.ok(c.cases > 0, `${name} ran no cases`);
    assert.ok(c.rejected > 0, `${name}: no input was rejected`);
    if (!['join-external', 'commit-add', 'join-welcome'].includes(name)) assert.ok(c.ok > 0, `${name}: no input was accepted`);
  }
  assert.ok(r.heapGrowth < 256 * 2 ** 20, `heap grew by ${(r.heapGrowth / 2 ** 20).toFixed(0)} MiB`);
});

test('MLS fuzz is deterministic for a seed (decoder targets)', async () => {
  const only = ['mls-message', 'ratchet-tree', 'commit', 'key-package', 'proposal'];
  const a = await fuzzMls(150, 99, { log: () => {}, only });
  const b = await fuzzMls(150, 99, { log: () => {}, only });
  const c = await fuzzMls(150, 100, { log: () => {}, only });
  assert.deepEqual(a.outcomes, b.outcomes);
  assert.notDeepEqual(a.outcomes, c.outcomes, 'a different seed should give different inputs');
});
