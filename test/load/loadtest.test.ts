// A short load run (2 headless Chromium + 20 synthetic participants, 15 s with churn) through the same
// runLoad() the CLI uses; asserts on report.json and on the written report files.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Collector } from './metrics.js';
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
    assert.throws(() => parseArgs(['--video', 'high']), /--video must be low or normal/);
    assert.equal(parseArgs(['--browser-process', 'own', '--video', 'normal'])!.browserProcess, 'own');
    assert.throws(() => parseArgs(['--url', 'http://example.com:3000']), /loopback/);
    for (const flag of ['--browsers', '--synthetic', '--duration', '--churn', '--batch', '--media', '--video', '--browser-process', '--out', '--url']) assert.match(helpText(), new RegExp(flag));
  });
  test('percentiles', () => {
    const s = summarize([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]);
    assert.deepEqual([s.p50, s.p95, s.max, s.count], [5, 10, 10, 10]);
  });
});

describe('load test collector', () => {
  // Three senders/receivers a, b, c; c joins with epoch 2; b leaves (epoch 3). Times in ms from 0.
  const build = (lostAt: number | null, extra?: (c: Collector) => void) => {
    const c = new Collector(0);
    const join = (pid: string, at: number) => c.add({ type: 'join-start', pid, kind: 'synthetic', at, send: true, recv: true });
    const epoch = (pid: string, e: number, at: number, added: string[] = [], removed: string[] = []) =>
      c.add({ type: 'epoch', pid, at, epoch: e, size: 3, continuous: true, added, removed });
    join('a', 0);
    epoch('a', 0, 10, ['a']);
    c.add({ type: 'joined', pid: 'a', at: 10, epoch: 0 });
    join('b', 20);
    c.add({ type: 'ds-commit', epoch: 1, at: 30, source: 'ds' });
    epoch('b', 1, 31, ['b']);
    epoch('a', 1, 40);
    c.add({ type: 'joined', pid: 'b', at: 31, epoch: 1 });
    c.startMeasuring(1000);
    join('c', 1000);
    c.add({ type: 'ds-commit', epoch: 2, at: 1100, source: 'ds' });
    epoch('c', 2, 1101, ['c']);
    c.add({ type: 'joined', pid: 'c', at: 1101, epoch: 2 });
    epoch('a', 2, 1120);
    epoch('b', 2, 1130);
    for (const p of ['a', 'b']) {
      c.add({ type: 'enc-first', pid: p, epoch: 2, at: 1140 });
      c.add({ type: 'dec-first', pid: p, epoch: 2, at: p === 'a' ? 1150 : 1190 });
    }
    for (const [p, from, at] of [['a', 'c', 1400], ['b', 'c', 1420], ['c', 'a', 1300], ['c', 'b', 1350], ['a', 'b', 100], ['b', 'a', 100]] as const) {
      c.add({ type: 'first-from', pid: p, from, at });
    }
    if (lostAt !== null) c.add({ type: 'lost', pid: 'a', epoch: 2, reason: 'unknown-epoch', count: 3, at: lostAt, beforeJoin: false });
    c.add({ type: 'leave-start', pid: 'b', at: 9000, how: 'crash' });
    c.add({ type: 'ds-commit', epoch: 3, at: 9600, source: 'ds' });
    epoch('a', 3, 9620, [], ['b']);
    epoch('c', 3, 9625, [], ['b']);
    for (const p of ['a', 'c']) {
      c.add({ type: 'enc-first', pid: p, epoch: 3, at: 9640 });
      c.add({ type: 'dec-first', pid: p, epoch: 3, at: 9660 });
    }
    extra?.(c);
    return c.build({
      command: 't', options: {}, browsers: 0, synthetic: 3, durationS: 10, media: 'on', interrupted: false,
      server: { url: '', inProcess: true }, machine: { cores: 2, node: '', loadavgStart: [], loadavgEnd: [] }, serverCpu: null, endedAt: 20_000,
    });
  };

  test('rotation convergence, join time, membership and losses follow the documented definitions', () => {
    const r = build(null);
    // Epoch 2 (c joined): a and b must enc+dec; c (the joiner) counts with its keys. Worst: b dec at 1190.
    const e2 = r.epochList.find((e) => e.epoch === 2)!;
    assert.equal(e2.convergenceMs, 90);
    assert.equal(e2.mlsConvergenceMs, 30);
    // The member that converged last is named, with when it had the keys and when it had media.
    assert.deepEqual(e2.slowest, { pid: 'b', kind: 'synthetic', mlsMs: 30, fullMs: 90 });
    // Epoch 3 (b crashed): b is not waited for; worst is 9660 - 9600.
    assert.equal(r.epochList.find((e) => e.epoch === 3)!.convergenceMs, 60);
    assert.deepEqual([r.rotationConvergenceMs.count, r.rotationConvergenceMs.max], [2, 90]);
    // c's join time: first frame from a (1300) and b (1350), measured from its join start (1000).
    assert.equal(r.participants.find((p) => p.id === 'c')!.joinTimeMs, 350);
    assert.equal(r.checks.epochPerMembershipChange, true);
    assert.equal(r.checks.noFramesLost, true);
    assert.equal(r.epochs, 2);
  });

  test('a join still not committed 8 s before the end is a missing epoch; a later one is not yet', () => {
    const starved = build(null, (c) => c.add({ type: 'join-start', pid: 'e', kind: 'synthetic', at: 5000, send: true, recv: true }));
    assert.equal(starved.checks.epochPerMembershipChange, false);
    assert.match(starved.checks.problems.join('; '), /no epoch added e \(asked to join 15 s before the end\)/);
    const recent = build(null, (c) => c.add({ type: 'join-start', pid: 'e', kind: 'synthetic', at: 15_000, send: true, recv: true }));
    assert.equal(recent.checks.epochPerMembershipChange, true);
  });

  test('behind() lists the joined members that have not installed the newest epoch (the run settles on it)', () => {
    const c = new Collector(0);
    for (const pid of ['a', 'b', 'c']) {
      c.add({ type: 'join-start', pid, kind: 'synthetic', at: 0, send: true, recv: true });
      c.add({ type: 'joined', pid, at: 1, epoch: 0 });
      c.add({ type: 'epoch', pid, at: 1, epoch: 0, size: 3, continuous: false, added: [], removed: [] });
    }
    assert.deepEqual(c.behind(), []);
    c.add({ type: 'ds-commit', epoch: 1, at: 10, source: 'ds' });
    c.add({ type: 'epoch', pid: 'a', at: 11, epoch: 1, size: 3, continuous: true, added: [], removed: [] });
    assert.deepEqual(c.behind(), ['b', 'c']);
    // A member on its way out is not waited for.
    c.add({ type: 'leave-start', pid: 'c', at: 12, how: 'graceful' });
    assert.deepEqual(c.behind(), ['b']);
    c.add({ type: 'epoch', pid: 'b', at: 13, epoch: 1, size: 3, continuous: true, added: [], removed: [] });
    assert.deepEqual(c.behind(), []);
  });

  test('a receiver owes a first frame to each sender it overlapped with; a silent sender fails on its own', () => {
    assert.equal(build(null).checks.everyoneDecryptedEveryone, true);
    // d joins at 2000 and sends from 2100 until 9000: a gets its frames, b and c never do.
    const sender = (leaveAt: number, firstFrom: string[]) => (c: Collector) => {
      c.add({ type: 'join-start', pid: 'd', kind: 'synthetic', at: 2000, send: true, recv: false });
      c.add({ type: 'joined', pid: 'd', at: 2000, epoch: 2 });
      c.add({ type: 'enc-first', pid: 'd', epoch: 2, at: 2100 });
      for (const p of firstFrom) c.add({ type: 'first-from', pid: p, from: 'd', at: 2300 });
      c.add({ type: 'leave-start', pid: 'd', at: leaveAt, how: 'graceful' });
    };
    const missing = build(null, sender(9000, ['a']));
    assert.equal(missing.checks.everyoneDecryptedEveryone, false);
    assert.deepEqual(missing.participants.find((p) => p.id === 'b')!.missingFrom, ['d']);
    assert.deepEqual(missing.participants.find((p) => p.id === 'a')!.missingFrom, []);
    // Sending for less than the overlap (2100 to 4000) owes nobody a frame.
    assert.equal(build(null, sender(4000, ['a'])).checks.everyoneDecryptedEveryone, true);
    // e stays from 2000 to the end and never encrypts: its own failure, not its receivers'.
    const silent = build(null, (c) => {
      c.add({ type: 'join-start', pid: 'e', kind: 'synthetic', at: 2000, send: true, recv: true });
      c.add({ type: 'joined', pid: 'e', at: 2000, epoch: 2 });
    });
    assert.equal(silent.checks.everyoneDecryptedEveryone, false);
    assert.ok(silent.checks.problems.some((x) => x.startsWith('e was in the room')), silent.checks.problems.join('; '));
    assert.deepEqual(silent.participants.find((p) => p.id === 'a')!.missingFrom, []);
  });

  test('a lost frame is attributed to its rotation and fails the check', () => {
    const r = build(1200);
    assert.deepEqual([r.framesLostPerRotation.total, r.framesLostPerRotation.max, r.framesLostPerRotation.byReason['unknown-epoch']], [3, 3, 3]);
    assert.equal(r.epochList.find((e) => e.epoch === 2)!.framesLost, 3);
    assert.equal(r.checks.noFramesLost, false);
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
    // On failure, say who lost what under which rotation (and how long that rotation took), so a CI log is
    // enough to tell a slow receiver (unknown-epoch after the hold) from a key mismatch (auth-failed).
    const who = r.participants
      .filter((p) => Object.values(p.lost).some((n) => n > 0))
      .map((p) => `${p.id}(${p.kind}, joined ${p.joinedMs ?? '-'} ms, left ${p.left ? `${p.left.how} at ${p.left.atMs} ms` : '-'}): ${JSON.stringify(p.lost)}`);
    const rotations = r.epochList
      .filter((e) => e.framesLost > 0)
      .map((e) => `epoch ${e.epoch} (+${e.added.join(',')} -${e.removed.join(',')}): converged ${e.convergenceMs ?? '-'} ms, lost ${JSON.stringify(e.lostByReason)}`);
    assert.equal(r.framesLostPerRotation.total, 0, [JSON.stringify(r.framesLostPerRotation), ...who, ...rotations].join('\n'));
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
