// A room over time (in memory, one ordered queue): seeded random joins by external commit, joins by
// Welcome, server Remove proposals committed by the lowest leaf, empty commits and application
// messages. After every step every member has the same epoch, epoch authenticator, exporter and
// roster. Exercises blanks, unmerged leaves, truncation and tree growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('a room of joins, leaves and commits stays in agreement', async () => {
  const rand = prng(9420);
  const server = await mls.generateSignatureKeyPair(1);
  const groupId = utf8('room-sim');
  const members = new Map<string, mls.GroupState>();
  members.set('m0', await mls.createGroup({ groupId, identity: utf8('m0'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('ds') }] }));
  let next = 1;
  const any = () => [...members.values()][0]!;

  /** Fans a commit out to everyone except the committer, who adopts its pending state. */
  async function fanOut(commit: Uint8Array, committer: string | undefined, pending: mls.GroupState, removed: number[]) {
    for (const [name, st] of [...members]) {
      if (name === committer) continue;
      if (removed.includes(mls.ownLeafIndex(st))) {
        const r = await mls.processMessage(st, commit);
        assert.equal(r.kind === 'commit' && r.selfRemoved, true, `${name} sees its removal`);
        members.delete(name);
        continue;
      }
      members.set(name, (await mls.processMessage(st, commit)).newState);
    }
    if (committer) members.set(committer, pending);
  }

  async function checkAgreement(step: string) {
    const states = [...members.values()];
    const auth = new Set(states.map((s) => toHex(mls.epochAuthenticator(s))));
    assert.equal(auth.size, 1, `${step}: epoch authenticators agree`);
    const exp = new Set(await Promise.all(states.map(async (s) => toHex(await mls.exporter(s, 'SFrame 1.0 Base Key', new Uint8Array(0), 16)))));
    assert.equal(exp.size, 1, `${step}: exporters agree`);
    const rosters = new Set(states.map((s) => JSON.stringify(mls.roster(s).map((m) => [m.leafIndex, toHex(m.identity)]))));
    assert.equal(rosters.size, 1, `${step}: rosters agree`);
    assert.equal(mls.roster(states[0]!).length, members.size, `${step}: roster size`);
  }

  for (let step = 0; step < 20; step++) {
    const r = rand();
    if (members.size < 3 || r < 0.35) {
      // External join from the latest GroupInfo of a random member.
      const name = `m${next++}`;
      const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(any()), identity: utf8(name) });
      await fanOut(j.commit, undefined, j.pendingState, []);
      members.set(name, j.pendingState);
    } else if (r < 0.5) {
      // Add by Welcome, committed by a random member.
      const name = `m${next++}`;
      const kp = await mls.createKeyPackage({ identity: utf8(name) });
      const [committer, st] = [...members][Math.floor(rand() * members.size)]!;
      const c = await mls.createCommit(st, { add: [kp.keyPackage] });
      await fanOut(c.commit, committer, c.pendingState, []);
      members.set(name, await mls.joinWelcome({ welcome: c.welcome!, keyPackagePrivate: kp.private }));
    } else if (r < 0.8) {
      // The server removes a random member; the lowest remaining leaf commits it.
      const victims = [...members.values()].map((s) => mls.ownLeafIndex(s));
      const victim = victims[Math.floor(rand() * victims.length)]!;
      const p = await mls.createExternalRemoveProposal({ groupId, epoch: mls.epoch(any()), removedLeaf: victim, senderIndex: 0, signaturePrivateKey: server.privateKey });
      for (const [name, st] of [...members]) members.set(name, (await mls.processMessage(st, p)).newState);
      const [committer, st] = [...members].filter(([, s]) => mls.ownLeafIndex(s) !== victim).sort((a, b) => mls.ownLeafIndex(a[1]) - mls.ownLeafIndex(b[1]))[0]!;
      const c = await mls.createCommit(st);
      assert.deepEqual(c.removedLeaves, [victim]);
      await fanOut(c.commit, committer, c.pendingState, [victim]);
    } else {
      // An empty commit (key refresh) by a random member, then an application message.
      const [committer, st] = [...members][Math.floor(rand() * members.size)]!;
      const c = await mls.createCommit(st);
      await fanOut(c.commit, committer, c.pendingState, []);
      const [sender, s2] = [...members][Math.floor(rand() * members.size)]!;
      const m = await mls.createApplicationMessage(s2, utf8(`hello from ${sender}`));
      members.set(sender, m.newState);
      for (const [name, st2] of [...members]) {
        if (name === sender) continue;
        const got = await mls.processMessage(st2, m.message);
        assert.equal(got.kind === 'application' && new TextDecoder().decode(got.data), `hello from ${sender}`);
        members.set(name, got.newState);
      }
    }
    await checkAgreement(`step ${step}`);
  }
  assert.ok(members.size >= 2);
});
