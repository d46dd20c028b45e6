// `npm run loadtest -- [options]` (tsx test/load/cli.ts). See options.ts or --help.
// Progress: one line rewritten in place on a TTY, one line every --progress-ms otherwise. Ctrl-C ends the
// run early (the report is still written); a second Ctrl-C stops at once (threads, browsers, server).

import { killAllBrowsersNow } from './browser.js';
import { OptionError, helpText, parseArgs } from './options.js';
import type { LoadOptions } from './options.js';
import { runLoad } from './run.js';
import type { Progress } from './run.js';

function progressLine(p: Progress): string {
  const cpu = p.cpuPct === null ? '' : ` server-cpu ${p.cpuPct}%`;
  return `[${p.elapsedS.toFixed(0).padStart(4)} s] ${p.phase.padEnd(8)} members ${p.members}/${p.target} epoch ${p.epoch < 0 ? '-' : p.epoch} frames/s ${p.framesPerS} lost ${p.lost} failures ${p.failures}${cpu}`;
}

async function main(): Promise<void> {
  let o: LoadOptions | null;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof OptionError) {
      console.error(`loadtest: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  if (o === null) {
    console.log(helpText());
    return;
  }
  const opts = o;
  const tty = process.stdout.isTTY === true;
  const ac = new AbortController();
  let sigints = 0;
  process.on('SIGINT', () => {
    sigints++;
    if (sigints === 1) {
      process.stderr.write('\nloadtest: stopping (Ctrl-C again to abort at once)\n');
      ac.abort();
    } else {
      process.stderr.write('loadtest: aborting\n');
      // Browsers are killed here; mediasoup workers exit when their channel to this process closes.
      killAllBrowsersNow();
      process.exit(130);
    }
  });
  process.on('SIGTERM', () => ac.abort());

  let lastPrint = 0;
  const onProgress = (p: Progress) => {
    if (opts.quiet) return;
    const line = progressLine(p);
    if (tty) process.stdout.write(`\r\x1b[2K${line}`);
    else if (Date.now() - lastPrint >= opts.progressMs) {
      lastPrint = Date.now();
      console.log(line);
    }
  };
  const log = (line: string) => {
    if (opts.quiet) return;
    if (tty) process.stdout.write(`\r\x1b[2K${line}\n`);
    else console.log(line);
  };
  const command = `npm run loadtest -- ${process.argv.slice(2).join(' ')}`.trim();
  const { report, written } = await runLoad(opts, { onProgress, signal: ac.signal, log }, command);
  if (tty && !opts.quiet) process.stdout.write('\n');
  const r = report;
  const s = (x: { p50: number | null; p95: number | null; max: number | null; count: number }) => `p50 ${x.p50 ?? '-'} p95 ${x.p95 ?? '-'} max ${x.max ?? '-'} (n=${x.count})`;
  console.log(`epochs ${r.epochs} (joins ${r.joins}, leaves ${r.leaves.graceful} graceful / ${r.leaves.crash} crash), frames decrypted ${r.framesDecrypted}`);
  console.log(`join time ms: ${s(r.joinTimeMs)}; MLS join ms: ${s(r.joinMlsMs)}`);
  console.log(`rotation convergence ms: ${s(r.rotationConvergenceMs)}; MLS convergence ms: ${s(r.mlsConvergenceMs)}; superseded ${r.rotationsSuperseded}, late ${r.rotationsLate}, not converged ${r.rotationsNotConverged}`);
  console.log(`frames lost per rotation: total ${r.framesLostPerRotation.total}, max ${r.framesLostPerRotation.max}; held then saved ${r.framesLostPerRotation.heldThenSaved}`);
  console.log(`commit processing per member ms: ${s(r.commitProcessingMs)}; thread CPU per commit per member ${r.threadCpuPerCommitMs ?? '-'} ms (per handshake message ${r.threadCpuPerHandshakeMs ?? '-'} ms, ${r.commitsProcessed} commits / ${r.handshakesProcessed} handshakes processed)`);
  console.log(`checks: ${Object.entries(r.checks).filter(([k]) => k !== 'problems').map(([k, v]) => `${k}=${v}`).join(' ')}`);
  for (const p of r.checks.problems.slice(0, 10)) console.log(`  problem: ${p}`);
  console.log(`report: ${written.json}, ${written.html}; ${written.pngs.length} PNG chart(s)${written.pngError ? ` (PNG failed: ${written.pngError})` : ''}`);
  process.exitCode = r.interrupted ? 130 : 0;
}

main().catch((e: unknown) => {
  console.error(`loadtest: ${(e as Error).stack ?? e}`);
  process.exit(1);
});
