// The server never derives media keys: nothing it loads (transitively from server/index.ts)
// comes from the MLS library (key schedule, exporter, secret tree), the key bridge, SFrame or the
// crypto providers. Its only MLS code is public framing (delivery/framing.ts) and the external
// sender's Remove proposal (delivery/remove-proposal.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const IMPORT_RE = /(?:\bimport\s*(?:type\s+)?(?:[\w*{}\s,$]+\s*from\s*)?|\bexport\s*(?:type\s+)?[\w*{}\s,$]*\s*from\s*|\bimport\s*\(\s*)['"]([^'"]+)['"]/g;

/** Every module (repo-relative path) or package reached from `entry` by static and dynamic imports. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [path.join(ROOT, entry)];
  while (todo.length) {
    const file = todo.pop()!;
    const rel = path.relative(ROOT, file);
    if (files.has(rel)) continue;
    files.add(rel);
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(IMPORT_RE)) {
      const spec = m[1]!;
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      let target = path.resolve(path.dirname(file), spec);
      if (target.endsWith('.js')) target = target.slice(0, -3) + '.ts';
      if (!existsSync(target)) target = path.join(target.replace(/\.ts$/, ''), 'index.ts');
      assert.ok(existsSync(target), `${rel} imports ${spec}, which does not resolve`);
      todo.push(target);
    }
  }
  return { files, packages };
}

test('server/ loads no MLS key schedule, key bridge, SFrame or crypto provider code', () => {
  const { files, packages } = closure('server/index.ts');
  assert.ok(files.has('server/delivery/framing.ts') && files.has('shared/protocol/index.ts'), 'the scan sees the server modules');
  const forbidden = [...files].filter((f) => /^shared\/(mls|keybridge|sframe|crypto)\//.test(f) || f.startsWith('server/crypto-node/'));
  assert.deepEqual(forbidden, []);
  const pkgs = [...packages].filter((p) => !p.startsWith('node:')).sort();
  assert.deepEqual(pkgs, ['@noble/curves/ed25519.js', 'express', 'mediasoup', 'ws'], 'only these packages');
  // The scan would notice: the member engine (shared/) is not loaded by the server either.
  assert.equal([...files].some((f) => f.startsWith('shared/member/')), false);
});
