// Heap retained per member state at a group size: the figure behind the load test's memory use, where
// hundreds of members share one heap. Grows a group to N by external joins, then keeps 20 more states
// joined from one GroupInfo and reports the heap growth per state (after a full GC).
//
//   node --expose-gc --import tsx test/load/mls-memory.ts [--size 1000] [--share]
//
// --share turns on public value sharing (shared/mls/intern.ts), as the load test's synthetic threads do.

import v8 from 'node:v8';
import { utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('mls-memory: run with node --expose-gc --import tsx');
  process.exit(2);
}
const sizeArg = process.argv.indexOf('--size');
const size = sizeArg >= 0 ? Number(process.argv[sizeArg + 1]) : 1000;
if (!Number.isInteger(size) || size < 2 || size > 10000) {
  console.error('mls-memory: --size must be an integer in [2, 10000]');
  process.exit(2);
}
const share = process.argv.includes('--share');
mls.setDefaultCryptoBackend(nodeCryptoProvider);
mls.setPublicValueSharing(share);

let a = await mls.createGroup({ groupId: utf8('mls-memory-probe'), identity: utf8('m0') });
const started = performance.now();
for (let n = 1; n < size; n++) {
  const { commit } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8(`m${n}`) });
  a = (await mls.processMessage(a, commit)).newState;
  if (n % 100 === 0) console.log(`  grown to ${n} members (${Math.round((performance.now() - started) / 1000)} s)`);
}
const heap = (): number => {
  gc();
  return v8.getHeapStatistics().used_heap_size;
};
const groupInfo = await mls.groupInfo(a);
const kept: mls.GroupState[] = [];
const before = heap();
const probes = 20;
for (let i = 0; i < probes; i++) kept.push((await mls.joinExternal({ groupInfo, identity: utf8(`probe${i}`) })).pendingState);
const after = heap();
console.log(
  `size ${size}, sharing ${share ? 'on' : 'off'}: ${Math.round((after - before) / probes / 1024)} KiB retained per member state ` +
    `(${probes} states joined from one GroupInfo; heap ${Math.round(after / 1048576)} MiB)`,
);
void kept.length;
