// Bytes allocated per processed commit at a group size, by allocating function: the garbage every
// member of a large room makes at every epoch (the load test's threads spend much of their time in GC).
// Grows a group to N by external joins, makes 20 join commits against it, then has one member process
// K of them (not adopted) under V8's sampling heap profiler, counting objects later collected too.
//
//   node --import tsx test/load/mls-alloc.ts [--size 1000] [--commits 200] [--share]
//
// --share turns on public value sharing (shared/mls/intern.ts), as the load test's synthetic threads do.

import { Session } from 'node:inspector/promises';
import { utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 2 || v > 100_000) throw new RangeError(`${name} must be an integer from 2`);
  return v;
}

interface ProfileNode {
  callFrame: { functionName: string; url: string };
  selfSize: number;
  children: ProfileNode[];
}

const size = arg('--size', 1000);
const commits = arg('--commits', 200);
mls.setDefaultCryptoBackend(nodeCryptoProvider);
if (process.argv.includes('--share')) mls.setPublicValueSharing(true);

const server = await mls.generateSignatureKeyPair(1);
let a = await mls.createGroup({ groupId: crypto.getRandomValues(new Uint8Array(16)), identity: utf8('m0'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('server') }] });
for (let n = 1; n < size; n++) {
  const { commit } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8(`m${n}`) });
  a = (await mls.processMessage(a, commit)).newState;
  if (n % 100 === 0) console.log(`  grown to ${n} members`);
}
const pool: Uint8Array[] = [];
for (let i = 0; i < 20; i++) pool.push((await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8(`probe${i}`) })).commit);

const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
// Every 512 bytes on average; objects the GC has already collected are kept in the profile.
await session.post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as never);
for (let i = 0; i < commits; i++) await mls.processMessage(a, pool[i % pool.length]!);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
session.disconnect();

const bySite = new Map<string, number>();
let total = 0;
const walk = (node: ProfileNode): void => {
  total += node.selfSize;
  if (node.selfSize > 0) {
    const site = `${node.callFrame.functionName || '(anonymous)'} ${node.callFrame.url.split('/').slice(-2).join('/')}`;
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  }
  for (const c of node.children) walk(c);
};
walk(profile.head);
const kib = (b: number) => (b / commits / 1024).toFixed(1);
console.log(`size ${size}${process.argv.includes('--share') ? ' (shared public values)' : ''}: ${kib(total)} KiB allocated per processed commit (${commits} commits)`);
for (const [site, bytes] of [...bySite].sort((x, y) => y[1] - x[1]).slice(0, 12)) console.log(`${kib(bytes).padStart(8)} KiB  ${site}`);
