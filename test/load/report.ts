// Writes report.json, report.html (self-contained: inline SVG charts, no external resources) and one PNG
// per chart (rendered by headless Chromium from the HTML: page.screenshot of each chart element).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOSS_REASONS } from './events.js';
import type { LoadReport } from './metrics.js';
import type { Summary } from './stats.js';
import { barChart, histogram, lineChart } from './svg.js';

export interface ChartSpec {
  id: string;
  svg: string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const sec = (ms: number) => Math.round(ms / 100) / 10;

/** The charts of a report; `samples` holds the raw per-frame timings (the JSON keeps only summaries). */
export function buildCharts(r: LoadReport, samples: { encryptMs: number[]; decryptMs: number[] }): ChartSpec[] {
  const ts = r.timeseries;
  const charts: ChartSpec[] = [];
  charts.push({
    id: 'epoch-members',
    svg: lineChart({ id: 'epoch-members-svg', title: 'Epoch and members over time', xLabel: 'time (s)', yLabel: 'epoch / members' }, [
      { name: 'epoch', points: ts.map((s) => [sec(s.t), s.epoch]), step: true, dots: false },
      { name: 'members', points: ts.map((s) => [sec(s.t), s.members]), step: true, dots: false },
    ]),
  });
  const conv = r.epochList.filter((e) => e.convergenceMs !== null || e.mlsConvergenceMs !== null);
  charts.push({
    id: 'rotation-convergence',
    svg: barChart(
      {
        id: 'rotation-convergence-svg',
        title: `Rotation convergence per epoch (p95 ${r.rotationConvergenceMs.p95 ?? '-'} ms)`,
        xLabel: 'epoch',
        yLabel: 'ms from DS accept',
        yLine: { value: 150, label: 'target 150 ms' },
      },
      conv.map((e) => e.epoch),
      r.media === 'on' || r.browsers > 0
        ? [
            { name: 'keys installed (MLS)', values: conv.map((e) => e.mlsConvergenceMs ?? 0) },
            { name: 'until media enc+dec', values: conv.map((e) => Math.max(0, (e.convergenceMs ?? 0) - (e.mlsConvergenceMs ?? 0))) },
          ]
        : [{ name: 'keys installed (MLS)', values: conv.map((e) => e.mlsConvergenceMs ?? 0) }],
    ),
  });
  const lostEpochs = r.epochList.filter((e) => e.acceptedAt !== null);
  charts.push({
    id: 'frames-lost',
    svg: barChart(
      { id: 'frames-lost-svg', title: `Frames lost per rotation (total ${r.framesLostPerRotation.total}, held then saved ${r.framesLostPerRotation.heldThenSaved})`, xLabel: 'epoch', yLabel: 'frames' },
      lostEpochs.map((e) => e.epoch),
      [
        ...LOSS_REASONS.map((reason) => ({ name: `lost: ${reason}`, values: lostEpochs.map((e) => e.lostByReason[reason]) })),
        { name: 'held then saved', values: lostEpochs.map((e) => e.heldSaved), color: '#bbbbbb' },
      ],
    ),
  });
  charts.push({
    id: 'decrypt-latency',
    svg: histogram({ id: 'decrypt-latency-svg', title: `SFrame decrypt time per frame (p50 ${r.decryptMs.p50 ?? '-'} ms, p95 ${r.decryptMs.p95 ?? '-'} ms)`, xLabel: 'ms', yLabel: 'frames' }, [{ name: 'decrypt', values: samples.decryptMs }]),
  });
  charts.push({
    id: 'encrypt-latency',
    svg: histogram({ id: 'encrypt-latency-svg', title: `SFrame encrypt time per frame (p50 ${r.encryptMs.p50 ?? '-'} ms, p95 ${r.encryptMs.p95 ?? '-'} ms)`, xLabel: 'ms', yLabel: 'frames' }, [{ name: 'encrypt', values: samples.encryptMs }]),
  });
  charts.push({
    id: 'cpu',
    svg: lineChart({ id: 'cpu-svg', title: 'CPU (% of one core)', xLabel: 'time (s)', yLabel: '% CPU' }, [
      { name: 'server (Node + mediasoup)', points: ts.filter((s) => s.serverCpuPct !== null).map((s) => [sec(s.t), s.serverCpuPct!]) },
      { name: 'participants (threads + browsers)', points: ts.filter((s) => s.participantsCpuPct !== null).map((s) => [sec(s.t), s.participantsCpuPct!]) },
    ]),
  });
  charts.push({
    id: 'memory',
    svg: lineChart({ id: 'memory-svg', title: 'Memory (MB)', xLabel: 'time (s)', yLabel: 'MB' }, [
      { name: 'server RSS (Node process + mediasoup)', points: ts.filter((s) => s.serverRssMB !== null).map((s) => [sec(s.t), s.serverRssMB!]) },
      { name: 'participants (thread heaps + browser RSS)', points: ts.filter((s) => s.participantsMemMB !== null).map((s) => [sec(s.t), s.participantsMemMB!]) },
    ]),
  });
  charts.push({
    id: 'throughput',
    svg: lineChart({ id: 'throughput-svg', title: 'Frames decrypted per second and SFU forwarded bitrate', xLabel: 'time (s)', yLabel: 'frames/s, kbit/s' }, [
      { name: 'frames decrypted/s', points: ts.map((s) => [sec(s.t), s.framesPerS]) },
      { name: 'forwarded kbit/s', points: ts.filter((s) => s.forwardedKbps !== null).map((s) => [sec(s.t), s.forwardedKbps!]) },
    ]),
  });
  if (r.commitCostBySize.length > 0) {
    charts.push({
      id: 'commit-cost',
      svg: barChart(
        { id: 'commit-cost-svg', title: 'MLS commit processing per member (wall ms, p50) by group size', xLabel: 'group size', yLabel: 'ms' },
        r.commitCostBySize.map((b) => b.size),
        [{ name: 'p50', values: r.commitCostBySize.map((b) => b.p50 ?? 0) }],
      ),
    });
  }
  return charts;
}

function summaryRow(name: string, s: Summary, unit = 'ms'): string {
  const v = (x: number | null) => (x === null ? '-' : String(x));
  return `<tr><th>${esc(name)}</th><td>${s.count}</td><td>${v(s.p50)}</td><td>${v(s.p95)}</td><td>${v(s.max)}</td><td>${unit}</td></tr>`;
}

export function renderHtml(r: LoadReport, charts: ChartSpec[]): string {
  const checks = r.checks;
  const flag = (ok: boolean) => (ok ? '<b class="ok">yes</b>' : '<b class="bad">no</b>');
  const parts: string[] = [];
  parts.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Load test report ${esc(r.startedAt)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:20px} h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:right} th{text-align:left;background:#f6f6f6}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #ddd;padding:4px;background:#fff;display:inline-block}
.ok{color:#087f23}.bad{color:#b00020} code{background:#f3f3f3;padding:1px 4px}
details{margin:8px 0}
</style></head><body>`);
  parts.push(`<h1>E2EE call load test</h1>`);
  parts.push(`<p><code>${esc(r.command)}</code><br>${esc(r.startedAt)} to ${esc(r.finishedAt)}${r.interrupted ? ' (<b class="bad">interrupted</b>)' : ''}; server ${esc(r.server.url)} (${r.server.inProcess ? 'in-process' : 'external'}); ${r.machine.cores} cores, Node ${esc(r.machine.node)}, load average ${r.machine.loadavgStart.join(' ')} at start, ${r.machine.loadavgEnd.join(' ')} at end</p>`);
  parts.push(`<table><tr><th>browsers</th><td>${r.browsers}</td><th>synthetic</th><td>${r.synthetic}</td><th>media</th><td>${r.media}</td><th>duration</th><td>${r.durationS} s</td></tr>
<tr><th>epochs (measured)</th><td>${r.epochs}</td><th>joins</th><td>${r.joins}</td><th>leaves (graceful / crash)</th><td>${r.leaves.graceful} / ${r.leaves.crash}</td><th>frames decrypted</th><td>${r.framesDecrypted}</td></tr></table>`);
  parts.push(`<h2>Checks</h2><table>
<tr><th>every participant decrypted every other sender</th><td>${flag(checks.everyoneDecryptedEveryone)}</td></tr>
<tr><th>a new epoch for every join and leave</th><td>${flag(checks.epochPerMembershipChange)}</td></tr>
<tr><th>no frames lost per rotation</th><td>${flag(checks.noFramesLost)}</td></tr>
<tr><th>every rotation converged</th><td>${flag(checks.allRotationsConverged)} (media superseded before every member used it: ${r.rotationsSuperseded}; reached by some member only after the next commit: ${r.rotationsLate})</td></tr></table>`);
  if (checks.problems.length) parts.push(`<details open><summary>Problems (${checks.problems.length})</summary><ul>${checks.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul></details>`);
  parts.push(`<h2>Figures</h2><table><tr><th></th><th>n</th><th>p50</th><th>p95</th><th>max</th><th>unit</th></tr>
${summaryRow('join time (join start to first frame from every other sender)', r.joinTimeMs)}
${summaryRow('join, MLS only (join start to first epoch)', r.joinMlsMs)}
${summaryRow('rotation convergence (DS accept to all members enc+dec the new epoch)', r.rotationConvergenceMs)}
${summaryRow('rotation convergence incl. browsers (25 ms probe)', r.rotationConvergenceWithBrowsersMs)}
${summaryRow('MLS convergence (DS accept to all members installed keys)', r.mlsConvergenceMs)}
${summaryRow('SFrame encrypt per frame (synthetic, node:crypto)', r.encryptMs)}
${summaryRow('SFrame decrypt per frame (synthetic, node:crypto)', r.decryptMs)}
${summaryRow('MLS commit processing per member (wall)', r.commitProcessingMs)}
${summaryRow('MLS external join (joinExternal)', r.joinExternalMs)}
</table>`);
  const fl = r.framesLostPerRotation;
  parts.push(`<p>Frames lost per rotation: total <b>${fl.total}</b>, max in one rotation <b>${fl.max}</b> (${LOSS_REASONS.map((k) => `${k} ${fl.byReason[k]}`).join(', ')}); held then saved ${fl.heldThenSaved}; not owed (sent before the receiver joined) ${fl.beforeJoin}; RTP sequence gaps ${r.rtpGaps}.<br>
Synthetic thread CPU per commit per member: <b>${r.threadCpuPerCommitMs ?? '-'}</b> ms (per handshake message, commits and proposals: ${r.threadCpuPerHandshakeMs ?? '-'} ms; ${r.commitsProcessed} commits, ${r.handshakesProcessed} handshake messages processed in the measured phase). Server CPU: ${r.serverCpu ? `avg ${r.serverCpu.avgPct}% max ${r.serverCpu.maxPct}% of one core (process.cpuUsage of the Node process: user ${r.serverCpu.processUserMs} ms, system ${r.serverCpu.processSystemMs} ms, of which synthetic threads ${r.serverCpu.syntheticThreadsMs} ms)` : 'n/a'}; server RSS max ${r.serverRssMB.max ?? '-'} MB; SFU forwarded mean ${r.forwardedKbps.mean ?? '-'} kbit/s, max ${r.forwardedKbps.max ?? '-'} kbit/s.</p>`);
  for (const pr of r.threadProfiles) {
    parts.push(`<details><summary>CPU profile of synthetic thread ${pr.thread} (self time, top functions)</summary><table>${pr.top.map((t) => `<tr><th>${esc(t.fn)}</th><td>${t.pct}%</td></tr>`).join('')}</table></details>`);
  }
  if (r.notes.length) parts.push(`<ul>${r.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  parts.push(`<h2>Charts</h2><div class="charts">`);
  for (const c of charts) parts.push(`<div class="chart" id="${c.id}">${c.svg}</div>`);
  parts.push(`</div>`);
  parts.push(`<h2>Epochs</h2><details><summary>${r.epochList.length} epochs</summary><table><tr><th>epoch</th><th>accepted (s)</th><th>source</th><th>size</th><th>added</th><th>removed</th><th>converged/expected</th><th>conv ms</th><th>MLS ms</th><th>lost</th><th>held saved</th></tr>`);
  for (const e of r.epochList) {
    parts.push(`<tr><td>${e.epoch}</td><td>${e.acceptedAt === null ? '-' : sec(e.acceptedAt)}</td><td>${e.acceptSource ?? '-'}</td><td>${e.size ?? '-'}</td><td>${esc(e.added.slice(0, 4).join(' '))}</td><td>${esc(e.removed.slice(0, 4).join(' '))}</td><td>${e.converged}/${e.expected}${e.superseded ? ' (superseded)' : ''}${e.late ? ' (late)' : ''}</td><td>${e.convergenceMs ?? '-'}</td><td>${e.mlsConvergenceMs ?? '-'}</td><td>${e.framesLost}</td><td>${e.heldSaved}</td></tr>`);
  }
  parts.push(`</table></details>`);
  parts.push(`<h2>Participants</h2><details><summary>${r.participants.length} participants</summary><table><tr><th>id</th><th>kind</th><th>send/recv</th><th>join MLS ms</th><th>join ms</th><th>left</th><th>epochs</th><th>enc</th><th>dec</th><th>senders decrypted</th><th>missing</th><th>lost</th><th>errors</th></tr>`);
  for (const p of r.participants) {
    const lost = Object.values(p.lost).reduce((a, b) => a + b, 0);
    parts.push(`<tr><td>${esc(p.id)}</td><td>${p.kind}</td><td>${p.send ? 'S' : '-'}${p.recv ? 'R' : '-'}</td><td>${p.joinMlsMs ?? '-'}</td><td>${p.joinTimeMs ?? '-'}</td><td>${p.left ? esc(p.left.how) : ''}</td><td>${p.epochsSeen}</td><td>${p.framesEncrypted}</td><td>${p.framesDecrypted}</td><td>${Object.keys(p.decryptedFrom).length}</td><td>${esc(p.missingFrom.slice(0, 3).join(' '))}</td><td>${lost}</td><td>${esc(p.errors.slice(0, 2).join('; '))}</td></tr>`);
  }
  parts.push(`</table></details>`);
  if (r.failures.length) parts.push(`<h2>Failures</h2><details><summary>${r.failures.length}</summary><ul>${r.failures.map((f) => `<li>${esc(f)}</li>`).join('')}</ul></details>`);
  parts.push(`</body></html>`);
  return parts.join('\n');
}

export interface WrittenReport {
  json: string;
  html: string;
  pngs: string[];
  pngError: string | null;
}

/** Writes everything into `outDir` (created). PNG rendering failures are reported, not thrown. */
export async function writeReport(
  r: LoadReport,
  samples: { encryptMs: number[]; decryptMs: number[] },
  outDir: string,
  o: { png: boolean; chromiumPath: string },
): Promise<WrittenReport> {
  mkdirSync(outDir, { recursive: true });
  const charts = buildCharts(r, samples);
  const json = path.join(outDir, 'report.json');
  const html = path.join(outDir, 'report.html');
  writeFileSync(json, JSON.stringify(r, null, 1));
  const page = renderHtml(r, charts);
  writeFileSync(html, page);
  let pngs: string[] = [];
  let pngError: string | null = null;
  if (o.png) {
    try {
      pngs = await renderPngs(page, charts, outDir, o.chromiumPath);
    } catch (e) {
      pngError = (e as Error).message;
    }
  }
  return { json, html, pngs, pngError };
}

/** Opens the HTML in headless Chromium (no network: setContent) and screenshots each chart element. */
export async function renderPngs(html: string, charts: ChartSpec[], outDir: string, chromiumPath: string): Promise<string[]> {
  const { default: puppeteer } = await import('puppeteer-core');
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'loadtest-png-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    userDataDir,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 900, deviceScaleFactor: 1 });
    await page.setContent(html, { waitUntil: 'load', timeout: 30_000 });
    const out: string[] = [];
    for (const c of charts) {
      const el = await page.$(`#${c.id}`);
      if (!el) continue;
      const file = path.join(outDir, `${c.id}.png`);
      await el.screenshot({ path: file as `${string}.png` });
      out.push(file);
    }
    return out;
  } finally {
    await browser.close().catch(() => undefined);
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
