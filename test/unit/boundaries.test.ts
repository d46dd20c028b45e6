// shared/ runs in Node, browsers and workers: it may import only other shared/ modules and
// the portable @noble packages. Imports flow from server/ and client/ into shared/, never back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.(ts|mts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** Every module specifier in import/export-from statements and dynamic import()/require(). */
export function specifiers(code: string): string[] {
  const found: string[] = [];
  const re = /(?:\bimport\s*(?:[\w*{}\s,$]+\s*from\s*)?|\bexport\s*[\w*{}\s,$]*\s*from\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(re)) found.push(m[1]!);
  return found;
}

const ALLOWED_PACKAGES = /^@noble\/(curves|hashes|ciphers)(\/|$)/;
const NODE_ONLY_GLOBALS = /(?<![\w#.$])(Buffer\.|process\.|__dirname|__filename|require\()/;
const DOM_ONLY_GLOBALS = /(?<![\w#.$])(document\.|window\.|navigator\.mediaDevices|RTCPeerConnection)/;

test('shared/ imports only shared/ modules and @noble', () => {
  const bad: string[] = [];
  for (const file of sources(path.join(ROOT, 'shared'))) {
    const code = readFileSync(file, 'utf8');
    for (const spec of specifiers(code)) {
      const rel = path.relative(ROOT, file);
      if (spec.startsWith('.')) {
        const target = path.relative(ROOT, path.resolve(path.dirname(file), spec));
        if (!target.startsWith('shared' + path.sep)) bad.push(`${rel}: imports ${spec} (outside shared/)`);
      } else if (!ALLOWED_PACKAGES.test(spec)) {
        bad.push(`${rel}: imports ${spec} (not portable)`);
      }
    }
  }
  assert.deepEqual(bad, []);
});

test('shared/ uses no Node-only or DOM-only globals', () => {
  const bad: string[] = [];
  for (const file of sources(path.join(ROOT, 'shared'))) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const code = line.replace(/\/\/.*$/, '');
      if (NODE_ONLY_GLOBALS.test(code) || DOM_ONLY_GLOBALS.test(code)) {
        bad.push(`${path.relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      }
    });
  }
  assert.deepEqual(bad, []);
});

test('the global scanner ignores members that share a global name', () => {
  assert.ok(DOM_ONLY_GLOBALS.test('const w = window.location;'));
  assert.ok(!DOM_ONLY_GLOBALS.test('this.#window.slide(1);'));
  assert.ok(!DOM_ONLY_GLOBALS.test('replay.window.size'));
  assert.ok(NODE_ONLY_GLOBALS.test('if (process.env.X) {}'));
  assert.ok(!NODE_ONLY_GLOBALS.test('state.process.run()'));
});

test('the import scanner finds every kind of import', () => {
  const code = `import a from 'x1';\nimport { b } from "x2";\nimport * as c from 'x3';\nexport { d } from 'x4';\nconst e = await import('x5');\nimport 'x6';\nimport type { F } from 'x7';`;
  assert.deepEqual(specifiers(code), ['x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'x7']);
});
