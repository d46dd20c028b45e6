// An external joiner that loses a race retries on the next epoch's tree; with a VerifiedLeaves kept
// across its attempts it verifies again only the leaves that changed (a forged leaf at an index that
// verified before is still refused: mls-tree-validation.test.ts). Run: node --import tsx --test test/unit/mls-join-retry.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../shared/bytes/index.js';
import { getCipherSuite, type CipherSuite, type CryptoProvider, type SuiteId } from '../../shared/crypto/index.js';
import * as mls from '../../shared/mls/index.js';

/** The noble backend, counting signature verifications. */
function counting(): { provider: CryptoProvider; verifications: () => number } {
  let n = 0;
  const suites = new Map<SuiteId, CipherSuite>();
  const provider: CryptoProvider = {
    name: 'noble-counting',
    getCipherSuite(id) {
      let s = suites.get(id);
      if (!s) {
        const base = getCipherSuite(id, 'noble');
        const signature = { ...base.signature, name: base.signature.name, verify: (pk: Uint8Array, m: Uint8Array, sig: Uint8Array) => (n++, base.signature.verify(pk, m, sig)) };
        s = { ...base, hmac: base.hmac.bind(base), signature } as CipherSuite;
        suites.set(id, s);
      }
      return s;
    },
  };
  return { provider, verifications: () => n };
}

async function groupOf(size: number): Promise<mls.GroupState> {
  let a = await mls.createGroup({ groupId: utf8('retry-group'), identity: utf8('m0'), crypto: 'noble' });
  for (let i = 1; i < size; i++) {
    const { commit } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8(`m${i}`), crypto: 'noble' });
    a = (await mls.processMessage(a, commit, { crypto: 'noble' })).newState;
  }
  return a;
}

test('a retry verifies only the leaves that changed since the last attempt', async () => {
  let a = await groupOf(6);
  const { provider, verifications } = counting();
  const verifiedLeaves = new mls.VerifiedLeaves();
  const keys = await mls.generateSignatureKeyPair(1, { crypto: 'noble' });
  // Attempt 1: every leaf (6) plus the GroupInfo signature.
  const before1 = verifications();
  await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8('late'), signatureKeyPair: keys, verifiedLeaves, crypto: provider });
  assert.equal(verifications() - before1, 6 + 1);
  assert.equal(verifiedLeaves.size, 6);
  // Someone else's join won: one new leaf, and nothing else about the old leaves changed.
  const { commit } = await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8('winner'), crypto: 'noble' });
  a = (await mls.processMessage(a, commit, { crypto: 'noble' })).newState;
  const before2 = verifications();
  await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8('late'), signatureKeyPair: keys, verifiedLeaves, crypto: provider });
  assert.equal(verifications() - before2, 1 + 1, 'the new leaf and the GroupInfo');
  // Without the cache, every leaf again.
  const before3 = verifications();
  await mls.joinExternal({ groupInfo: await mls.groupInfo(a), identity: utf8('late'), signatureKeyPair: keys, crypto: provider });
  assert.equal(verifications() - before3, 7 + 1);
});

test('VerifiedLeaves is bounded: it starts over at its limit', () => {
  const v = new mls.VerifiedLeaves(2);
  const k = (i: number) => v.keyOf(1, new Uint8Array([i]), new Uint8Array(64));
  v.add(k(1));
  v.add(k(2));
  assert.equal(v.size, 2);
  v.add(k(3));
  assert.equal(v.size, 1);
  assert.ok(v.has(k(3)) && !v.has(k(1)));
  assert.notEqual(v.keyOf(1, new Uint8Array([1, 2]), new Uint8Array([3])), v.keyOf(1, new Uint8Array([2]), new Uint8Array([3, 1])), 'signature and TBS cannot run into each other');
  assert.notEqual(v.keyOf(1, new Uint8Array([1]), new Uint8Array([3])), v.keyOf(2, new Uint8Array([1]), new Uint8Array([3])), 'the suite is part of the entry');
});
