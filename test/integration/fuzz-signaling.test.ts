// A short pass of the signaling fuzzer (the full run is `npm run fuzz`, >= 100,000 messages).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzSignaling } from '../fuzz/signaling.js';

test('signaling fuzz, short pass: no crash, no internal error, sentinel room unaffected, memory bounded', async () => {
  const r = await fuzzSignaling(3000, 20261123);
  assert.deepEqual(r.failures, []);
  assert.equal(r.cases, 3000);
  assert.ok((r.outcomes['error:bad-request'] ?? 0) > 0 && (r.outcomes['ok'] ?? 0) > 0, 'both rejected and accepted messages');
});
