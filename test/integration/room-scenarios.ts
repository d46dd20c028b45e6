// Room scenarios run against the real server with headless shared/member participants: joins,
// leaves, crashes, concurrent joins, a stalled committer, resume, and recovery from a commit the
// DS accepted but members reject. After every event all remaining members converge on one epoch
// and epoch_authenticator, and the epoch counts every join and leave.
// Registered twice: with the real shared/mls and with a framing-only fake (sequencing logic alone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../../server/app.js';
import type { RunningServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import type { ServerConfig } from '../../server/config.js';
import type { RemoveProposalFn } from '../../server/delivery/external-sender.js';
import { fromBase64, toBase64, utf8 } from '../../shared/bytes/index.js';
import { SignalingClient } from '../../shared/member/index.js';
import type { MlsApi, SignalingError } from '../../shared/member/index.js';
import { waitFor } from './helpers.js';
import { Participant, converge, openTransport, settle } from './room-harness.js';

export interface ScenarioDeps {
  mls: MlsApi;
  makeRemoveProposal?: RemoveProposalFn;
  /** A commit for the member's current epoch that is well framed but that members reject. */
  badCommit(mls: MlsApi, state: unknown): Promise<{ commit: Uint8Array; pendingState: unknown }>;
}

export function registerRoomScenarios(label: string, deps: ScenarioDeps): void {
  const cfg = (o: Partial<ServerConfig> = {}) => testConfig({ media: false, reconnectGraceMs: 300, heartbeatIntervalMs: 200, heartbeatTimeoutMs: 800, ...o });
  const start = (o: Partial<ServerConfig> = {}) =>
    startServer(cfg(o), deps.makeRemoveProposal ? { makeRemoveProposal: deps.makeRemoveProposal } : {});
  const mls = deps.mls;
  let n = 0;
  const room = () => `${label.replace(/[^a-z0-9]/gi, '')}-${++n}`;

  async function withServer(fn: (s: RunningServer) => Promise<void>, o: Partial<ServerConfig> = {}) {
    const s = await start(o);
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  test(`${label}: joins and leaves; every event is one epoch; all converge`, async () => {
    await withServer(async (s) => {
      const r = room();
      const a = await new Participant('alice', s.wsUrl, r, mls).join();
      assert.equal(a.epoch, 0n);
      const b = await new Participant('bob', s.wsUrl, r, mls).join();
      await converge([a, b], 1n);
      const c = await new Participant('carol', s.wsUrl, r, mls).join();
      await converge([a, b, c], 2n);
      const d = await new Participant('dave', s.wsUrl, r, mls).join();
      await converge([a, b, c, d], 3n);
      await c.leave();
      await converge([a, b, d], 4n);
      await a.leave(); // the designated committer leaves: bob (lowest remaining) commits
      await converge([b, d], 5n);
      const e = await new Participant('erin', s.wsUrl, r, mls).join();
      await converge([b, d, e], 6n);
      for (const p of [b, d, e]) assert.deepEqual(p.errors.map((x) => x.message), []);
      // The server's view agrees.
      const ds = s.hub.rooms.get(r)!.ds;
      assert.equal(ds.epoch, 6n);
      assert.equal(ds.members().length, 3);
      // Each member's list of the room (its join result, then the server's changes applied) is the server's.
      const rows = (list: { memberId: string; name: string; leafIndex: number | null }[]) =>
        JSON.stringify(list.map((m) => [m.memberId, m.name, m.leafIndex]).sort());
      const want = rows(s.hub.rooms.get(r)!.members());
      assert.equal(JSON.parse(want).length, 3);
      for (const p of [b, d, e]) await waitFor(`${p.name}'s member list`, () => rows(p.member.members) === want, 3000);
      // joinInfo keeps the join answer without what grows with the room (the GroupInfo, the first list).
      for (const p of [b, d, e]) {
        assert.equal(p.member.joinInfo?.groupInfo, null);
        assert.deepEqual(p.member.joinInfo?.members, []);
        assert.equal(p.member.joinInfo?.memberId, p.member.memberId);
      }
      for (const p of [b, d, e]) p.member.close();
    });
  });

  test(`${label}: a crashed member (socket destroyed) is removed after the grace period`, async () => {
    await withServer(async (s) => {
      const r = room();
      const a = await new Participant('alice', s.wsUrl, r, mls).join();
      const b = await new Participant('bob', s.wsUrl, r, mls).join();
      const c = await new Participant('carol', s.wsUrl, r, mls).join();
      await converge([a, b, c], 2n);
      b.crash();
      await converge([a, c], 3n);
      a.crash(); // the designated committer crashes too: carol is alone and commits
      await converge([c], 4n);
      c.member.close();
    });
  });

  test(`${label}: a committer that never commits cannot stall the room (staggered fallback)`, async () => {
    await withServer(async (s) => {
      const r = room();
      // alice (leaf 0, designated committer) hangs whenever she commits.
      const stuck: MlsApi = { ...mls, createCommit: () => new Promise(() => {}) };
      const a = await new Participant('alice', s.wsUrl, r, stuck).join();
      const b = await new Participant('bob', s.wsUrl, r, mls, { staggerMs: 200 }).join();
      const c = await new Participant('carol', s.wsUrl, r, mls, { staggerMs: 200 }).join();
      const d = await new Participant('dave', s.wsUrl, r, mls, { staggerMs: 200 }).join();
      await converge([a, b, c, d], 3n);
      await d.leave();
      // alice would commit at once but hangs; bob (rank 1) commits after 200 ms.
      await waitFor('bob and carol at epoch 4', () => b.epoch === 4n && c.epoch === 4n, 10_000);
      assert.equal(b.auth, c.auth);
      for (const p of [a, b, c]) p.member.close();
    });
  });

  test(`${label}: concurrent joins race; losers get stale-epoch, retry and all converge`, async () => {
    await withServer(async (s) => {
      const r = room();
      const a = await new Participant('alice', s.wsUrl, r, mls).join();
      const joiners = await Promise.all(['j1', 'j2', 'j3', 'j4'].map((name) => new Participant(name, s.wsUrl, r, mls).connect()));
      await Promise.all(joiners.map((j) => j.join()));
      await converge([a, ...joiners], 4n);
      for (const p of [a, ...joiners]) p.member.close();
    });
  });

  /**
   * alice (leaf 0, the designated committer) takes `delayMs` over every commit; bob joins and leaves.
   * A join that arrives now is ready while bob's removal is still pending.
   */
  async function slowCommitterAfterLeave(s: RunningServer, r: string, delayMs: number): Promise<Participant> {
    const slow: MlsApi = { ...mls, createCommit: async (st, o) => (await new Promise((res) => setTimeout(res, delayMs)), mls.createCommit(st, o)) };
    const a = await new Participant('alice', s.wsUrl, r, slow).join();
    const b = await new Participant('bob', s.wsUrl, r, mls).join();
    await converge([a, b], 1n);
    await b.leave();
    return a;
  }

  test(`${label}: membership changes in arrival order: a join waits behind an earlier leave (JOIN_HOLD_MS)`, async () => {
    for (const joinHoldMs of [3000, 0]) {
      await withServer(async (s) => {
        const r = room();
        const a = await slowCommitterAfterLeave(s, r, 400);
        const c = await new Participant('carol', s.wsUrl, r, mls).join();
        await converge([a, c], 3n);
        // alice's epochs after the first: with the hold, bob's removal (1 member) comes before carol's join (2).
        const counts = a.epochs.slice(-2).map((e) => e.memberCount);
        const serverProposals = s.hub.rooms.get(r)!.ds.logEntries.filter((e) => e.from === 'server').length;
        if (joinHoldMs > 0) {
          assert.deepEqual(counts, [1, 2], 'the leave is committed first');
          assert.equal(serverProposals, 1, 'the removal was proposed once');
        } else {
          assert.deepEqual(counts, [3, 2], 'without the hold the join wins the race');
          assert.equal(serverProposals, 2, 'and the removal is proposed again for the new epoch');
        }
        for (const p of [a, c]) p.member.close();
      }, { joinHoldMs });
    }
  });

  test(`${label}: a join held for an earlier leave is answered stale-epoch with held: true (retry at once)`, async () => {
    await withServer(async (s) => {
      const r = room();
      const a = await slowCommitterAfterLeave(s, r, 300);
      // carol speaks the protocol by hand: her commit for epoch 1 waits for bob's removal, then is stale.
      const { transport, ws } = await openTransport(s.wsUrl);
      const carol = new SignalingClient(transport);
      const joined = await carol.request('join', { room: r, name: 'carol' });
      assert.equal(joined.epoch, '1');
      const { commit, pendingState } = await mls.joinExternal({ groupInfo: fromBase64(joined.groupInfo!), identity: utf8('carol') });
      const err = await carol
        .request('commit', { commit: toBase64(commit), groupInfo: toBase64(await mls.groupInfo(pendingState)), leafIndex: mls.ownLeafIndex(pendingState) })
        .then(() => null, (e: unknown) => e as SignalingError);
      assert.equal(err?.code, 'stale-epoch');
      assert.equal(err?.held, true);
      assert.equal(err?.epoch, '2', 'the removal of bob went first');
      // A commit that is simply late (no wait) carries no such flag.
      const late = await carol
        .request('commit', { commit: toBase64(commit), groupInfo: toBase64(await mls.groupInfo(pendingState)), leafIndex: mls.ownLeafIndex(pendingState) })
        .then(() => null, (e: unknown) => e as SignalingError);
      assert.equal(late?.code, 'stale-epoch');
      assert.equal(late?.held, false);
      ws.close();
      a.member.close();
    });
  });

  test(`${label}: churn: two crashes, a leave and two joins at once; everyone settles on one epoch`, async () => {
    await withServer(async (s) => {
      const r = room();
      const ps: Participant[] = [];
      for (const name of ['p0', 'p1', 'p2', 'p3', 'p4']) ps.push(await new Participant(name, s.wsUrl, r, mls, { staggerMs: 200 }).join());
      await converge(ps, 4n);
      const joiners = await Promise.all(['q0', 'q1'].map((name) => new Participant(name, s.wsUrl, r, mls, { staggerMs: 200 }).connect()));
      ps[1]!.crash();
      ps[3]!.crash();
      const leaving = ps[4]!.leave();
      await Promise.all([...joiners.map((j) => j.join()), leaving]);
      const remaining = [ps[0]!, ps[2]!, ...joiners];
      const epoch = await settle(remaining, 4);
      // 2 joins + 3 removals: at most 5 epochs, at least 3 (removals may share a commit).
      assert.ok(epoch >= 7n && epoch <= 9n, `epoch ${epoch}`);
      await waitFor('the DS agrees', () => s.hub.rooms.get(r)!.ds.epoch === epoch && s.hub.rooms.get(r)!.ds.pendingRemovals.length === 0, 5000);
      for (const p of remaining) p.member.close();
    });
  });

  test(`${label}: two first members race to create the group; one creates, the other joins`, async () => {
    await withServer(async (s) => {
      const r = room();
      const ps = await Promise.all(['x', 'y'].map((name) => new Participant(name, s.wsUrl, r, mls).connect()));
      await Promise.all(ps.map((p) => p.join()));
      await converge(ps, 1n);
      for (const p of ps) p.member.close();
    });
  });

  test(`${label}: a member that reconnects within the grace period catches up from the log`, async () => {
    await withServer(
      async (s) => {
        const r = room();
        const a = await new Participant('alice', s.wsUrl, r, mls).join();
        const b = await new Participant('bob', s.wsUrl, r, mls).join();
        await converge([a, b], 1n);
        b.ws.terminate(); // network drop; bob's engine keeps its state
        await waitFor('server noticed', () => s.hub.rooms.get(r)!.sessions.get(b.member.memberId!)!.conn === null, 5000);
        const c = await new Participant('carol', s.wsUrl, r, mls).join(); // epoch 2 while bob is away
        await converge([a, c], 2n, 30_000, 3);
        const { openTransport } = await import('./room-harness.js');
        const { transport, ws } = await openTransport(s.wsUrl);
        b.ws = ws;
        await b.member.resume(transport);
        await converge([a, b, c], 2n);
        await c.leave();
        await converge([a, b], 3n);
        for (const p of [a, b]) p.member.close();
      },
      { reconnectGraceMs: 5000 },
    );
  });

  test(`${label}: a commit the DS accepted but members reject is rolled back; the offender is evicted and removed`, async () => {
    await withServer(async (s) => {
      const r = room();
      const a = await new Participant('alice', s.wsUrl, r, mls).join();
      const b = await new Participant('bob', s.wsUrl, r, mls).join();
      const x = await new Participant('mallory', s.wsUrl, r, mls).join();
      await converge([a, b, x], 2n);
      const state = x.member.state!;
      const { commit, pendingState } = await deps.badCommit(mls, state);
      const res = await x.member.signaling.request('commit', {
        commit: toBase64(commit),
        groupInfo: toBase64(await mls.groupInfo(pendingState)),
        leafIndex: mls.ownLeafIndex(state),
      });
      assert.equal(res.epoch, '3', 'the DS cannot tell and accepts it');
      await waitFor('mallory evicted', () => x.ws.readyState === x.ws.CLOSED, 10_000);
      await converge([a, b], 3n);
      const ds = s.hub.rooms.get(r)!.ds;
      assert.equal(ds.epoch, 3n);
      assert.equal(ds.members().length, 2);
      assert.ok(a.errors.some((e) => e.code === 'commit-rejected'));
      const c = await new Participant('carol', s.wsUrl, r, mls).join();
      await converge([a, b, c], 4n);
      for (const p of [a, b, c]) p.member.close();
    });
  });

  test(`${label}: a peer that stops answering pings is dropped and removed`, async () => {
    await withServer(async (s) => {
      const r = room();
      const a = await new Participant('alice', s.wsUrl, r, mls).join();
      const b = await new Participant('bob', s.wsUrl, r, mls).join();
      await converge([a, b], 1n);
      // Stop reading the socket: no pongs, yet the TCP connection stays up.
      (b.ws as unknown as { _socket: { pause(): void } })._socket.pause();
      await converge([a], 2n, 10_000);
      b.ws.terminate();
      a.member.close();
    });
  });

}
