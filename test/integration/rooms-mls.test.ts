// Room scenarios with the real shared/mls (RFC 9420): external joins, server Remove proposals
// signed with the server's external-sender key, commits confirmed by the DS.
import * as mls from '../../shared/mls/index.js';
import type { MlsApi } from '../../shared/member/index.js';
import { registerRoomScenarios } from './room-scenarios.js';

registerRoomScenarios('mls', {
  mls: mls satisfies MlsApi,
  // A real commit whose last byte (membership_tag, RFC 9420 §6.2) is flipped: the public header
  // is intact, so the DS accepts it; every member rejects it.
  badCommit: async (api, state) => {
    const { commit, pendingState } = await api.createCommit(state);
    const bad = commit.slice();
    bad[bad.length - 1]! ^= 0x01;
    return { commit: bad, pendingState };
  },
});
