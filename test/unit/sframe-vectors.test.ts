// RFC 9605 Appendix C vectors on every SFrame backend (noble, webcrypto, node): zero failures, exact counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../vectors/sframe.js';

test('RFC 9605 vectors: 289 header, 3 AES-CTR-HMAC and 5 SFrame cases on every backend', async () => {
  const results = await run(() => {});
  const byFile = new Map(results.map((r) => [r.file, r]));
  const expected: [string, number][] = [['rfc9605 header', 289]];
  for (const backend of ['noble', 'webcrypto', 'node']) {
    expected.push([`rfc9605 aes_ctr_hmac [${backend}]`, 3], [`rfc9605 sframe [${backend}]`, 5]);
  }
  assert.equal(results.length, expected.length, `result files: ${results.map((r) => r.file).join(', ')}`);
  for (const [file, count] of expected) {
    const r = byFile.get(file);
    assert.ok(r, `missing result for ${file}`);
    assert.deepEqual(r.failures, [], `${file} failures`);
    assert.equal(r.failed, 0, `${file} failed`);
    assert.equal(r.passed, count, `${file} passed`);
  }
});
