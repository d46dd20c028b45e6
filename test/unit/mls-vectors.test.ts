// Runs every MLS interop vector file (test/vectors/mls.ts) and asserts zero failures per file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../vectors/mls.js';

test('RFC 9420 interop vectors: every case of every MLS file passes', async () => {
  const results = await run(() => {});
  const files = results.map((r) => r.file);
  for (const f of ['tree-math.json', 'deserialization.json', 'messages.json', 'key-schedule.json', 'psk_secret.json', 'secret-tree.json', 'transcript-hashes.json', 'message-protection.json', 'tree-operations.json', 'tree-validation.json', 'treekem.json', 'welcome.json', 'passive-client-welcome.json', 'passive-client-handling-commit.json']) {
    assert.ok(files.includes(f), `${f} was run`);
  }
  for (const r of results) {
    assert.equal(r.failed, 0, `${r.file}: ${r.failures.slice(0, 3).join(' | ')}`);
    assert.ok(r.passed > 0, `${r.file}: no cases`);
  }
});
