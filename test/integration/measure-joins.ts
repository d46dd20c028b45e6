// Figures (not a test): `npx tsx test/integration/measure-joins.ts [members]` starts the server
// in-process (media off), joins N real-MLS participants one by one (all in this one process, so
// each join includes every member's processing), then has the first one leave.
import { performance } from 'node:perf_hooks';
import { startServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import * as mls from '../../shared/mls/index.js';
import { Participant, converge } from './room-harness.js';

const N = Number(process.argv[2] ?? 10);
const s = await startServer(testConfig({ media: false }));
const ps: Participant[] = [];
const joinMs: number[] = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  const p = await new Participant(`p${i}`, s.wsUrl, 'measure', mls).join();
  ps.push(p);
  await converge(ps, BigInt(i), 60_000);
  joinMs.push(performance.now() - t0);
}
const t1 = performance.now();
await ps[0]!.leave();
await converge(ps.slice(1), BigInt(N), 60_000);
const leaveMs = performance.now() - t1;
console.log(`join until all ${N} converge (ms): ${joinMs.map((x) => x.toFixed(0)).join(' ')}`);
console.log(`leave of the designated committer until ${N - 1} converge: ${leaveMs.toFixed(0)} ms`);
for (const p of ps.slice(1)) p.member.close();
await s.close();
