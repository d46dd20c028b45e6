// Times joining from a saved GroupInfo in a fresh process:
//   MLS_BENCH_SAVE=/tmp/gi npx tsx test/scenario/mls-bench.ts 10000   (writes /tmp/gi-10000.bin)
//   npx tsx test/scenario/mls-bench-join.ts /tmp/gi-10000.bin [rounds]
import { readFileSync } from 'node:fs';
import { utf8 } from '../../shared/bytes/index.js';
import { getCipherSuite, verifyWithLabel, type CryptoBackend } from '../../shared/crypto/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import * as mls from '../../shared/mls/index.js';
import * as rt from '../../shared/mls/ratchetTree.js';
import { decodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { decodeRatchetTree } from '../../shared/mls/wire/node.js';
import { encodeLeafNodeTBS } from '../../shared/mls/wire/leafNode.js';

const backendName = process.env.MLS_BENCH_BACKEND ?? 'node';
const backend: CryptoBackend = backendName === 'noble' || backendName === 'webcrypto' ? backendName : nodeCryptoProvider;
mls.setDefaultCryptoBackend(backend);
const gi = readFileSync(process.argv[2]!);
const suite = getCipherSuite(1, backend);
for (let k = 0; k < Number(process.argv[3] ?? 3); k++) {
  let t = performance.now();
  const m = decodeMLSMessage(gi) as any;
  const ext = m.groupInfo.extensions.find((e: any) => e.extensionType === 2).extensionData;
  const nodes = decodeRatchetTree(ext);
  const tDecode = performance.now() - t;
  t = performance.now();
  const tree = rt.treeFromNodeList(nodes);
  await rt.treeHash(suite, tree);
  const tHash = performance.now() - t;
  t = performance.now();
  await rt.verifyParentHashes(suite, tree);
  const tPh = performance.now() - t;
  t = performance.now();
  for (const l of rt.nonBlankLeaves(tree)) {
    const leaf = rt.leafAt(tree, l)!;
    await verifyWithLabel(suite, leaf.signatureKey, 'LeafNodeTBS', encodeLeafNodeTBS(leaf, m.groupInfo.groupContext.groupId, l), leaf.signature);
  }
  const tSig = performance.now() - t;
  t = performance.now();
  await mls.joinExternal({ groupInfo: gi, identity: utf8('newcomer') });
  const tJoin = performance.now() - t;
  console.log(`members=${rt.nonBlankLeaves(tree).length} join=${tJoin.toFixed(0)}ms [decode ${tDecode.toFixed(0)}ms, tree hash ${tHash.toFixed(0)}ms, parent hashes ${tPh.toFixed(0)}ms, leaf signatures ${tSig.toFixed(0)}ms] GroupInfo=${gi.length}B`);
}
