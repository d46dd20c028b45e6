#!/usr/bin/env node
// The test driver behind `npm test`: builds the client, type-checks, then runs every
// node:test file (unit, vectors wrappers, scenario, integration, e2e, load) in one
// `node --test` run and ends with the line `N passed, N failed`.
// Options: --only <area>[,<area>]  (unit | scenario | integration | e2e | load)
//          --skip <area>[,<area>]  --no-typecheck
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const AREAS = ['unit', 'scenario', 'integration', 'e2e', 'load'];
const args = process.argv.slice(2);
const listArg = (flag) => {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] ? args[i + 1].split(',') : undefined;
};
const only = listArg('--only');
const skip = listArg('--skip') ?? (process.env.SKIP_TEST_AREAS ? process.env.SKIP_TEST_AREAS.split(',') : []);
const areas = AREAS.filter((a) => (!only || only.includes(a)) && !skip.includes(a));

let passed = 0;
let failed = 0;
const started = Date.now();
const stamp = () => `[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s]`;

if (!existsSync(path.join(ROOT, 'node_modules'))) {
  console.error('test: node_modules is missing: run `npm install && npm test` (the README test command)');
  process.exit(1);
}

function step(name, cmd, cmdArgs) {
  console.log(`${stamp()} ${name}: ${[cmd, ...cmdArgs].join(' ')}`);
  const r = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: 'inherit' });
  if (r.status === 0) passed++;
  else {
    failed++;
    console.log(`${stamp()} ${name}: FAILED (exit ${r.status ?? r.signal})`);
  }
  return r.status === 0;
}

if (existsSync(path.join(ROOT, 'scripts/build-client.mjs'))) step('build client', process.execPath, ['scripts/build-client.mjs']);
if (!args.includes('--no-typecheck') && !only) step('typecheck', process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', 'tsconfig.json']);

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.ts')) out.push(path.relative(ROOT, p));
  }
  return out;
}
const files = areas.flatMap((a) => testFiles(path.join(ROOT, 'test', a)));
console.log(`${stamp()} node --test: ${files.length} files in ${areas.join(', ')}`);

const child = spawn(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=900000', ...files],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' } },
);
// The runner's summary ("ℹ pass N", "ℹ fail N", ...) can be followed by a long list of
// failures, so keep every summary line seen rather than the end of the output.
const summary = {};
let partial = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (partial + chunk.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    const m = /^(?:ℹ|#) (tests|pass|fail|cancelled|skipped|todo) (\d+)$/.exec(line.trim());
    if (m) summary[m[1]] = Number(m[2]);
  }
});
child.on('close', (code) => {
  const num = (label) => summary[label] ?? 0;
  const p = num('pass');
  const f = num('fail') + num('cancelled');
  passed += p;
  failed += f;
  if (code !== 0 && f === 0) failed++; // the runner failed without counting a test (crash, syntax error)
  console.log(`${stamp()} done`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
});
