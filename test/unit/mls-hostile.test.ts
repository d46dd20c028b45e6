// Hostile input: each forged or damaged message is rejected with an MlsError naming the rule,
// and the receiver's state is unchanged (byte-identical serialization).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8 } from '../../shared/bytes/index.js';
import { getCipherSuite } from '../../shared/crypto/index.js';
import * as mls from '../../shared/mls/index.js';
import { membershipTag, signFramedContent } from '../../shared/mls/framing.js';
import { decodeMLSMessage, encodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { WireFormat } from '../../shared/mls/wire/wireFormat.js';
import { ContentType, SenderType, type FramedContent, type FramedContentAuthData } from '../../shared/mls/wire/framedContent.js';
import { ProposalOrRefType } from '../../shared/mls/wire/commit.js';
import { ProposalType } from '../../shared/mls/wire/proposal.js';
import type { PublicMessage } from '../../shared/mls/wire/publicMessage.js';

const suite = getCipherSuite(1);

async function room() {
  const server = await mls.generateSignatureKeyPair(1);
  let alice = await mls.createGroup({ groupId: utf8('hostile'), identity: utf8('alice'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('ds') }] });
  const j1 = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('bob') });
  alice = (await mls.processMessage(alice, j1.commit)).newState;
  let bob = j1.pendingState;
  const j2 = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('carol') });
  alice = (await mls.processMessage(alice, j2.commit)).newState;
  bob = (await mls.processMessage(bob, j2.commit)).newState;
  const carol = j2.pendingState;
  return { server, alice, bob, carol };
}

function pub(bytes: Uint8Array): PublicMessage {
  const m = decodeMLSMessage(bytes);
  assert.equal(m.wireFormat, WireFormat.mls_public_message);
  return (m as Extract<typeof m, { wireFormat: 1 }>).publicMessage;
}
function encPub(pm: PublicMessage): Uint8Array {
  return encodeMLSMessage({ version: 1, wireFormat: WireFormat.mls_public_message, publicMessage: pm });
}

/** Re-signs (optionally) and re-tags a member's PublicMessage as `sender` would in `senderState`'s epoch. */
async function forge(senderState: mls.GroupState, content: FramedContent, auth: FramedContentAuthData, resign = true): Promise<Uint8Array> {
  const signature = resign ? await signFramedContent(suite, senderState.signaturePrivateKey, WireFormat.mls_public_message, content, senderState.groupContext) : auth.signature;
  const a: FramedContentAuthData = auth.confirmationTag ? { signature, confirmationTag: auth.confirmationTag } : { signature };
  const tag = await membershipTag(suite, senderState.secrets.membershipKey, content, a, senderState.groupContext);
  return encPub({ content, auth: a, membershipTag: tag });
}

async function rejects(state: mls.GroupState, message: Uint8Array, code: string): Promise<void> {
  const before = mls.serializeState(state);
  await assert.rejects(mls.processMessage(state, message), (e: unknown) => {
    assert.ok(e instanceof mls.MlsError, `expected MlsError, got ${String(e)}`);
    assert.equal((e as mls.MlsError).code, code);
    return true;
  });
  assert.deepEqual(mls.serializeState(state), before, 'state unchanged');
}

test('hostile commits and proposals are rejected, state unchanged', async () => {
  const { server, alice, bob } = await room();
  const good = await mls.createCommit(bob);
  const pm = pub(good.commit);

  // Bad membership tag.
  const badTag = { ...pm, membershipTag: pm.membershipTag!.slice() };
  badTag.membershipTag![0]! ^= 1;
  await rejects(alice, encPub(badTag), 'bad-membership-tag');

  // Bad signature (membership tag recomputed so the signature check is what fails).
  const sig = pm.auth.signature.slice();
  sig[5]! ^= 1;
  await rejects(alice, await forge(bob, pm.content, { ...pm.auth, signature: sig }, false), 'bad-signature');

  // Wrong confirmation tag (signature and membership tag valid).
  const ct = pm.auth.confirmationTag!.slice();
  ct[0]! ^= 1;
  await rejects(alice, await forge(bob, pm.content, { ...pm.auth, confirmationTag: ct }), 'bad-confirmation-tag');

  // Wrong epoch.
  await rejects(alice, await forge(bob, { ...pm.content, epoch: pm.content.epoch + 1n }, pm.auth), 'wrong-epoch');
  // Wrong group.
  await rejects(alice, await forge(bob, { ...pm.content, groupId: utf8('other') }, pm.auth), 'wrong-group');

  // Truncated and trailing bytes.
  await rejects(alice, good.commit.subarray(0, good.commit.length - 1), 'malformed-message');
  const trailing = new Uint8Array(good.commit.length + 1);
  trailing.set(good.commit);
  await rejects(alice, trailing, 'malformed-message');
  await rejects(alice, new Uint8Array(0), 'malformed-message');

  // A commit that removes the committer.
  const c = pm.content as Extract<FramedContent, { contentType: 3 }>;
  const removeSelf = { ...c, commit: { ...c.commit, proposals: [{ type: ProposalOrRefType.proposal, proposal: { proposalType: ProposalType.remove, remove: { removed: mls.ownLeafIndex(bob) } } } as const] } };
  await rejects(alice, await forge(bob, removeSelf, pm.auth), 'commit-removes-committer');
  // The same leaf removed twice.
  const rm = { type: ProposalOrRefType.proposal, proposal: { proposalType: ProposalType.remove, remove: { removed: 2 } } } as const;
  await rejects(alice, await forge(bob, { ...c, commit: { ...c.commit, proposals: [rm, rm] } }, pm.auth), 'duplicate-leaf-change');
  // Remove of a blank / missing leaf.
  const rmMissing = { type: ProposalOrRefType.proposal, proposal: { proposalType: ProposalType.remove, remove: { removed: 7 } } } as const;
  await rejects(alice, await forge(bob, { ...c, commit: { ...c.commit, proposals: [rmMissing] } }, pm.auth), 'remove-blank-leaf');
  // A proposal reference nobody sent.
  const ref = { type: ProposalOrRefType.reference, reference: new Uint8Array(32).fill(9) } as const;
  await rejects(alice, await forge(bob, { ...c, commit: { ...c.commit, proposals: [ref] } }, pm.auth), 'unknown-proposal-ref');
  // ExternalInit in a member commit.
  const ei = { type: ProposalOrRefType.proposal, proposal: { proposalType: ProposalType.external_init, externalInit: { kemOutput: new Uint8Array(32) } } } as const;
  await rejects(alice, await forge(bob, { ...c, commit: { ...c.commit, proposals: [ei] } }, pm.auth), 'external-init-in-member-commit');
  // A commit that drops the path although a Remove requires one.
  const { path: _path, ...noPath } = c.commit;
  void _path;
  await rejects(alice, await forge(bob, { ...c, commit: { ...noPath, proposals: [{ type: ProposalOrRefType.proposal, proposal: { proposalType: ProposalType.remove, remove: { removed: 2 } } }] } }, pm.auth), 'path-required');

  // External proposals: unknown sender index, wrong key, disallowed type.
  const ext = await mls.createExternalRemoveProposal({ groupId: utf8('hostile'), epoch: mls.epoch(alice), removedLeaf: 2, senderIndex: 1, signaturePrivateKey: server.privateKey });
  await rejects(alice, ext, 'unknown-external-sender');
  const wrongKey = await mls.generateSignatureKeyPair(1);
  const ext2 = await mls.createExternalRemoveProposal({ groupId: utf8('hostile'), epoch: mls.epoch(alice), removedLeaf: 2, senderIndex: 0, signaturePrivateKey: wrongKey.privateKey });
  await rejects(alice, ext2, 'bad-signature');

  // Application data as a PublicMessage.
  const appContent: FramedContent = { groupId: utf8('hostile'), epoch: mls.epoch(alice), sender: { senderType: SenderType.member, leafIndex: mls.ownLeafIndex(bob) }, authenticatedData: new Uint8Array(0), contentType: ContentType.application, applicationData: utf8('x') };
  await rejects(alice, await forge(bob, appContent, { signature: new Uint8Array(64) }), 'application-as-public');

  // Our own commit echoed back: adopt pendingState instead.
  await rejects(bob, good.commit, 'own-commit');

  // And the untouched commit still works afterwards.
  const ok = await mls.processMessage(alice, good.commit);
  assert.equal(ok.kind, 'commit');
  assert.deepEqual(mls.epochAuthenticator(ok.newState), mls.epochAuthenticator(good.pendingState));
});

test('a commit that removes the committer cannot be created', async () => {
  const { bob } = await room();
  await assert.rejects(mls.createCommit(bob, { remove: [mls.ownLeafIndex(bob)] }), (e: unknown) => e instanceof mls.MlsError && e.code === 'commit-removes-committer');
});

test('a removed member cannot read the next epoch', async () => {
  const { alice, bob, carol } = await room();
  const c = await mls.createCommit(alice, { remove: [mls.ownLeafIndex(carol)] });
  const rc = await mls.processMessage(carol, c.commit);
  assert.equal(rc.kind === 'commit' && rc.selfRemoved, true);
  const rb = await mls.processMessage(bob, c.commit);
  const app = await mls.createApplicationMessage(rb.newState, utf8('secret'));
  await assert.rejects(mls.processMessage(carol, app.message), (e: unknown) => e instanceof mls.MlsError && e.code === 'wrong-epoch');
  // Even forcing carol's epoch forward, the keys are wrong.
  const forced = { ...carol, groupContext: { ...carol.groupContext, epoch: mls.epoch(rb.newState) } };
  await assert.rejects(mls.processMessage(forced, app.message), (e: unknown) => e instanceof mls.MlsError);
});

test('application messages: replay of a consumed generation is rejected', async () => {
  const { alice, bob } = await room();
  const m = await mls.createApplicationMessage(bob, utf8('hi'));
  const r = await mls.processMessage(alice, m.message);
  assert.equal(r.kind, 'application');
  await rejects(r.newState, m.message, 'generation-consumed');
  // A damaged ciphertext.
  const m2 = await mls.createApplicationMessage(m.newState, utf8('again'));
  const bad = m2.message.slice();
  bad[bad.length - 3]! ^= 1;
  await rejects(r.newState, bad, 'content-decrypt');
});

test('deserializeState rejects garbage', () => {
  assert.throws(() => mls.deserializeState(new Uint8Array([1, 9, 9])), (e: unknown) => e instanceof mls.MlsError);
  assert.throws(() => mls.deserializeState(new Uint8Array([2])), (e: unknown) => e instanceof mls.MlsError);
});

test('a proposal delivered twice is kept once and committed once', async () => {
  const { server, alice, carol } = await room();
  const p = await mls.createExternalRemoveProposal({ groupId: utf8('hostile'), epoch: mls.epoch(alice), removedLeaf: mls.ownLeafIndex(carol), senderIndex: 0, signaturePrivateKey: server.privateKey });
  let a = (await mls.processMessage(alice, p)).newState;
  a = (await mls.processMessage(a, p)).newState;
  assert.equal(mls.pendingProposalCount(a), 1);
  const c = await mls.createCommit(a);
  assert.deepEqual(c.removedLeaves, [mls.ownLeafIndex(carol)]);
});

test('after a ReInit commit the group takes no further messages', async () => {
  const { createCommitState } = await import('../../shared/mls/group.js');
  const { alice, bob } = await room();
  const c = await createCommitState(alice, { proposals: [{ proposalType: ProposalType.reinit, reinit: { groupId: utf8('hostile-2'), version: 1, cipherSuite: 1, extensions: [] } }] });
  const r = await mls.processMessage(bob, c.commit);
  assert.equal(mls.epochAuthenticator(r.newState).length, 32);
  assert.deepEqual(mls.epochAuthenticator(r.newState), mls.epochAuthenticator(c.pendingState));
  await assert.rejects(mls.createCommit(r.newState), (e: unknown) => e instanceof mls.MlsError && e.code === 'group-reinitialized');
  await assert.rejects(mls.createApplicationMessage(r.newState, utf8('x')), (e: unknown) => e instanceof mls.MlsError && e.code === 'group-reinitialized');
});

test('invalid proposals are rejected on arrival, not left to break the next commit', async () => {
  const { server, alice } = await room();
  const p = await mls.createExternalRemoveProposal({ groupId: utf8('hostile'), epoch: mls.epoch(alice), removedLeaf: 9, senderIndex: 0, signaturePrivateKey: server.privateKey });
  await rejects(alice, p, 'remove-blank-leaf');
});
