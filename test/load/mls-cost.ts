// Per-member MLS cost by group size, without a server: how long one member takes to process one commit in
// a group of N (shared/mls, node:crypto backend, single thread, nothing else running in this process).
// The load test's room-level numbers follow from it: every member processes every commit, so one epoch
// costs about N x (per-member cost) CPU in a room of N synthetic members hosted on one machine.
//
//   npx tsx test/load/mls-cost.ts [--sizes 10,100,1000] [--samples 5] [--out report/mls-cost.json]
//
// The group grows by external joins (as in the product); two members (the creator A and the second
// member B) follow every commit. At each size: A processes K fresh external-join commits (not adopted),
// B processes K remove commits made by A (not adopted); the joiner's joinExternal and A's createCommit are
// timed too.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import { summarize } from './stats.js';
import type { Summary } from './stats.js';

export interface CostRow {
  size: number;
  processJoinCommitMs: Summary;
  processRemoveCommitMs: Summary;
  joinExternalMs: Summary;
  createCommitMs: Summary;
  /** CPU-ms one epoch costs the whole room: size x the mean of the join- and remove-commit p50s. */
  roomCpuMsPerEpoch: number | null;
  /** Membership changes per second a room of this size can absorb on `cores` cores (members' CPU only). */
  maxChurnPerS: number | null;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await f();
  return [v, performance.now() - t0];
}

export async function measureMlsCost(sizes: number[], samples: number, cores: number, log: (s: string) => void): Promise<CostRow[]> {
  mls.setDefaultCryptoBackend(nodeCryptoProvider);
  const server = await mls.generateSignatureKeyPair(1);
  const groupId = globalThis.crypto.getRandomValues(new Uint8Array(16));
  let a = await mls.createGroup({ groupId, identity: utf8('m0'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('server') }] });
  let b: mls.GroupState | null = null;
  const rows: CostRow[] = [];
  const targets = [...sizes].sort((x, y) => x - y);
  let n = 1;
  const started = performance.now();
  for (const target of targets) {
    while (n < target) {
      const { commit, pendingState } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8(`m${n}`) });
      a = (await mls.processMessage(a, commit)).newState;
      if (b === null) b = pendingState;
      else b = (await mls.processMessage(b, commit)).newState;
      n++;
      if (n % 100 === 0) log(`  grown to ${n} members (${Math.round((performance.now() - started) / 1000)} s)`);
    }
    const join: number[] = [];
    const processJoin: number[] = [];
    const processRemove: number[] = [];
    const create: number[] = [];
    for (let i = 0; i < samples; i++) {
      const gi = await mls.groupInfo(a);
      const [{ commit }, tj] = await timed(() => mls.joinExternal({ groupInfo: gi, identity: utf8(`probe${i}`) }));
      join.push(tj);
      const [, tp] = await timed(() => mls.processMessage(a, commit));
      processJoin.push(tp);
      if (b !== null && n > 2) {
        const victim = mls.roster(a).map((r) => r.leafIndex).filter((l) => l !== mls.ownLeafIndex(a) && l !== mls.ownLeafIndex(b!))[i % Math.max(1, n - 2)];
        if (victim !== undefined) {
          const [{ commit: rc }, tc] = await timed(() => mls.createCommit(a, { remove: [victim] }));
          create.push(tc);
          const [, tr] = await timed(() => mls.processMessage(b!, rc));
          processRemove.push(tr);
        }
      }
    }
    const pj = summarize(processJoin, 2);
    const pr = summarize(processRemove, 2);
    const perMember = pr.p50 === null ? pj.p50 : pj.p50 === null ? null : (pj.p50 + pr.p50) / 2;
    const row: CostRow = {
      size: n,
      processJoinCommitMs: pj,
      processRemoveCommitMs: pr,
      joinExternalMs: summarize(join, 2),
      createCommitMs: summarize(create, 2),
      roomCpuMsPerEpoch: perMember === null ? null : Math.round(perMember * n),
      maxChurnPerS: perMember === null ? null : Math.round(((cores * 1000) / (perMember * n)) * 100) / 100,
    };
    rows.push(row);
    log(
      `size ${n}: process join commit p50 ${row.processJoinCommitMs.p50} ms, remove commit p50 ${row.processRemoveCommitMs.p50} ms, ` +
        `joinExternal p50 ${row.joinExternalMs.p50} ms, createCommit p50 ${row.createCommitMs.p50} ms; room CPU per epoch ${row.roomCpuMsPerEpoch} ms; ` +
        `max churn on ${cores} cores ${row.maxChurnPerS}/s`,
    );
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const sizes = arg('--sizes', '10,50,100,200').split(',').map(Number).filter((v) => Number.isInteger(v) && v >= 2 && v <= 5000);
  const samples = Math.max(1, Math.min(50, Number(arg('--samples', '5'))));
  const out = arg('--out', '');
  const cores = 2;
  measureMlsCost(sizes, samples, cores, (s) => console.log(s)).then(
    (rows) => {
      if (out) {
        mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
        writeFileSync(out, JSON.stringify({ sizes, samples, cores, backend: 'node:crypto', rows }, null, 1));
        console.log(`wrote ${out}`);
      }
    },
    (e: unknown) => {
      console.error(`mls-cost: ${(e as Error).stack ?? e}`);
      process.exit(1);
    },
  );
}
