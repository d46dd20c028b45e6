// shared/member: the portable participant engine (see member.ts) and the signaling client.
export { Member, MemberError } from './member.js';
export type { EpochEvent, GroupState, MemberEvents, MemberOptions, MlsApi } from './member.js';
export { SignalingClient, SignalingError, webSocketTransport } from './signaling-client.js';
export type { SignalingClientOptions, Transport, WebSocketLike } from './signaling-client.js';
