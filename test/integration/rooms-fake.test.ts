// Room scenarios with a framing-only fake MLS: the DS and engine sequencing logic on its own.
import { registerRoomScenarios } from './room-scenarios.js';
import { fakeMls } from './fake-mls.js';

registerRoomScenarios('fake-mls', {
  mls: fakeMls,
  makeRemoveProposal: (o) => fakeMls.createExternalRemoveProposal(o),
  badCommit: (_mls, state) => fakeMls.createInvalidCommit(state),
});
