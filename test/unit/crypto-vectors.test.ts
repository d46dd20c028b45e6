// node:test wrappers of the crypto vector suites (test/vectors/hpke.ts, crypto-basics.ts):
// every (file, backend) result must have zero failures and the full case count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run as runCryptoBasics } from '../vectors/crypto-basics.js';
import { run as runHpke } from '../vectors/hpke.js';

const BACKENDS = ['noble', 'webcrypto', 'node'];

test('RFC 9180 HPKE vectors: all 24 entries pass on every backend', async () => {
  const results = await runHpke(() => {});
  assert.deepEqual(results.map((r) => r.file), BACKENDS.map((b) => `rfc9180-test-vectors.json [${b}]`));
  for (const r of results) {
    assert.deepEqual(r.failures, [], r.file);
    assert.equal(r.failed, 0, r.file);
    assert.equal(r.passed, 24, r.file);
  }
});

test('RFC 9420 crypto-basics vectors: 7 suites x 8 checks pass on every backend', async () => {
  const results = await runCryptoBasics(() => {});
  assert.deepEqual(results.map((r) => r.file), BACKENDS.map((b) => `crypto-basics.json [${b}]`));
  for (const r of results) {
    assert.deepEqual(r.failures, [], r.file);
    assert.equal(r.failed, 0, r.file);
    assert.equal(r.passed, 56, r.file);
  }
});
