// Resumption PSKs in a Welcome (RFC 9420 §8.6, §12.4.3.1): reinitialization (§11.2) and subgroup
// branching (§11.3). The new group's members join with their old state and agree; a Welcome that
// does not match the old group, lacks the old state or carries two linking PSKs is refused.
// Run: npx tsx --test test/unit/mls-resumption.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import { encryptWithLabel, getCipherSuite, makeKeyPackageRef } from '../../shared/crypto/index.js';
import * as mls from '../../shared/mls/index.js';
import { createCommitState, reinitGroupState } from '../../shared/mls/group.js';
import { validateProposal } from '../../shared/mls/proposals.js';
import { encodeGroupSecrets } from '../../shared/mls/wire/groupSecrets.js';
import { encodeKeyPackage } from '../../shared/mls/wire/keyPackage.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { PSKType, ResumptionPSKUsage, type PreSharedKeyID } from '../../shared/mls/wire/preSharedKeyId.js';
import { ProposalType } from '../../shared/mls/wire/proposal.js';
import { WireFormat } from '../../shared/mls/wire/wireFormat.js';

const crypto = 'webcrypto' as const;

function isMls(code: string) {
  return (e: unknown) => {
    assert.ok(e instanceof mls.MlsError, `expected MlsError ${code}, got ${String(e)}`);
    assert.equal((e as mls.MlsError).code, code, (e as Error).message);
    return true;
  };
}

/** Alice, Bob and Carol in group "old" (Bob and Carol joined by external commits). */
async function trio(suite: mls.SuiteId = 1) {
  let alice = await mls.createGroup({ groupId: utf8('old'), identity: utf8('alice'), suite, crypto });
  const j1 = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice, { crypto }), identity: utf8('bob'), crypto });
  alice = (await mls.processMessage(alice, j1.commit, { crypto })).newState;
  let bob = j1.pendingState;
  const j2 = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice, { crypto }), identity: utf8('carol'), crypto });
  alice = (await mls.processMessage(alice, j2.commit, { crypto })).newState;
  bob = (await mls.processMessage(bob, j2.commit, { crypto })).newState;
  return { alice, bob, carol: j2.pendingState };
}

const ea = (s: mls.GroupState) => toHex(mls.epochAuthenticator(s));

test('reinit (§11.2): a ReInit commit closes the old group; the new group (new id and cipher suite) is joined with the reinit PSK', async () => {
  const { alice, bob, carol } = await trio();
  // Alice commits ReInit to group "new" with cipher suite 3 (ChaCha20-Poly1305, same Ed25519 signatures).
  const c = await mls.createCommit(alice, { reinit: { groupId: utf8('new'), suite: 3 }, crypto });
  const aliceOld = c.pendingState;
  const bobOld = (await mls.processMessage(bob, c.commit, { crypto })).newState;
  const carolOld = (await mls.processMessage(carol, c.commit, { crypto })).newState;
  assert.ok(aliceOld.reinit && bobOld.reinit && carolOld.reinit);
  await assert.rejects(mls.createCommit(bobOld, { crypto }), isMls('group-reinitialized'));

  // Bob recreates the group (any member may, §11.2) from fresh suite-3 KeyPackages of Alice and Carol.
  const kpA = await mls.createKeyPackage({ identity: utf8('alice'), suite: 3, crypto });
  const kpC = await mls.createKeyPackage({ identity: utf8('carol'), suite: 3, crypto });
  const r = await mls.reinitGroup(bobOld, { keyPackages: [kpA.keyPackage, kpC.keyPackage], crypto });
  const bobNew = r.pendingState;
  assert.equal(mls.epoch(bobNew), 1n);
  assert.equal(mls.suiteOf(bobNew), 3);
  assert.equal(toHex(mls.groupId(bobNew)), toHex(utf8('new')));
  assert.deepEqual(r.addedLeaves, [1, 2]);

  const aliceNew = await mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpA.private, resumptionStates: [aliceOld], crypto });
  const carolNew = await mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpC.private, resumptionStates: [carolOld], crypto });
  assert.equal(ea(aliceNew), ea(bobNew));
  assert.equal(ea(carolNew), ea(bobNew));
  // The new group works: Carol commits, the others follow.
  const next = await mls.createCommit(carolNew, { crypto });
  assert.equal(ea((await mls.processMessage(aliceNew, next.commit, { crypto })).newState), ea(next.pendingState));
  assert.equal(ea((await mls.processMessage(bobNew, next.commit, { crypto })).newState), ea(next.pendingState));

  // Without the old state the resumption PSK is unknown; so it is with a state from before the
  // ReInit commit (the PSK is that of the epoch the commit created, which such a state never had).
  await assert.rejects(mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpA.private, crypto }), isMls('unknown-psk'));
  await assert.rejects(mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpA.private, resumptionStates: [alice], crypto }), isMls('unknown-psk'));
  await assert.rejects(mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpC.private, resumptionStates: [carol], crypto }), isMls('unknown-psk'));
  // reinitGroup needs a committed ReInit.
  await assert.rejects(mls.reinitGroup(bob, { keyPackages: [], crypto }), isMls('not-reinitialized'));
});

test('reinit: a new group that differs from the committed ReInit is refused by the joiner (reinit-mismatch)', async () => {
  const { alice, bob } = await trio();
  const c = await mls.createCommit(alice, { reinit: { groupId: utf8('new') }, crypto });
  const aliceOld = c.pendingState;
  const bobOld = (await mls.processMessage(bob, c.commit, { crypto })).newState;
  const kpB = await mls.createKeyPackage({ identity: utf8('bob'), crypto });
  // Alice builds the new group from a doctored old state whose ReInit names another group id:
  // the Welcome is well formed, but not for the group Bob's old group agreed on.
  const doctored = { ...aliceOld, reinit: { ...aliceOld.reinit!, groupId: utf8('other') } };
  const kpMsg = decodeMLSMessage(kpB.keyPackage) as Extract<ReturnType<typeof decodeMLSMessage>, { wireFormat: 5 }>;
  const r = await reinitGroupState(doctored, { keyPackages: [kpMsg.keyPackage], crypto });
  await assert.rejects(mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpB.private, resumptionStates: [bobOld], crypto }), isMls('reinit-mismatch'));
  // The honest one is accepted.
  const ok = await mls.reinitGroup(aliceOld, { keyPackages: [kpB.keyPackage], crypto });
  const bobNew = await mls.joinWelcome({ welcome: ok.welcome!, keyPackagePrivate: kpB.private, resumptionStates: [bobOld], crypto });
  assert.equal(ea(bobNew), ea(ok.pendingState));
});

test('branch (§11.3): a subgroup of old members joins with the branch PSK; a stranger in the branch is refused', async () => {
  const { alice, bob, carol } = await trio();
  const kpB = await mls.createKeyPackage({ identity: utf8('bob'), crypto });
  const r = await mls.branchGroup(alice, { groupId: utf8('side'), keyPackages: [kpB.keyPackage], crypto });
  assert.equal(mls.epoch(r.pendingState), 1n);
  const bobSide = await mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpB.private, resumptionStates: [carol, bob], crypto });
  assert.equal(ea(bobSide), ea(r.pendingState));
  assert.equal(mls.roster(bobSide).length, 2);
  // The old group carries on independently.
  const c = await mls.createCommit(bob, { crypto });
  assert.equal(ea((await mls.processMessage(carol, c.commit, { crypto })).newState), ea(c.pendingState));

  // A branch that also adds someone who is not in the old group: the member check fails.
  const kpB2 = await mls.createKeyPackage({ identity: utf8('bob'), crypto });
  const kpX = await mls.createKeyPackage({ identity: utf8('mallory'), crypto });
  const bad = await mls.branchGroup(alice, { groupId: utf8('side2'), keyPackages: [kpB2.keyPackage, kpX.keyPackage], crypto });
  await assert.rejects(mls.joinWelcome({ welcome: bad.welcome!, keyPackagePrivate: kpB2.private, resumptionStates: [bob], crypto }), isMls('branch-member-mismatch'));
  // Without the old state: unknown PSK.
  await assert.rejects(mls.joinWelcome({ welcome: r.welcome!, keyPackagePrivate: kpB.private, crypto }), isMls('unknown-psk'));
});

test('reinit/branch PSKs only where they belong: not in PreSharedKey proposals, one per Welcome', async () => {
  const { alice, bob } = await trio();
  const suite = getCipherSuite(1, crypto);
  const id = (usage: number): PreSharedKeyID => ({ pskType: PSKType.resumption, usage, pskGroupId: alice.groupContext.groupId, pskEpoch: alice.groupContext.epoch, pskNonce: new Uint8Array(32) });
  for (const usage of [ResumptionPSKUsage.reinit, ResumptionPSKUsage.branch]) {
    await assert.rejects(validateProposal(suite, alice.tree, alice.groupContext, { proposalType: ProposalType.psk, psk: { psk: id(usage) } }, { senderType: 1, leafIndex: 1 }), isMls('psk-usage'));
    await assert.rejects(createCommitState(alice, { proposals: [{ proposalType: ProposalType.psk, psk: { psk: id(usage) } }], crypto }), isMls('psk-usage'));
  }
  await validateProposal(suite, alice.tree, alice.groupContext, { proposalType: ProposalType.psk, psk: { psk: id(ResumptionPSKUsage.application) } }, { senderType: 1, leafIndex: 1 });

  // A Welcome whose GroupSecrets for Bob list two linking PSKs: refused before any PSK is looked up.
  const kpB = await mls.createKeyPackage({ identity: utf8('bob'), crypto });
  const r = await mls.branchGroup(alice, { groupId: utf8('side'), keyPackages: [kpB.keyPackage], crypto });
  const wm = decodeMLSMessage(r.welcome!) as Extract<ReturnType<typeof decodeMLSMessage>, { wireFormat: 3 }>;
  const kpMsg = decodeMLSMessage(kpB.keyPackage) as Extract<ReturnType<typeof decodeMLSMessage>, { wireFormat: 5 }>;
  const gs = encodeGroupSecrets({ joinerSecret: new Uint8Array(32), psks: [id(ResumptionPSKUsage.branch), id(ResumptionPSKUsage.reinit)] });
  const ct = await encryptWithLabel(suite, kpMsg.keyPackage.initKey, 'Welcome', wm.welcome.encryptedGroupInfo, gs);
  const forged = encodeMLSMessage({
    version: 1,
    wireFormat: WireFormat.mls_welcome,
    welcome: { ...wm.welcome, secrets: [{ newMember: await makeKeyPackageRef(suite, encodeKeyPackage(kpMsg.keyPackage)), encryptedGroupSecrets: ct }] },
  });
  await assert.rejects(mls.joinWelcome({ welcome: forged, keyPackagePrivate: kpB.private, resumptionStates: [bob], crypto }), isMls('psk-resumption-count'));
});
