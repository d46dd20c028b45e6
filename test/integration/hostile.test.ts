// Hostile input against a live server with a real MLS room: each gets its error code (or the
// documented close code) and the room carries on (members still converge after a new join).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startServer } from '../../server/app.js';
import type { RunningServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import type { ServerConfig } from '../../server/config.js';
import { mintJoinToken } from '../../server/signaling/token.js';
import { toBase64 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { CloseCode } from '../../shared/protocol/index.js';
import { RawClient, fakeGroupInfo, fakePublicMessage } from './helpers.js';
import { Participant, converge } from './room-harness.js';

async function withServer(o: Partial<ServerConfig>, fn: (s: RunningServer) => Promise<void>) {
  const s = await startServer(testConfig({ media: false, reconnectGraceMs: 200, ...o }));
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

const errCode = (m: { type: string; code?: string }) => (m.type === 'error' ? m.code : 'ok');

test('malformed frames: error responses, the connection stays usable; binary and oversize frames close', async () => {
  await withServer({ maxMessageBytes: 4096 }, async (s) => {
    const c = await RawClient.connect(s.wsUrl);
    for (let i = 0; i < 50; i++) c.sendRaw(randomBytes(1 + (i % 40)).toString('latin1'));
    c.sendRaw('{"v":1,"id":1001,"type":"join","room":5,"name":"x"}');
    c.sendRaw('{"v":1,"id":1002,"type":"commit","commit":"@@@@","groupInfo":"AAAA","leafIndex":0}');
    c.sendRaw(JSON.stringify({ v: 1, id: 1003, type: 'ping', pad: 'x'.repeat(5000) }));
    const pong = await c.ok<{ now: number }>('ping');
    assert.equal(typeof pong.now, 'number', 'still usable after junk');
    const errors = c.received.filter((m) => m.type === 'error') as Array<{ code: string; id: number | null }>;
    assert.equal(errors.length, 53);
    assert.ok(errors.slice(0, 50).every((e) => e.code === 'bad-request' && e.id === null));
    assert.deepEqual(errors.slice(50).map((e) => [e.id, e.code]), [[1001, 'bad-request'], [1002, 'bad-request'], [null, 'too-large']]);
    assert.equal(errCode(await c.request('commit', { commit: 'AAAA', groupInfo: 'AAAA', leafIndex: 0 })), 'not-joined');

    const bin = await RawClient.connect(s.wsUrl);
    bin.sendRaw(new Uint8Array([1, 2, 3]));
    assert.equal(await bin.waitClosed(), CloseCode.binaryFrame);

    const big = await RawClient.connect(s.wsUrl);
    big.sendRaw('x'.repeat(4096 * 2 + 1));
    assert.equal(await big.waitClosed(), CloseCode.messageTooBig);
    c.close();
  });
});

test('a flood closes the connection with 4001; other connections are unaffected', async () => {
  await withServer({ messagesPerSecond: 20, messageBurst: 40 }, async (s) => {
    const calm = await RawClient.connect(s.wsUrl);
    const flood = await RawClient.connect(s.wsUrl);
    for (let i = 0; i < 200; i++) flood.sendRaw(JSON.stringify({ v: 1, id: i, type: 'ping' }));
    assert.equal(await flood.waitClosed(), CloseCode.flood);
    assert.equal(typeof (await calm.ok<{ now: number }>('ping')).now, 'number');
    calm.close();
  });
});

test('room and process limits: room-full, too-many-rooms', async () => {
  await withServer({ maxMembersPerRoom: 2, maxRooms: 2 }, async (s) => {
    const cs = await Promise.all([0, 1, 2, 3, 4].map(() => RawClient.connect(s.wsUrl)));
    assert.equal(errCode(await cs[0]!.request('join', { room: 'a', name: 'n0' })), 'ok');
    assert.equal(errCode(await cs[1]!.request('join', { room: 'a', name: 'n1' })), 'ok');
    assert.equal(errCode(await cs[2]!.request('join', { room: 'a', name: 'n2' })), 'room-full');
    assert.equal(errCode(await cs[2]!.request('join', { room: 'b', name: 'n2' })), 'ok');
    assert.equal(errCode(await cs[3]!.request('join', { room: 'c', name: 'n3' })), 'too-many-rooms');
    assert.equal(errCode(await cs[0]!.request('join', { room: 'b', name: 'again' })), 'already-joined');
    for (const c of cs) c.close();
  });
});

test('join tokens: required when JOIN_TOKEN_SECRET is set; bound to room, name and expiry', async () => {
  const secret = 'a-test-secret-of-some-length';
  await withServer({ joinTokenSecret: secret }, async (s) => {
    const c = await RawClient.connect(s.wsUrl);
    const exp = Math.floor(Date.now() / 1000) + 60;
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice' })), 'unauthorized');
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice', token: 'junk' })), 'unauthorized');
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice', token: mintJoinToken(secret, 'other', 'alice', exp) })), 'unauthorized');
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice', token: mintJoinToken(secret, 'r', 'mallory', exp) })), 'unauthorized');
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice', token: mintJoinToken('another-secret-0000', 'r', 'alice', exp) })), 'unauthorized');
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice', token: mintJoinToken(secret, 'r', 'alice', exp - 120) })), 'unauthorized');
    assert.equal(errCode(await c.request('join', { room: 'r', name: 'alice', token: mintJoinToken(secret, 'r', 'alice', exp) })), 'ok');
    c.close();
    const p = await new Participant('bob', s.wsUrl, 'r2', mls, { token: mintJoinToken(secret, 'r2', 'bob', exp) }).join();
    assert.equal(p.epoch, 0n);
    p.member.close();
  });
});

test('hostile handshake messages: past/future epochs, non-members, forged server Remove, wrong group; the room carries on', async () => {
  await withServer({}, async (s) => {
    const room = 'hostile';
    const a = await new Participant('alice', s.wsUrl, room, mls).join();
    const b = await new Participant('bob', s.wsUrl, room, mls).join();
    await converge([a, b], 1n);
    const groupId = mls.groupId(a.member.state as mls.GroupState);

    // An outsider in the room (joined signaling, not the group).
    const x = await RawClient.connect(s.wsUrl);
    const joined = await x.ok<{ groupInfo: string }>('join', { room, name: 'mallory' });
    const gi = joined.groupInfo;

    // Member commits for past and future epochs: stale-epoch with the current epoch.
    const bState = b.member.state as mls.GroupState;
    const { commit } = await mls.createCommit(bState);
    const future = fakePublicMessage(groupId, 9n, { type: 'member', leaf: 1 }, 3);
    const oldEpoch = fakePublicMessage(groupId, 0n, { type: 'member', leaf: 1 }, 3);
    const newGi = toBase64(fakeGroupInfo(groupId, 2n));
    const bSig = b.member.signaling;
    for (const bytes of [future, oldEpoch]) {
      await assert.rejects(bSig.request('commit', { commit: toBase64(bytes), groupInfo: newGi, leafIndex: 1 }), (e: { code: string; epoch: string }) => e.code === 'stale-epoch' && e.epoch === '1');
    }
    // The outsider: member commits and proposals are refused; so is a forged server Remove.
    assert.equal(errCode(await x.request('commit', { commit: toBase64(commit), groupInfo: newGi, leafIndex: 1 })), 'not-member');
    assert.equal(errCode(await x.request('proposal', { message: toBase64(fakePublicMessage(groupId, 1n, { type: 'member', leaf: 0 }, 2)) })), 'not-member');
    const forged = await mls.createExternalRemoveProposal({ groupId, epoch: 1n, removedLeaf: 0, senderIndex: 0, signaturePrivateKey: (await mls.generateSignatureKeyPair(1)).privateKey });
    assert.equal(errCode(await x.request('proposal', { message: toBase64(forged) })), 'forbidden');
    await assert.rejects(bSig.request('proposal', { message: toBase64(forged) }), (e: { code: string }) => e.code === 'forbidden');
    // Wrong group, garbage MLS, a GroupInfo where a commit belongs.
    assert.equal(errCode(await x.request('commit', { commit: toBase64(fakePublicMessage(new Uint8Array([9]), 1n, { type: 'new_member_commit' }, 3)), groupInfo: newGi, leafIndex: 5 })), 'wrong-group');
    assert.equal(errCode(await x.request('commit', { commit: toBase64(randomBytes(64)), groupInfo: newGi, leafIndex: 5 })), 'bad-message');
    assert.equal(errCode(await x.request('commit', { commit: gi, groupInfo: newGi, leafIndex: 5 })), 'bad-message');
    // A rejectCommit from someone who cannot vote.
    assert.equal(errCode(await x.request('rejectCommit', { seq: 1, reason: 'x' })), 'forbidden');
    // The real commit of a member, replayed by the outsider as its own: not-member (sender is a member leaf).
    assert.equal(errCode(await x.request('commit', { commit: toBase64(commit), groupInfo: newGi, leafIndex: 1 })), 'not-member');

    assert.equal(s.hub.rooms.get(room)!.ds.epoch, 1n, 'nothing moved the epoch');
    assert.deepEqual(a.errors, []);
    assert.deepEqual(b.errors, []);
    // The room carries on.
    const c = await new Participant('carol', s.wsUrl, room, mls).join();
    await converge([a, b, c], 2n);
    x.close();
    for (const p of [a, b, c]) p.member.close();
  });
});

test('resume: a wrong token or unknown member is resume-failed; a valid resume closes the older socket with 4004', async () => {
  await withServer({ reconnectGraceMs: 5000 }, async (s) => {
    const a = await RawClient.connect(s.wsUrl);
    const j = await a.ok<{ memberId: string; resumeToken: string; lastSeq: number }>('join', { room: 'res', name: 'alice' });
    const c = await RawClient.connect(s.wsUrl);
    const bad = async (resume: Record<string, unknown>, name = 'alice') => errCode(await c.request('join', { room: 'res', name, resume }));
    assert.equal(await bad({ memberId: j.memberId, resumeToken: 'wrongtoken', lastSeq: 0 }), 'resume-failed');
    assert.equal(await bad({ memberId: 'mnobody', resumeToken: j.resumeToken, lastSeq: 0 }), 'resume-failed');
    assert.equal(await bad({ memberId: j.memberId, resumeToken: j.resumeToken, lastSeq: 99 }), 'resume-failed', 'a seq the log never had');
    assert.equal(await bad({ memberId: j.memberId, resumeToken: j.resumeToken, lastSeq: 0 }, 'mallory'), 'resume-failed', 'another name');
    const ok = await c.ok<{ resumed: boolean; memberId: string }>('join', { room: 'res', name: 'alice', resume: { memberId: j.memberId, resumeToken: j.resumeToken, lastSeq: 0 } });
    assert.equal(ok.resumed, true);
    assert.equal(ok.memberId, j.memberId);
    assert.equal(await a.waitClosed(), CloseCode.resumedElsewhere);
    assert.equal(typeof (await c.ok<{ now: number }>('ping')).now, 'number');
    c.close();
  });
});
