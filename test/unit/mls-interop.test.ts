// Interop between shared/mls and ts-mls 1.6.4 (an independent RFC 9420 implementation):
//  - ts-mls joins a shared/mls group by Welcome and by external commit,
//  - shared/mls joins a ts-mls group by Welcome and by external commit,
//  - commits (with UpdatePath, adds, removes; PublicMessage and PrivateMessage framing) from both
//    sides, application messages both ways, and a server (external sender) Remove proposal,
// and after every epoch change all members agree on epoch_authenticator (§8.7) and on
// MLS-Exporter("SFrame 1.0 Base Key", "", 16) (§8.5).
// Known ts-mls deviation worked around here: external_pub (§12.4.3.2), see test/interop/tsmls.ts.
// Run: npx tsx --test test/unit/mls-interop.test.ts
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { utf8 } from '../../shared/bytes/index.js';
import { getCipherSuite } from '../../shared/crypto/index.js';
import * as mls from '../../shared/mls/index.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';
import { MixedGroup } from '../interop/group.js';
import * as T from '../interop/tsmls.js';

const CONFIGS: { suite: mls.SuiteId; crypto: mls.CryptoBackend; backend: string }[] = [
  { suite: 1, crypto: 'noble', backend: 'noble' },
  { suite: 1, crypto: nodeCryptoProvider, backend: 'node' },
  { suite: 2, crypto: 'webcrypto', backend: 'webcrypto' },
  { suite: 7, crypto: nodeCryptoProvider, backend: 'node' },
];

function npk(suite: mls.SuiteId): number {
  return getCipherSuite(suite).hpke.Npk;
}

for (const cfg of CONFIGS) {
  const { suite, crypto } = cfg;
  const o = { crypto };
  describe(`interop with ts-mls, suite ${suite}, shared/mls on ${cfg.backend}`, () => {
    test('ts-mls joins a shared/mls group by Welcome; commits from both sides agree', async () => {
      const impl = await T.tsImpl(suite);
      const g = new MixedGroup(impl, crypto);
      const alice = await mls.createGroup({ groupId: utf8(`interop-welcome-${suite}`), identity: utf8('alice'), suite, crypto });
      g.add({ name: 'alice', kind: 'ours', state: alice });
      await g.checkAgreement('epoch 0');
      // Epoch 1: alice adds bob (ts-mls) and carol (ours) in one commit; both join by the Welcome.
      const bobKp = await T.tsKeyPackage(impl, utf8('bob'));
      const carolKp = await mls.createKeyPackage({ identity: utf8('carol'), suite, crypto });
      const c1 = await g.commit('alice', { add: [bobKp.bytes, carolKp.keyPackage] });
      assert.ok(c1.welcome);
      g.add({ name: 'bob', kind: 'ts', state: await T.tsJoinWelcome(impl, c1.welcome, bobKp) });
      g.add({ name: 'carol', kind: 'ours', state: await mls.joinWelcome({ welcome: c1.welcome, keyPackagePrivate: carolKp.private, crypto }) });
      assert.equal((await g.checkAgreement('after Welcome')).epoch, 1n);
      // Epochs 2-5: update commits (with path) from each side, both framings for ts-mls.
      await g.commit('bob', { publicMessage: true });
      await g.checkAgreement('ts-mls commit (PublicMessage)');
      await g.commit('alice');
      await g.checkAgreement('shared/mls commit by alice');
      await g.commit('bob', { publicMessage: false });
      await g.checkAgreement('ts-mls commit (PrivateMessage)');
      await g.commit('carol');
      await g.checkAgreement('shared/mls commit by carol');
      // Epoch 6: ts-mls adds dave (ours) -> dave joins from a ts-mls Welcome into this mixed group.
      const daveKp = await mls.createKeyPackage({ identity: utf8('dave'), suite, crypto });
      const c6 = await g.commit('bob', { add: [daveKp.keyPackage] });
      assert.ok(c6.welcome);
      g.add({ name: 'dave', kind: 'ours', state: await mls.joinWelcome({ welcome: c6.welcome, keyPackagePrivate: daveKp.private, crypto }) });
      await g.checkAgreement('ts-mls add of a shared/mls member');
      // Epoch 7: ts-mls removes carol; epoch 8: alice removes dave.
      await g.commit('bob', { remove: [mls.ownLeafIndex(g.ours('carol'))] });
      assert.ok(!g.members.has('carol'));
      await g.checkAgreement('ts-mls removes carol');
      await g.commit('alice', { remove: [mls.ownLeafIndex(g.ours('dave'))] });
      const last = await g.checkAgreement('alice removes dave');
      assert.equal(last.epoch, 8n);
      // Application data both ways (PrivateMessage, §6.3).
      const a = await mls.createApplicationMessage(g.ours('alice'), utf8('hi bob'), o);
      g.get('alice').state = a.newState;
      const got = await T.tsProcessApplication(impl, g.ts('bob'), a.message);
      assert.equal(new TextDecoder().decode(got.data), 'hi bob');
      const b = await T.tsApplication(impl, g.ts('bob'), utf8('hi alice'));
      const r = await mls.processMessage(g.ours('alice'), b.message, o);
      assert.equal(r.kind, 'application');
      assert.equal(new TextDecoder().decode((r as { data: Uint8Array }).data), 'hi alice');
    });

    test('ts-mls joins a shared/mls group by external commit', async () => {
      const impl = await T.tsImpl(suite);
      const g = new MixedGroup(impl, crypto);
      g.add({ name: 'alice', kind: 'ours', state: await mls.createGroup({ groupId: utf8(`interop-ext-${suite}`), identity: utf8('alice'), suite, crypto }) });
      const carolKp = await mls.createKeyPackage({ identity: utf8('carol'), suite, crypto });
      const c1 = await g.commit('alice', { add: [carolKp.keyPackage] });
      g.add({ name: 'carol', kind: 'ours', state: await mls.joinWelcome({ welcome: c1.welcome!, keyPackagePrivate: carolKp.private, crypto }) });
      await g.checkAgreement('alice + carol');
      const gi = await mls.groupInfo(g.ours('alice'), o);
      // Our external_pub is the RFC 9420 ExternalPub struct: varint length + key (§12.4.3.2).
      const ext = T.externalPubData(gi);
      assert.ok(ext);
      assert.equal(ext.length, 1 + npk(suite) + (npk(suite) >= 64 ? 1 : 0));
      const conv = await T.groupInfoForTsMls(impl, gi, g.ours('alice').signaturePrivateKey, npk(suite));
      assert.ok(conv.rewritten, 'ts-mls 1.6.4 needs the bare-key external_pub (if this fails, ts-mls was fixed: drop the shim)');
      const j = await T.tsJoinExternal(impl, conv.groupInfo, utf8('bob'));
      await g.deliver(j.commit);
      g.add({ name: 'bob', kind: 'ts', state: j.state });
      assert.equal((await g.checkAgreement('ts-mls external join')).epoch, 2n);
      await g.commit('bob');
      await g.checkAgreement('ts-mls commit after external join');
      await g.commit('carol');
      await g.checkAgreement('shared/mls commit');
      await g.commit('bob', { remove: [mls.ownLeafIndex(g.ours('alice'))], publicMessage: false });
      await g.checkAgreement('ts-mls removes alice (PrivateMessage)');
      // shared/mls member then joins externally from a GroupInfo that carol (ours) publishes.
      const gi2 = await mls.groupInfo(g.ours('carol'), o);
      const e = await mls.joinExternal({ groupInfo: gi2, identity: utf8('erin'), crypto });
      await g.deliver(e.commit);
      g.add({ name: 'erin', kind: 'ours', state: e.pendingState });
      await g.checkAgreement('shared/mls external join into the mixed group');
    });

    test('shared/mls joins a ts-mls group by Welcome; commits from both sides agree', async () => {
      const impl = await T.tsImpl(suite);
      const g = new MixedGroup(impl, crypto);
      g.add({ name: 'alice', kind: 'ts', state: await T.tsCreateGroup(impl, utf8(`ts-welcome-${suite}`), utf8('alice')) });
      await g.checkAgreement('ts-mls epoch 0');
      const bobKp = await mls.createKeyPackage({ identity: utf8('bob'), suite, crypto });
      const carolKp = await T.tsKeyPackage(impl, utf8('carol'));
      const c1 = await g.commit('alice', { add: [bobKp.keyPackage, carolKp.bytes] });
      assert.ok(c1.welcome);
      g.add({ name: 'bob', kind: 'ours', state: await mls.joinWelcome({ welcome: c1.welcome, keyPackagePrivate: bobKp.private, crypto }) });
      g.add({ name: 'carol', kind: 'ts', state: await T.tsJoinWelcome(impl, c1.welcome, carolKp) });
      await g.checkAgreement('after ts-mls Welcome');
      await g.commit('bob');
      await g.checkAgreement('shared/mls commit');
      await g.commit('carol', { publicMessage: false });
      await g.checkAgreement('ts-mls commit (PrivateMessage)');
      await g.commit('bob', { remove: [T.tsOwnLeaf(g.ts('carol'))] });
      await g.checkAgreement('shared/mls removes a ts-mls member');
      await g.commit('alice');
      const v = await g.checkAgreement('ts-mls commit');
      assert.equal(v.epoch, 5n);
    });

    test('shared/mls joins a ts-mls group by external commit', async () => {
      const impl = await T.tsImpl(suite);
      const g = new MixedGroup(impl, crypto);
      g.add({ name: 'alice', kind: 'ts', state: await T.tsCreateGroup(impl, utf8(`ts-ext-${suite}`), utf8('alice')) });
      const carolKp = await T.tsKeyPackage(impl, utf8('carol'));
      const c1 = await g.commit('alice', { add: [carolKp.bytes] });
      g.add({ name: 'carol', kind: 'ts', state: await T.tsJoinWelcome(impl, c1.welcome!, carolKp) });
      await g.checkAgreement('ts-mls alice + carol');
      const gi = await T.tsGroupInfo(impl, g.ts('alice'));
      // ts-mls writes the bare key (deviation from §12.4.3.2); shared/mls rejects that as malformed...
      assert.equal(T.externalPubData(gi)?.length, npk(suite));
      await assert.rejects(mls.joinExternal({ groupInfo: gi, identity: utf8('bob'), crypto }), (e: unknown) => e instanceof mls.MlsError && e.code === 'malformed-message');
      // ...so the test converts it to the RFC form (re-signed by the ts-mls signer) to exercise the rest.
      const conv = await T.groupInfoFromTsMls(impl, gi, g.ts('alice').signaturePrivateKey, npk(suite));
      assert.ok(conv.rewritten);
      const j = await mls.joinExternal({ groupInfo: conv.groupInfo, identity: utf8('bob'), crypto });
      await g.deliver(j.commit);
      g.add({ name: 'bob', kind: 'ours', state: j.pendingState });
      assert.equal((await g.checkAgreement('shared/mls external join')).epoch, 2n);
      await g.commit('carol');
      await g.checkAgreement('ts-mls commit');
      await g.commit('bob');
      await g.checkAgreement('shared/mls commit');
      await g.commit('alice', { publicMessage: false });
      await g.checkAgreement('ts-mls commit (PrivateMessage)');
      await g.commit('bob', { remove: [T.tsOwnLeaf(g.ts('alice'))] });
      await g.checkAgreement('shared/mls removes the ts-mls creator');
    });

    test('server (external sender) Remove proposals: same bytes, and ts-mls commits ours by reference', async () => {
      const impl = await T.tsImpl(suite);
      const cs = getCipherSuite(suite, crypto);
      const server = await cs.signature.generateKeyPair();
      const g = new MixedGroup(impl, crypto);
      const groupId = utf8(`interop-extsender-${suite}`);
      g.add({
        name: 'alice',
        kind: 'ours',
        state: await mls.createGroup({ groupId, identity: utf8('alice'), suite, crypto, externalSenders: [{ signatureKey: server.publicKey, identity: utf8('sfu') }] }),
      });
      const kps = { bob: await T.tsKeyPackage(impl, utf8('bob')), carol: await mls.createKeyPackage({ identity: utf8('carol'), suite, crypto }), dave: await mls.createKeyPackage({ identity: utf8('dave'), suite, crypto }) };
      const c1 = await g.commit('alice', { add: [kps.bob.bytes, kps.carol.keyPackage, kps.dave.keyPackage] });
      g.add({ name: 'bob', kind: 'ts', state: await T.tsJoinWelcome(impl, c1.welcome!, kps.bob) });
      g.add({ name: 'carol', kind: 'ours', state: await mls.joinWelcome({ welcome: c1.welcome!, keyPackagePrivate: kps.carol.private, crypto }) });
      g.add({ name: 'dave', kind: 'ours', state: await mls.joinWelcome({ welcome: c1.welcome!, keyPackagePrivate: kps.dave.private, crypto }) });
      await g.checkAgreement('group with an external sender');
      // The same Remove framed by both libraries (§12.1.8, PublicMessage without membership tag).
      const carolLeaf = mls.ownLeafIndex(g.ours('carol'));
      const ours = await mls.createExternalRemoveProposal({ groupId, epoch: 1n, removedLeaf: carolLeaf, senderIndex: 0, signaturePrivateKey: server.privateKey, suite, crypto });
      const gi = await mls.groupInfo(g.ours('alice'), o);
      const theirs = await T.tsExternalRemoveProposal(impl, gi, carolLeaf, 0, server.privateKey);
      if (cs.signature.name.startsWith('Ed')) assert.deepEqual(ours, theirs, 'deterministic EdDSA: both libraries must produce the same PublicMessage bytes');
      // shared/mls verifies and records the ts-mls-framed proposal...
      const p = await mls.processMessage(g.ours('alice'), theirs, o);
      assert.equal(p.kind, 'proposal');
      assert.equal((p as { removedLeaf?: number }).removedLeaf, carolLeaf);
      // ...members take ours; ts-mls needs the external_senders shim (its deviation, see tsmls.ts).
      await assert.rejects(T.tsProcess(impl, g.ts('bob'), ours), /ExternalSender/, 'ts-mls 1.6.4 reads external_senders as one bare ExternalSender (if this fails, ts-mls was fixed: drop the shim)');
      g.get('bob').state = await T.tsProcessExternalSenderProposal(impl, g.ts('bob'), ours);
      for (const n of ['alice', 'carol', 'dave']) g.get(n).state = (await mls.processMessage(g.ours(n), ours, o)).newState;
      const carol = g.ours('carol');
      g.members.delete('carol');
      // bob (ts-mls) commits the pending proposal by reference; alice and dave resolve the same ProposalRef.
      const c2 = await g.commit('bob');
      const out = await mls.processMessage(carol, c2.commit, o);
      assert.ok(out.kind === 'commit' && out.selfRemoved, 'carol learns she was removed');
      const v = await g.checkAgreement('ts-mls commits the server Remove');
      assert.equal(v.epoch, 2n);
      assert.deepEqual(mls.roster(g.ours('alice')).map((m) => new TextDecoder().decode(m.identity)).sort(), ['alice', 'bob', 'dave']);
      // And the other way: a shared/mls member commits a server Remove of the ts-mls member.
      const rm = await mls.createExternalRemoveProposal({ groupId, epoch: 2n, removedLeaf: T.tsOwnLeaf(g.ts('bob')), senderIndex: 0, signaturePrivateKey: server.privateKey, suite, crypto });
      for (const n of ['alice', 'dave']) g.get(n).state = (await mls.processMessage(g.ours(n), rm, o)).newState;
      g.members.delete('bob');
      await g.commit('dave');
      assert.equal((await g.checkAgreement('shared/mls commits the server Remove of the ts-mls member')).epoch, 3n);
    });
  });
}
