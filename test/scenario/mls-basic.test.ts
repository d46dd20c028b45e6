// In-memory room: a creator, 4 external joiners, a server Remove proposal committed by another
// member; every member ends with the same epoch_authenticator and exporter output; the removed
// member cannot process the next commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';

test('creator + 4 external joiners + server remove', async () => {
  const server = await mls.generateSignatureKeyPair(1);
  const groupId = utf8('room-1');
  const states = new Map<string, mls.GroupState>();
  states.set('alice', await mls.createGroup({ groupId, identity: utf8('alice'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('ds') }] }));
  let latestGroupInfo = await mls.groupInfo(states.get('alice')!);

  // Four external joins, each commit fanned out to everyone else.
  for (const name of ['bob', 'carol', 'dave', 'erin']) {
    const { commit, pendingState } = await mls.joinExternal({ groupInfo: latestGroupInfo, identity: utf8(name) });
    for (const [other, st] of states) {
      const r = await mls.processMessage(st, commit);
      assert.equal(r.kind, 'commit');
      states.set(other, r.newState);
    }
    states.set(name, pendingState);
    latestGroupInfo = await mls.groupInfo(pendingState);
  }
  assert.equal(mls.roster(states.get('alice')!).length, 5);
  const epochs = [...states.values()].map((s) => mls.epoch(s));
  assert.ok(epochs.every((e) => e === 4n));

  // The server removes carol (leaf of carol as seen by alice).
  const carolLeaf = mls.ownLeafIndex(states.get('carol')!);
  const proposal = await mls.createExternalRemoveProposal({
    groupId,
    epoch: 4n,
    removedLeaf: carolLeaf,
    senderIndex: 0,
    signaturePrivateKey: server.privateKey,
  });
  for (const [name, st] of states) {
    const r = await mls.processMessage(st, proposal);
    assert.equal(r.kind, 'proposal');
    assert.equal(r.kind === 'proposal' && r.removedLeaf, carolLeaf);
    states.set(name, r.newState);
  }
  // Bob commits it (by reference).
  const bob = states.get('bob')!;
  const before = mls.epoch(bob);
  const { commit, pendingState } = await mls.createCommit(bob);
  assert.equal(mls.epoch(bob), before, 'createCommit must not change the state');
  for (const [name, st] of states) {
    if (name === 'bob') continue;
    const r = await mls.processMessage(st, commit);
    assert.equal(r.kind, 'commit');
    if (r.kind !== 'commit') continue;
    if (name === 'carol') {
      assert.equal(r.selfRemoved, true);
      states.delete('carol');
      states.set('carol-old', st);
    } else {
      assert.deepEqual(r.removedLeaves, [carolLeaf]);
      states.set(name, r.newState);
    }
  }
  states.set('bob', pendingState);

  const members = ['alice', 'bob', 'dave', 'erin'];
  const auth = members.map((m) => toHex(mls.epochAuthenticator(states.get(m)!)));
  assert.ok(auth.every((a) => a === auth[0]), 'epoch authenticators agree');
  const exp = await Promise.all(members.map((m) => mls.exporter(states.get(m)!, 'SFrame 1.0 Base Key', new Uint8Array(0), 16)));
  assert.ok(exp.every((e) => toHex(e) === toHex(exp[0]!)), 'exporters agree');
  assert.equal(mls.roster(states.get('alice')!).length, 4);

  // Next commit (by alice): carol, still at the old epoch, cannot process it.
  const next = await mls.createCommit(states.get('alice')!);
  await assert.rejects(mls.processMessage(states.get('carol-old')!, next.commit), (e: unknown) => e instanceof mls.MlsError);
  for (const m of ['bob', 'dave', 'erin']) {
    const r = await mls.processMessage(states.get(m)!, next.commit);
    states.set(m, r.newState);
  }
  states.set('alice', next.pendingState);
  const auth2 = members.map((m) => toHex(mls.epochAuthenticator(states.get(m)!)));
  assert.ok(auth2.every((a) => a === auth2[0]));

  // Application message round trip and state serialization.
  const app = await mls.createApplicationMessage(states.get('dave')!, utf8('hello'));
  const got = await mls.processMessage(mls.deserializeState(mls.serializeState(states.get('erin')!)), app.message);
  assert.equal(got.kind, 'application');
  assert.deepEqual(got.kind === 'application' && got.data, utf8('hello'));
});

test('add by KeyPackage and Welcome', async () => {
  let alice = await mls.createGroup({ groupId: utf8('g2'), identity: utf8('alice') });
  const kp = await mls.createKeyPackage({ identity: utf8('bob') });
  const c = await mls.createCommit(alice, { add: [kp.keyPackage] });
  assert.ok(c.welcome);
  alice = c.pendingState;
  const bob = await mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kp.private });
  assert.equal(toHex(mls.epochAuthenticator(bob)), toHex(mls.epochAuthenticator(alice)));
  const kp2 = await mls.createKeyPackage({ identity: utf8('carol') });
  const c2 = await mls.createCommit(bob, { add: [kp2.keyPackage] });
  const carol = await mls.joinWelcome({ welcome: c2.welcome!, keyPackagePrivate: kp2.private });
  const a2 = await mls.processMessage(alice, c2.commit);
  assert.equal(toHex(mls.epochAuthenticator(a2.newState)), toHex(mls.epochAuthenticator(carol)));
  assert.equal(toHex(mls.epochAuthenticator(c2.pendingState)), toHex(mls.epochAuthenticator(carol)));
});

test('discardState wipes the old epoch but not the new one', async () => {
  const a0 = await mls.createGroup({ groupId: utf8('g3'), identity: utf8('alice') });
  const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(a0), identity: utf8('bob') });
  const r = await mls.processMessage(a0, j.commit);
  const keyBefore = await mls.exporter(r.newState, 'x', new Uint8Array(0), 16);
  const oldAuth = a0.secrets.exporterSecret;
  mls.discardState(a0, r.newState);
  assert.ok(oldAuth.every((b) => b === 0), 'old exporter secret wiped');
  assert.deepEqual(await mls.exporter(r.newState, 'x', new Uint8Array(0), 16), keyBefore, 'new state intact');
  const m = await mls.createApplicationMessage(j.pendingState, utf8('still works'));
  const got = await mls.processMessage(r.newState, m.message);
  assert.equal(got.kind, 'application');
});

test('Update proposal by reference: the proposer keeps following the group', async () => {
  let alice = await mls.createGroup({ groupId: utf8('g4'), identity: utf8('alice') });
  const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('bob') });
  alice = (await mls.processMessage(alice, j.commit)).newState;
  let bob = j.pendingState;
  const j2 = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('carol') });
  alice = (await mls.processMessage(alice, j2.commit)).newState;
  bob = (await mls.processMessage(bob, j2.commit)).newState;
  let carol = j2.pendingState;
  const up = await mls.proposeUpdate(alice);
  alice = up.newState;
  bob = (await mls.processMessage(bob, up.message)).newState;
  carol = (await mls.processMessage(carol, up.message)).newState;
  const c = await mls.createCommit(bob);
  bob = c.pendingState;
  alice = (await mls.processMessage(alice, c.commit)).newState;
  carol = (await mls.processMessage(carol, c.commit)).newState;
  const auth = [alice, bob, carol].map((s) => toHex(mls.epochAuthenticator(s)));
  assert.ok(auth.every((a) => a === auth[0]));
  // Alice's new leaf key works: carol's next commit encrypts to it.
  const c2 = await mls.createCommit(carol);
  alice = (await mls.processMessage(alice, c2.commit)).newState;
  assert.equal(toHex(mls.epochAuthenticator(alice)), toHex(mls.epochAuthenticator(c2.pendingState)));
});

test('Welcome without the ratchet_tree extension needs the tree out of band', async () => {
  const alice = await mls.createGroup({ groupId: utf8('g5'), identity: utf8('alice') });
  const kp = await mls.createKeyPackage({ identity: utf8('bob') });
  const c = await mls.createCommit(alice, { add: [kp.keyPackage], ratchetTreeInWelcome: false });
  await assert.rejects(mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kp.private }), (e: unknown) => e instanceof mls.MlsError && e.code === 'missing-ratchet-tree');
  const bob = await mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kp.private, ratchetTree: mls.ratchetTree(c.pendingState) });
  assert.equal(toHex(mls.epochAuthenticator(bob)), toHex(mls.epochAuthenticator(c.pendingState)));
  // A tree that does not match the GroupContext is refused.
  await assert.rejects(mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kp.private, ratchetTree: mls.ratchetTree(alice) }), (e: unknown) => e instanceof mls.MlsError);
});
