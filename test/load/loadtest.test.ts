// A short load run (2 headless Chromium + 20 synthetic participants, 15 s with churn) through the same
// runLoad() the CLI uses; asserts on report.json and on the written report files.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LoadReport } from './metrics.js';
import { checkOptions, DEFAULTS, helpText, parseArgs, OptionError } from './options.js';
import { runLoad } from './run.js';
import type { RunResult } from './run.js';
import { summarize } from './stats.js';

describe('load test options', () => {
  test('parses the documented command and rejects bad input', () => {
    const o = parseArgs(['--browsers', '6', '--synthetic', '200', '--duration', '60', '--churn', '1', '--out', 'report/'])!;
    assert.equal(o.browsers, 6);
    assert.equal(o.synthetic, 200);
    assert.equal(o.durationS, 60);
    assert.equal(o.churn, 1);
    assert.equal(o.out, 'report/');
    assert.equal(parseArgs(['--help']), null);
    assert.equal(parseArgs(['--media=off', '--no-png'])!.png, false);
    assert.throws(() => parseArgs(['--browsers', '-1']), OptionError);
    assert.throws(() => parseArgs(['--bogus']), OptionError);
    assert.throws(() => parseArgs(['--url', 'http://example.com:3000']), /loopback/);
    for (const flag of ['--browsers', '--synthetic', '--duration', '--churn', '--batch', '--media', '--out', '--url']) assert.match(helpText(), new RegExp(flag));
  });
  test('percentiles', () => {
    const s = summarize([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
    assert.deepEqual([s.p50, s.p95, s.max, s.count], [5, 10, 10, 10]);
  });
});

describe('load test run: 2 browsers + 20 synthetic, 15 s, churn', () => {
  let out: string;
  let result: RunResult;
  let r: LoadReport;

  before(async () => {
    out = mkdtempSync(path.join(os.tmpdir(), 'loadtest-'));
    const o = checkOptions({
      ...DEFAULTS,
      browsers: 2,
      synthetic: 20,
      durationS: 15,
      churn: 0.5,
      // 22 senders x 21 receivers: 20 frames/s keeps the two cores for the browsers and the SFU.
      fps: 20,
      out,
      quiet: true,
      settleS: 4,
      threads: 1,
      setupTimeoutS: 120,
    });
    result = await runLoad(o, {}, 'loadtest.test.ts');
    r = result.report;
  });
  after(() => {
    if (out && !process.env.KEEP_LOADTEST_OUTPUT) rmSync(out, { recursive: true, force: true });
  });

  test('everyone joined and every participant decrypted frames from every other sender', () => {
    const failed = r.participants.filter((p) => p.joinFailed);
    assert.deepEqual(failed.map((p) => `${p.id}: ${p.joinFailed}`), []);
    const browsers = r.participants.filter((p) => p.kind === 'browser');
    assert.equal(browsers.length, 2);
    for (const p of r.participants) {
      if (!p.recv || p.joinedMs === null) continue;
      assert.deepEqual(p.missingFrom, [], `${p.id} decrypted nothing from ${p.missingFrom.join(', ')}`);
    }
    // Both directions across the two kinds of participant.
    for (const b of browsers) {
      const fromSynthetic = Object.entries(b.decryptedFrom).filter(([k, v]) => k.startsWith('s') && v > 0).length;
      assert.ok(fromSynthetic >= 15, `${b.id} decrypted audio from ${fromSynthetic} synthetic participants`);
      const other = browsers.find((x) => x !== b)!;
      assert.ok((b.decryptedFrom[other.id] ?? 0) > 0, `${b.id} decrypted frames from ${other.id}`);
    }
    for (const s of r.participants.filter((p) => p.kind === 'synthetic' && p.recv && p.joinedMs !== null)) {
      for (const b of browsers) assert.ok((s.decryptedFrom[b.id] ?? 0) > 0, `${s.id} decrypted frames from ${b.id}`);
    }
    assert.equal(r.checks.everyoneDecryptedEveryone, true);
    assert.ok(r.framesDecrypted > 1000, `frames decrypted: ${r.framesDecrypted}`);
  });

  test('epochs advanced with every join and leave, and every rotation converged', () => {
    assert.ok(r.joins >= 2, `joins during the run: ${r.joins}`);
    assert.ok(r.leaves.graceful + r.leaves.crash >= 2, `leaves during the run: ${JSON.stringify(r.leaves)}`);
    assert.equal(r.checks.epochPerMembershipChange, true, r.checks.problems.join('; '));
    assert.ok(r.epochs >= r.joins + r.leaves.graceful + r.leaves.crash - 1, `epochs ${r.epochs} for ${r.joins} joins and ${JSON.stringify(r.leaves)} leaves`);
    assert.equal(r.checks.allRotationsConverged, true, r.checks.problems.join('; '));
    assert.ok(r.rotationConvergenceMs.count > 0);
    assert.ok(r.joinTimeMs.count > 0, 'join times measured');
  });

  test('no frames lost per rotation', () => {
    assert.equal(r.framesLostPerRotation.total, 0, JSON.stringify(r.framesLostPerRotation));
    assert.equal(r.checks.noFramesLost, true);
  });

  test('report.json, report.html and PNG charts are written and not empty', () => {
    const json = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as LoadReport;
    for (const k of ['browsers', 'synthetic', 'durationS', 'epochs', 'joinTimeMs', 'rotationConvergenceMs', 'framesLostPerRotation', 'framesDecrypted', 'participants'] as const) {
      assert.ok(k in json, `report.json has ${k}`);
    }
    assert.deepEqual(Object.keys(json.joinTimeMs).sort(), ['count', 'max', 'mean', 'p50', 'p95']);
    const html = readFileSync(path.join(out, 'report.html'), 'utf8');
    assert.doesNotMatch(html, /<script|(?:src|href)\s*=\s*["']?(?:https?:)?\/\/|@import|url\(/i, 'self-contained: no scripts, no external resources');
    for (const id of ['epoch-members', 'rotation-convergence', 'frames-lost', 'decrypt-latency', 'cpu', 'memory']) {
      const m = new RegExp(`id="${id}-svg"[^>]*data-points="(\\d+)"`).exec(html);
      assert.ok(m && Number(m[1]) > 0, `${id} chart has data points`);
      const png = path.join(out, `${id}.png`);
      assert.ok(existsSync(png), `${png} exists`);
      assert.ok(statSync(png).size > 2000, `${png} is not empty`);
    }
    assert.equal(result.written.pngError, null);
  });
});
