// The Delivery Service's sequencing with hand-made MLS framing (no MLS library): one commit per
// epoch, stale-epoch answers, fan-out order, leaf tracking, server Remove proposals, rollback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeliveryService } from '../../server/delivery/delivery-service.js';
import { FramingError, readMlsHeader } from '../../server/delivery/framing.js';
import { RequestError } from '../../server/errors.js';
import { toBase64 as b64 } from '../../shared/bytes/index.js';
import { fakeGroupInfo, fakePublicMessage } from '../integration/helpers.js';
import type { FakeProposals } from '../integration/helpers.js';
import { externalProposalRef } from '../../server/delivery/proposal-ref.js';
import { fromBase64 } from '../../shared/bytes/index.js';

const G = new Uint8Array([0xaa, 0xbb, 0xcc]);
const OTHER = new Uint8Array([1]);

function setup(joinHoldMs = 0) {
  const sent: Array<{ to: string; type: string; body: Record<string, unknown> }> = [];
  const evicted: string[] = [];
  const removals: Array<[bigint, number]> = [];
  const ds = new DeliveryService(
    {
      notify: (to, type, body) => sent.push({ to, type, body: body as unknown as Record<string, unknown> }),
      makeRemoveProposal: async (groupId, epoch, leaf) => {
        removals.push([epoch, leaf]);
        return fakePublicMessage(groupId, epoch, { type: 'external', index: 0 }, 2, new Uint8Array([1, 2, 3, leaf])); // distinct per leaf
      },
      evict: (id) => evicted.push(id),
      log: () => {},
    },
    { logSize: 16, removeRetries: 3, joinHoldMs },
  );
  return { ds, sent, evicted, removals };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof RequestError) return e.code;
    throw e;
  }
  return 'ok';
}

const extCommit = (epoch: bigint) => b64(fakePublicMessage(G, epoch, { type: 'new_member_commit' }, 3));
const memberCommit = (epoch: bigint, leaf: number, proposals?: FakeProposals) => b64(fakePublicMessage(G, epoch, { type: 'member', leaf }, 3, undefined, proposals));
const gi = (epoch: bigint) => b64(fakeGroupInfo(G, epoch));
const tick = () => new Promise((r) => setTimeout(r, 0));

test('framing reader: public/private/group_info headers; malformed input is a FramingError', () => {
  const h = readMlsHeader(fakePublicMessage(G, 5n, { type: 'member', leaf: 2 }, 3));
  assert.deepEqual(h, { wireFormat: 'public', groupId: G, epoch: 5n, sender: { type: 'member', leafIndex: 2 }, contentType: 'commit' });
  const g = readMlsHeader(fakeGroupInfo(G, 9n));
  assert.equal(g.wireFormat, 'group_info');
  assert.equal(g.wireFormat === 'group_info' && g.epoch, 9n);
  for (const bad of [new Uint8Array(0), new Uint8Array([0, 1]), new Uint8Array([0, 2, 0, 1]), new Uint8Array([0, 1, 0, 9]), new Uint8Array([0, 1, 0, 1, 0xc0])]) {
    assert.throws(() => readMlsHeader(bad), FramingError);
  }
  const badSender = fakePublicMessage(G, 1n, { type: 'member', leaf: 0 }, 3);
  badSender[2 + 2 + 1 + 3 + 8] = 9; // sender_type
  assert.throws(() => readMlsHeader(badSender), /sender_type 9/);
});

test('first commit per epoch wins; others get stale-epoch; fan-out in one order to every other member', () => {
  const { ds, sent } = setup();
  for (const id of ['a', 'b', 'c']) ds.addConnection(id);
  assert.equal(code(() => ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 })), 'no-group');
  assert.deepEqual(ds.createGroup('a', gi(0n), 0), { epoch: '0' });
  assert.equal(code(() => ds.createGroup('b', gi(0n), 0)), 'group-exists');
  // b and c race to join at epoch 0: b wins.
  assert.deepEqual(ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 }), { epoch: '1', seq: 1 });
  let err: RequestError | undefined;
  try {
    ds.commit('c', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  } catch (e) {
    err = e as RequestError;
  }
  assert.equal(err?.code, 'stale-epoch');
  assert.equal(err?.extra.epoch, '1');
  assert.equal(err?.extra.groupInfo, gi(1n), 'the loser gets the new GroupInfo to retry with');
  assert.deepEqual(ds.commit('c', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 }), { epoch: '2', seq: 2 });
  // a saw both commits in order, b saw c's commit, c saw none (it joined last).
  const hs = (to: string) => sent.filter((s) => s.to === to && s.type === 'handshake').map((s) => s.body.seq);
  assert.deepEqual(hs('a'), [1, 2]);
  assert.deepEqual(hs('b'), [2]);
  assert.deepEqual(hs('c'), []);
  assert.deepEqual(ds.members().sort(), [['a', 0], ['b', 1], ['c', 2]]);
});

test('commits are checked against the public header: group, sender, leaf claims, GroupInfo epoch', () => {
  const { ds } = setup();
  for (const id of ['a', 'b', 'x']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  const c = (id: string, commit: string, leafIndex: number, giText = gi(2n)) => code(() => ds.commit(id, { commit, groupInfo: giText, leafIndex }));
  assert.equal(c('nobody', memberCommit(1n, 0), 0), 'not-joined');
  assert.equal(c('x', memberCommit(1n, 0), 0), 'not-member', 'a member commit from a non-member');
  assert.equal(c('b', memberCommit(1n, 0), 1), 'conflict', 'a member cannot commit as another leaf');
  assert.equal(c('b', memberCommit(1n, 1), 0), 'conflict', 'the leaf claim must be the sender leaf');
  assert.equal(c('x', extCommit(1n), 0), 'conflict', 'an external joiner cannot claim a live leaf');
  assert.equal(c('a', extCommit(1n), 0), 'forbidden', 'a member cannot send an external commit');
  assert.equal(c('b', b64(fakePublicMessage(OTHER, 1n, { type: 'member', leaf: 1 }, 3)), 1), 'wrong-group');
  assert.equal(c('b', memberCommit(0n, 1), 1), 'stale-epoch', 'past epoch');
  assert.equal(c('b', memberCommit(7n, 1), 1), 'stale-epoch', 'future epoch');
  assert.equal(c('b', memberCommit(1n, 1), 1, gi(5n)), 'bad-message', 'GroupInfo for the wrong epoch');
  assert.equal(c('b', b64(fakePublicMessage(G, 1n, { type: 'member', leaf: 1 }, 2)), 1), 'bad-message', 'a proposal sent as commit');
  assert.equal(c('b', b64(fakePublicMessage(G, 1n, { type: 'external', index: 0 }, 3)), 1), 'forbidden');
  assert.equal(c('b', 'AAAA', 1), 'bad-message');
  assert.equal(code(() => ds.commit('b', { commit: memberCommit(1n, 1), groupInfo: gi(2n), leafIndex: 1, removed: [1] })), 'conflict');
  assert.equal(ds.epoch, 1n, 'nothing above moved the epoch');
});

test('proposals: members only, never as the external sender (a forged server Remove is refused)', () => {
  const { ds, sent } = setup();
  for (const id of ['a', 'b', 'x']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  const p = (id: string, bytes: Uint8Array) => code(() => ds.proposal(id, b64(bytes)));
  assert.equal(p('b', fakePublicMessage(G, 1n, { type: 'external', index: 0 }, 2)), 'forbidden');
  assert.equal(p('x', fakePublicMessage(G, 1n, { type: 'member', leaf: 0 }, 2)), 'not-member');
  assert.equal(p('b', fakePublicMessage(G, 1n, { type: 'member', leaf: 0 }, 2)), 'conflict');
  assert.equal(p('b', fakePublicMessage(G, 0n, { type: 'member', leaf: 1 }, 2)), 'stale-epoch');
  assert.equal(p('b', fakePublicMessage(G, 1n, { type: 'new_member_proposal' }, 2)), 'forbidden');
  assert.equal(p('b', fakePublicMessage(G, 1n, { type: 'member', leaf: 1 }, 2)), 'ok');
  assert.deepEqual(sent.filter((s) => s.type === 'handshake' && s.body.kind === 'proposal').map((s) => s.to), ['a']);
});

test('a departed member: the server proposes its Remove, re-proposes after a commit that did not include it, stops once removed', async () => {
  const { ds, sent, removals } = setup();
  for (const id of ['a', 'b', 'c', 'd']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  ds.commit('c', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 });
  ds.removeConnection('b');
  await tick();
  assert.deepEqual(removals, [[2n, 1]]);
  const serverProps = () => sent.filter((s) => s.type === 'handshake' && s.body.from === 'server');
  assert.deepEqual(serverProps().map((s) => s.to).sort(), ['a', 'c']);
  // d joins before anyone commits the Remove: the proposal is re-issued for the new epoch.
  ds.commit('d', { commit: extCommit(2n), groupInfo: gi(3n), leafIndex: 3 });
  await tick();
  assert.deepEqual(removals, [[2n, 1], [3n, 1]]);
  assert.deepEqual(serverProps().slice(2).map((s) => s.to).sort(), ['a', 'c', 'd']);
  // The designated committer (a, leaf 0) commits it.
  // By reference (RFC 9420 §12.4): the DS recognises the reference to its own proposal; a
  // claim that does not match the commit is refused, and so is an Add by value (policy).
  const latest = serverProps()[serverProps().length - 1]!.body.message as string;
  const ref = externalProposalRef(fromBase64(latest), 1)!;
  assert.equal(code(() => ds.commit('a', { commit: memberCommit(3n, 0, { refs: [ref] }), groupInfo: gi(4n), leafIndex: 0, removed: [2] })), 'conflict');
  assert.equal(code(() => ds.commit('a', { commit: memberCommit(3n, 0, { other: 1 }), groupInfo: gi(4n), leafIndex: 0 })), 'forbidden');
  ds.commit('a', { commit: memberCommit(3n, 0, { refs: [ref] }), groupInfo: gi(4n), leafIndex: 0, removed: [1] });
  await tick();
  assert.equal(removals.length, 2, 'no further proposals');
  assert.deepEqual(ds.pendingRemovals, []);
  assert.equal(ds.epoch, 4n);
});

test('a join waits behind removals noticed before it arrived: until the next commit (then stale), or for joinHoldMs', async () => {
  const { ds, sent } = setup(150);
  for (const id of ['a', 'b', 'c', 'd']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  ds.commit('c', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 });
  ds.removeConnection('b');
  ds.addConnection('e');
  await tick();
  assert.equal(ds.commitHold('e', extCommit(2n)), 150, 'e arrived after b left: it waits');
  assert.equal(ds.commitHold('d', extCommit(2n)), 0, 'd arrived before b left: first come, first served');
  assert.equal(ds.commitHold('a', memberCommit(2n, 0)), 0, 'member commits never wait');
  assert.equal(ds.commitHold('e', extCommit(1n)), 0, 'a stale commit is refused at once');
  assert.equal(ds.commitHold('e', 'AAAA'), 0, 'a malformed commit is refused at once');
  // The removal is committed while e waits: the wait ends at once and e's commit is stale.
  const t0 = performance.now();
  const waited = ds.epochMovedOr(10_000);
  const latest = sent.filter((s) => s.type === 'handshake' && s.body.from === 'server').pop()!.body.message as string;
  ds.commit('a', { commit: memberCommit(2n, 0, { refs: [externalProposalRef(fromBase64(latest), 1)!] }), groupInfo: gi(3n), leafIndex: 0, removed: [1] });
  await waited;
  assert.ok(performance.now() - t0 < 1000, 'released by the commit, not by the timeout');
  assert.equal(code(() => ds.commit('e', { commit: extCommit(2n), groupInfo: gi(3n), leafIndex: 1 })), 'stale-epoch');
  assert.equal(ds.commitHold('e', extCommit(3n)), 150, 'd, an earlier joiner, is still trying: e waits for it');
  ds.removeConnection('d');
  assert.equal(ds.commitHold('e', extCommit(3n)), 0, 'd is gone and the removal is done: e goes on');
  // Nobody commits a removal: the join waits joinHoldMs, then is judged as usual (and wins).
  ds.removeConnection('c');
  ds.addConnection('f');
  await tick();
  assert.equal(ds.commitHold('f', extCommit(3n)), 150);
  const t1 = performance.now();
  await ds.epochMovedOr(ds.commitHold('f', extCommit(3n)));
  assert.ok(performance.now() - t1 >= 140, 'the wait is bounded by joinHoldMs');
  assert.deepEqual(ds.commit('f', { commit: extCommit(3n), groupInfo: gi(4n), leafIndex: 2 }), { epoch: '4', seq: ds.lastSeq });
  assert.deepEqual(ds.pendingRemovals, [2], 'c is still to be removed (proposed again for epoch 4)');
  // With joinHoldMs 0 nothing ever waits.
  const off = setup(0);
  for (const id of ['a', 'b']) off.ds.addConnection(id);
  off.ds.createGroup('a', gi(0n), 0);
  off.ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  off.ds.removeConnection('b');
  off.ds.addConnection('c');
  assert.equal(off.ds.commitHold('c', extCommit(1n)), 0);
});

test('joiners go in arrival order: a later joiner waits while an earlier one is still trying (bounded)', async () => {
  const { ds } = setup(150);
  for (const id of ['a', 'j1', 'j2', 'j3']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  assert.equal(ds.commitHold('j2', extCommit(0n)), 0, 'j1 has not tried yet: j2 goes on');
  assert.equal(ds.commitHold('j1', extCommit(0n)), 0, 'nobody before j1');
  assert.equal(ds.commitHold('j2', extCommit(0n)), 150, 'j1 (earlier) is trying: j2 waits');
  assert.equal(ds.commitHold('j3', extCommit(5n)), 0, 'a stale commit is refused at once...');
  assert.equal(ds.commitHold('j2', extCommit(0n)), 150, '...but j3 counts as trying');
  // j1 joins: j2 is next; j3 still waits behind j2.
  ds.commit('j1', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  assert.equal(ds.commitHold('j2', extCommit(1n)), 0, 'j1 is in: j2 goes on');
  assert.equal(ds.commitHold('j3', extCommit(1n)), 150, 'j2 (earlier) is trying: j3 waits');
  // j2 stops trying (its tries age past 2 x joinHoldMs): j3 no longer waits for it.
  await new Promise((r) => setTimeout(r, 320));
  assert.equal(ds.commitHold('j3', extCommit(1n)), 0, 'a joiner that stopped trying holds nobody');
  assert.equal(ds.commitHold('j2', extCommit(1n)), 0, 'j3 tried just now, but arrived after j2: j2 does not wait for it');
  assert.equal(ds.commitHold('j3', extCommit(1n)), 150, 'j2 is trying again: j3 waits');
  // A joiner that is gone holds nobody.
  ds.removeConnection('j2');
  assert.equal(ds.commitHold('j3', extCommit(1n)), 0);
  // joinerWaiting: the same order for a joiner whose commit is already stale (the hub keeps it until its turn).
  ds.addConnection('j4');
  assert.equal(ds.joinerWaiting('j4'), true, 'j3 (earlier) is trying');
  assert.equal(ds.joinerWaiting('j3'), false, 'nobody before j3');
  assert.equal(ds.joinerWaiting('a'), false, 'members never wait');
  ds.commit('j3', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 });
  assert.equal(ds.joinerWaiting('j4'), false, 'j3 is in: j4\'s turn');
});

test('a removal noticed after a joiner arrived waits for that joiner (if it is still trying); an older one does not', async () => {
  const { ds, sent } = setup(150);
  for (const id of ['a', 'b', 'c']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  ds.commit('c', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 });
  ds.removeConnection('b'); // noticed before j arrives
  ds.addConnection('j');
  await new Promise((r) => setTimeout(r, 2));
  ds.removeConnection('c'); // noticed after j arrived
  await tick();
  const refOf = (leaf: number) => {
    const e = ds.logEntries.filter((x) => x.from === 'server' && x.removedLeaf === leaf).pop()!;
    return externalProposalRef(fromBase64(e.message), 1)!;
  };
  const removeC = memberCommit(2n, 0, { refs: [refOf(2)] });
  const removeBoth = memberCommit(2n, 0, { refs: [refOf(1), refOf(2)] });
  assert.equal(ds.commitHold('a', removeC), 0, 'j is not trying yet');
  assert.equal(ds.commitHold('j', extCommit(2n)), 150, 'j waits for b (left before j arrived)');
  assert.equal(ds.commitHold('a', removeBoth), 0, 'a commit that removes b (older than j) goes on');
  assert.equal(ds.commitHold('a', removeC), 150, 'a commit removing only c (newer than j) waits for j');
  assert.equal(ds.commitHold('a', memberCommit(2n, 0)), 0, 'a commit that removes nobody does not wait');
  assert.equal(ds.commitHold('a', memberCommit(1n, 0, { refs: [refOf(2)] })), 0, 'a stale commit is refused at once');
  void sent;
});

test('joins do not use up a removal\'s tries (an external commit cannot carry it); member commits that leave it out do', async () => {
  const { ds, removals } = setup(0);
  for (const id of ['a', 'b']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  ds.removeConnection('b');
  await tick();
  // Five joins in a row (more than removeRetries = 3): the removal is proposed again every epoch.
  for (let i = 0; i < 5; i++) {
    const id = `j${i}`;
    ds.addConnection(id);
    ds.commit(id, { commit: extCommit(BigInt(1 + i)), groupInfo: gi(BigInt(2 + i)), leafIndex: 2 + i });
    await tick();
  }
  assert.equal(removals.length, 6);
  assert.deepEqual(ds.pendingRemovals, [1]);
  // Member commits that leave it out use up the tries: 3 in all, then the server gives up.
  for (let e = 6n; e < 9n; e++) {
    ds.commit('a', { commit: memberCommit(e, 0), groupInfo: gi(e + 1n), leafIndex: 0 });
    await tick();
  }
  assert.deepEqual(ds.pendingRemovals, []);
  assert.equal(removals.length, 8, 'proposed again after the first two member commits only (3 tries with the first)');
});

test('a removal that must wait for an earlier joiner is proposed only once that joiner is in (or has stopped trying)', async () => {
  const { ds, removals } = setup(100);
  for (const id of ['a', 'b', 'j']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  assert.equal(ds.commitHold('j', extCommit(0n)), 0, 'j is trying (its commit is stale)');
  ds.removeConnection('b'); // noticed after j arrived: j goes first
  await tick();
  assert.deepEqual(removals, [], 'not proposed while j is trying: j\'s commit would void it');
  assert.deepEqual(ds.pendingRemovals, [1]);
  ds.commit('j', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 });
  await tick();
  assert.deepEqual(removals, [[2n, 1]], 'proposed once, for the epoch after the join');
  // A joiner that stops trying holds a removal back for 2 x joinHoldMs at most.
  ds.addConnection('k');
  assert.equal(ds.commitHold('k', extCommit(0n)), 0);
  ds.removeConnection('j');
  await tick();
  assert.equal(removals.length, 1, 'k is trying: j\'s removal waits');
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(removals[1], [2n, 2], 'k stopped trying: proposed');
});

test('waitTurn: a joiner whose held commit went stale waits on until the earlier joiner is in (bounded by 3 x hold)', async () => {
  const { ds } = setup(100);
  for (const id of ['a', 'j1', 'j2']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  assert.equal(ds.commitHold('j1', extCommit(0n)), 0, 'j1 first');
  assert.equal(ds.commitHold('j2', extCommit(0n)), 100, 'j2 waits for j1');
  let released = false;
  const turn = ds.waitTurn('j2', 100).then(() => (released = true));
  // Another commit moves the epoch: j2's commit is stale, but j1 is still ahead of it.
  ds.commit('a', { commit: memberCommit(0n, 0), groupInfo: gi(1n), leafIndex: 0 });
  await tick();
  assert.equal(released, false, 'not answered while j1 is still to go');
  ds.commitHold('j1', extCommit(1n)); // j1 still trying
  ds.commit('j1', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 1 });
  await turn;
  assert.equal(released, true, 'answered once j1 is in');
  // Bounded: with j1 never done, j3 is answered after at most 3 x hold.
  ds.addConnection('j3');
  ds.addConnection('j4');
  ds.commitHold('j3', extCommit(2n));
  assert.equal(ds.commitHold('j4', extCommit(2n)), 100);
  const t0 = performance.now();
  const bounded = ds.waitTurn('j4', 100);
  ds.commit('a', { commit: memberCommit(2n, 0), groupInfo: gi(3n), leafIndex: 0 });
  const keepTrying = setInterval(() => ds.commitHold('j3', extCommit(2n)), 20);
  await bounded;
  clearInterval(keepTrying);
  const waited = performance.now() - t0;
  assert.ok(waited >= 250 && waited < 1000, `waited ${Math.round(waited)} ms`);
});

test('rollback: members reject an accepted commit; the DS restores the epoch, evicts the committer, proposes its removal', async () => {
  const { ds, sent, evicted, removals } = setup();
  for (const id of ['a', 'b', 'c']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  ds.commit('c', { commit: extCommit(1n), groupInfo: gi(2n), leafIndex: 2 });
  const bad = ds.commit('b', { commit: memberCommit(2n, 1), groupInfo: gi(3n), leafIndex: 1 });
  assert.equal(ds.epoch, 3n);
  assert.equal(code(() => ds.rejectCommit('b', bad.seq, 'x')), 'forbidden', 'the committer cannot vote');
  assert.equal(code(() => ds.rejectCommit('a', 1, 'x')), 'not-found', 'only the newest commit');
  assert.deepEqual(ds.rejectCommit('a', bad.seq, 'invalid-signature'), { rolledBack: false }, '1 of 2 is no majority');
  assert.deepEqual(ds.rejectCommit('c', bad.seq, 'invalid-signature'), { rolledBack: true });
  assert.equal(ds.epoch, 2n);
  assert.equal(ds.groupInfo, gi(2n));
  assert.deepEqual(evicted, ['b']);
  const rb = sent.filter((s) => s.type === 'rollback');
  assert.deepEqual(rb.map((s) => s.to).sort(), ['a', 'b', 'c']);
  assert.equal(rb[0]!.body.epoch, '2');
  await tick();
  assert.deepEqual(removals, [[2n, 1]], "the evicted member's leaf is proposed for removal at the restored epoch");
  // The room moves on: a commits the removal at epoch 2.
  assert.deepEqual(ds.commit('a', { commit: memberCommit(2n, 0, { removes: [1] }), groupInfo: gi(3n), leafIndex: 0, removed: [1] }).epoch, '3');
});

test('a rolled-back external joiner is evicted without a Remove (it never was in the old epoch)', async () => {
  const { ds, evicted, removals } = setup();
  for (const id of ['a', 'j']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  const r = ds.commit('j', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  assert.deepEqual(ds.rejectCommit('a', r.seq, 'bad'), { rolledBack: true });
  assert.equal(ds.epoch, 0n);
  assert.deepEqual(evicted, ['j']);
  await tick();
  assert.deepEqual(removals, []);
});

test('resume: replay covers the log after lastSeq; a truncated log or rolled-back seq refuses', () => {
  const { ds } = setup();
  for (const id of ['a', 'b']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  let epoch = 0n;
  ds.commit('b', { commit: extCommit(epoch), groupInfo: gi(++epoch), leafIndex: 1 });
  for (let i = 0; i < 20; i++) ds.commit('a', { commit: memberCommit(epoch, 0), groupInfo: gi(++epoch), leafIndex: 0 });
  assert.equal(ds.lastSeq, 21);
  assert.deepEqual(ds.replayAfter(19)!.map((e) => e.seq), [20, 21]);
  assert.deepEqual(ds.replayAfter(21), []);
  assert.equal(ds.replayAfter(2), undefined, 'log of 16 no longer covers seq 3');
  assert.equal(ds.replayAfter(99), undefined);
});

test('the group ends with its last member', () => {
  const { ds } = setup();
  ds.addConnection('a');
  ds.createGroup('a', gi(0n), 0);
  ds.removeConnection('a');
  assert.equal(ds.epoch, null);
  ds.addConnection('b');
  assert.deepEqual(ds.createGroup('b', gi(0n), 0), { epoch: '0' });
});

test("the server's Remove proposal is byte-identical to shared/mls createExternalRemoveProposal and members accept it", async () => {
  const { externalRemoveProposal } = await import('../../server/delivery/remove-proposal.js');
  const mls = await import('../../shared/mls/index.js');
  const { utf8 } = await import('../../shared/bytes/index.js');
  const server = await mls.generateSignatureKeyPair(1);
  let alice = await mls.createGroup({ groupId: utf8('room-x'), identity: utf8('alice'), externalSenders: [{ signatureKey: server.publicKey, identity: utf8('sealed-call-server') }] });
  const { commit, pendingState: bob } = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('bob') });
  alice = (await mls.processMessage(alice, commit)).newState;
  const o = { groupId: utf8('room-x'), epoch: 1n, removedLeaf: 1, senderIndex: 0, signaturePrivateKey: server.privateKey };
  const ours = externalRemoveProposal(o);
  assert.deepEqual(ours, await mls.createExternalRemoveProposal(o), 'Ed25519 is deterministic: same bytes');
  const r = await mls.processMessage(alice, ours);
  assert.equal(r.kind, 'proposal');
  assert.equal(r.kind === 'proposal' && r.removedLeaf, 1);
  // A proposal signed by another key is rejected by members.
  const other = await mls.generateSignatureKeyPair(1);
  await assert.rejects(mls.processMessage(alice, externalRemoveProposal({ ...o, signaturePrivateKey: other.privateKey })));
  void bob;
});

test('a Welcome goes out only with its accepted commit, and only to connections outside the group', () => {
  const { ds, sent } = setup();
  for (const id of ['a', 'b', 'newcomer']) ds.addConnection(id);
  ds.createGroup('a', gi(0n), 0);
  ds.commit('b', { commit: extCommit(0n), groupInfo: gi(1n), leafIndex: 1 });
  const welcome = b64(new Uint8Array([0, 1, 0, 3, 0, 1, 0]));
  // Stale: refused, no Welcome.
  assert.equal(code(() => ds.commit('a', { commit: memberCommit(0n, 0), groupInfo: gi(1n), leafIndex: 0, welcome })), 'stale-epoch');
  assert.equal(sent.filter((s) => s.type === 'welcome').length, 0);
  // Not a Welcome: refused before acceptance.
  assert.equal(code(() => ds.commit('a', { commit: memberCommit(1n, 0), groupInfo: gi(2n), leafIndex: 0, welcome: gi(1n) })), 'bad-message');
  assert.equal(ds.epoch, 1n);
  ds.commit('a', { commit: memberCommit(1n, 0), groupInfo: gi(2n), leafIndex: 0, welcome });
  assert.deepEqual(sent.filter((s) => s.type === 'welcome').map((s) => s.to), ['newcomer']);
});
