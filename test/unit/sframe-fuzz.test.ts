// A short fuzz pass (npm run fuzz runs the long one): typed errors only, never a crash or a forgery.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSFrame } from '../fuzz/sframe.js';

test('fuzz: 3000 random and mutated headers/ciphertexts give typed errors only', async () => {
  const r = await fuzzSFrame(3000, 20261123);
  assert.deepEqual(r.failures, []);
  assert.equal(r.cases, 3000);
  // The pass exercised every path: accepted and rejected headers, auth failures, unknown KIDs, bridge drops.
  for (const k of ['decode:ok', 'decode:malformed-header', 'unprotect:auth-failed', 'unprotect:unknown-kid', 'unprotect:malformed-header', 'bridge:malformed']) {
    assert.ok((r.outcomes[k] ?? 0) > 0, `outcome ${k} never happened: ${JSON.stringify(r.outcomes)}`);
  }
});
