// Cross-checks shared/mls against independent code: the server's own Remove-proposal framing
// (server/delivery/remove-proposal.ts) must produce a message every member accepts, byte-identical
// to createExternalRemoveProposal (Ed25519 signatures are deterministic).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { externalRemoveProposal } from '../../server/delivery/remove-proposal.js';

test('server-framed Remove proposal is accepted and matches createExternalRemoveProposal', async () => {
  const server = await mls.generateSignatureKeyPair(1);
  const groupId = utf8('interop');
  let alice = await mls.createGroup({ groupId, identity: utf8('alice'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('ds') }] });
  const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('bob') });
  alice = (await mls.processMessage(alice, j.commit)).newState;
  const bob = j.pendingState;
  const o = { groupId, epoch: mls.epoch(alice), removedLeaf: mls.ownLeafIndex(bob), senderIndex: 0, signaturePrivateKey: server.privateKey };
  const fromServer = externalRemoveProposal(o);
  const fromMls = await mls.createExternalRemoveProposal(o);
  assert.equal(toHex(fromServer), toHex(fromMls));
  const r = await mls.processMessage(alice, fromServer);
  assert.equal(r.kind, 'proposal');
  const c = await mls.createCommit(r.newState);
  assert.deepEqual(c.removedLeaves, [mls.ownLeafIndex(bob)]);
  const rb = await mls.processMessage((await mls.processMessage(bob, fromServer)).newState, c.commit);
  assert.equal(rb.kind === 'commit' && rb.selfRemoved, true);
});

// ---- ts-mls 1.6.4 (independent RFC 9420 implementation, tests only), suite 1 ----
import * as ts from 'ts-mls';
import * as tsCommit from 'ts-mls/createCommit.js';
import { getCipherSuite } from '../../shared/crypto/index.js';
import { encodeExternalPub } from '../../shared/mls/wire/externalPub.js';

async function tsImpl() {
  return ts.getCiphersuiteImpl(ts.getCiphersuiteFromName('MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519'));
}
function tsDecode(bytes: Uint8Array) {
  const d = ts.decodeMlsMessage(bytes, 0);
  assert.ok(d, 'ts-mls decodes our message');
  return d[0];
}
async function tsProcess(state: ts.ClientState, bytes: Uint8Array, impl: ts.CiphersuiteImpl): Promise<ts.ClientState> {
  const m = tsDecode(bytes);
  assert.ok(m.wireformat === 'mls_public_message' || m.wireformat === 'mls_private_message');
  const r = await ts.processMessage(m as ts.MlsPublicMessage | ts.MlsPrivateMessage, state, ts.emptyPskIndex, ts.acceptAll, impl);
  return r.newState;
}

test('interop with ts-mls: our external join of its group, commits both ways, Welcome both ways, application data both ways', async () => {
  const impl = await tsImpl();
  // ts-mls creates the group.
  const aliceKp = await ts.generateKeyPackage({ credentialType: 'basic', identity: utf8('alice') }, ts.defaultCapabilities(), ts.defaultLifetime, [], impl);
  let alice = await ts.createGroup(utf8('ts-group'), aliceKp.publicPackage, aliceKp.privatePackage, [], impl);
  // We join by external commit from ts-mls's GroupInfo. ts-mls 1.6.4 puts the raw public key in
  // external_pub (RFC 9420 §12.4.3.2: struct { HPKEPublicKey external_pub; } = a varint-prefixed
  // vector), so the GroupInfo is built with ts-mls's own signer but an RFC-encoded external_pub.
  const ext = await getCipherSuite(1).hpke.deriveKeyPair(alice.keySchedule.externalSecret);
  const gi = await tsCommit.createGroupInfoWithRatchetTree(alice.groupContext, alice.confirmationTag, alice, alice.ratchetTree,
    [{ extensionType: 'external_pub', extensionData: encodeExternalPub(ext.publicKey) }], impl);
  const giBytes = ts.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_group_info', groupInfo: gi });
  const j = await mls.joinExternal({ groupInfo: giBytes, identity: utf8('bob') });
  let bob = j.pendingState;
  alice = await tsProcess(alice, j.commit, impl);
  assert.equal(toHex(alice.keySchedule.epochAuthenticator), toHex(mls.epochAuthenticator(bob)), 'after our external commit');

  // We commit (fresh path); ts-mls follows.
  const c1 = await mls.createCommit(bob);
  bob = c1.pendingState;
  alice = await tsProcess(alice, c1.commit, impl);
  assert.equal(toHex(alice.keySchedule.epochAuthenticator), toHex(mls.epochAuthenticator(bob)), 'after our commit');

  // ts-mls adds a KeyPackage of ours; we join by Welcome, and bob processes the commit.
  const carolKp = await mls.createKeyPackage({ identity: utf8('carol') });
  const kpMsg = tsDecode(carolKp.keyPackage);
  assert.equal(kpMsg.wireformat, 'mls_key_package');
  const add = await ts.createCommit({ state: alice, cipherSuite: impl }, {
    extraProposals: [{ proposalType: 'add', add: { keyPackage: (kpMsg as { keyPackage: ts.KeyPackage }).keyPackage } }],
    wireAsPublicMessage: true,
    ratchetTreeExtension: true,
  });
  alice = add.newState;
  const welcomeBytes = ts.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_welcome', welcome: add.welcome! });
  let carol = await mls.joinWelcome({ welcome: welcomeBytes, keyPackagePrivate: carolKp.private });
  bob = (await mls.processMessage(bob, ts.encodeMlsMessage(add.commit))).newState;
  const want = toHex(alice.keySchedule.epochAuthenticator);
  assert.equal(toHex(mls.epochAuthenticator(bob)), want, 'bob follows a ts-mls commit');
  assert.equal(toHex(mls.epochAuthenticator(carol)), want, 'carol joined from a ts-mls Welcome');

  // We add a ts-mls client by Welcome.
  const daveKp = await ts.generateKeyPackage({ credentialType: 'basic', identity: utf8('dave') }, ts.defaultCapabilities(), ts.defaultLifetime, [], impl);
  const daveKpBytes = ts.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_key_package', keyPackage: daveKp.publicPackage });
  const c2 = await mls.createCommit(carol, { add: [daveKpBytes] });
  carol = c2.pendingState;
  const w = tsDecode(c2.welcome!);
  assert.equal(w.wireformat, 'mls_welcome');
  const dave = await ts.joinGroup((w as { welcome: ts.Welcome }).welcome, daveKp.publicPackage, daveKp.privatePackage, ts.emptyPskIndex, impl);
  alice = await tsProcess(alice, c2.commit, impl);
  bob = (await mls.processMessage(bob, c2.commit)).newState;
  const all = [alice.keySchedule.epochAuthenticator, dave.keySchedule.epochAuthenticator, mls.epochAuthenticator(bob), mls.epochAuthenticator(carol)].map(toHex);
  assert.ok(all.every((x) => x === all[0]), 'four members, two implementations, one epoch authenticator');

  // Application data both ways.
  const app = await mls.createApplicationMessage(bob, utf8('from shared/mls'));
  const am = tsDecode(app.message);
  const got = await ts.processMessage(am as ts.MlsPrivateMessage, dave, ts.emptyPskIndex, ts.acceptAll, impl);
  assert.equal(got.kind, 'applicationMessage');
  const back = await ts.createApplicationMessage(alice, utf8('from ts-mls'), impl);
  const r = await mls.processMessage(carol, ts.encodeMlsMessage({ version: 'mls10', wireformat: 'mls_private_message', privateMessage: back.privateMessage }));
  assert.equal(r.kind, 'application');
  assert.deepEqual(r.kind === 'application' && r.data, utf8('from ts-mls'));
});
