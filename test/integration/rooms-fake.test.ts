// Room scenarios with a framing-only fake MLS: the DS and engine sequencing logic on its own.
import { registerRoomScenarios } from './room-scenarios.js';
import { fakeMls } from './fake-mls.js';

registerRoomScenarios('fake-mls', {
  mls: fakeMls,
  makeRemoveProposal: (o) => fakeMls.createExternalRemoveProposal(o),
  badCommit: (_mls, state) => fakeMls.createInvalidCommit(state),
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toBase64 } from '../../shared/bytes/index.js';
import { startServer } from '../../server/app.js';
import { testConfig } from '../../server/config.js';
import { waitFor } from './helpers.js';
import { Participant, converge } from './room-harness.js';

test('fake-mls: a commit most members reject is rolled back; a member that had applied it reverts to its previous state', async () => {
  const s = await startServer(testConfig({ media: false }), { makeRemoveProposal: (o) => fakeMls.createExternalRemoveProposal(o) });
  try {
    const ps: Participant[] = [];
    for (const name of ['a', 'b', 'c', 'x']) ps.push(await new Participant(name, s.wsUrl, 'partial', fakeMls).join());
    await converge(ps, 3n);
    const [a, b, c, x] = ps as [Participant, Participant, Participant, Participant];
    const before = c.auth;
    const { commit, pendingState } = await fakeMls.createPartlyInvalidCommit(x.member.state, [a.member.ownLeafIndex!, b.member.ownLeafIndex!]);
    await x.member.signaling.request('commit', { commit: toBase64(commit), groupInfo: toBase64(await fakeMls.groupInfo(pendingState)), leafIndex: x.member.ownLeafIndex! });
    await waitFor('x evicted', () => x.ws.readyState === x.ws.CLOSED, 10_000);
    // c applied the commit (epoch 4), reverted to its epoch-3 state on `rollback`, then everyone
    // committed x's removal (epoch 4 again, a different one).
    await converge([a, b, c], 4n);
    assert.deepEqual(c.epochs.map((e) => e.epoch), [2n, 3n, 4n, 3n, 4n]);
    assert.equal(Buffer.from(c.epochs[3]!.epochAuthenticator).toString('hex'), before, 'the very state it had before');
    assert.notEqual(Buffer.from(c.epochs[2]!.epochAuthenticator).toString('hex'), c.auth, 'the bad epoch 4 is not the final one');
    assert.deepEqual(a.epochs.map((e) => e.epoch), [0n, 1n, 2n, 3n, 4n], 'a never applied it');
    for (const p of [a, b, c]) p.member.close();
  } finally {
    await s.close();
  }
});
