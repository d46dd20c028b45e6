// The signaling protocol: JSON text frames over /ws. One union for what clients send
// (`ClientMessage`), one for what the server sends (`ServerMessage`).
//
//   client -> server   { v: 1, id, type: <request>, ...fields }            (every client message is a request)
//   server -> client   { v: 1, type: 'response', id, result }              (success)
//                      { v: 1, type: 'error', id | null, code, message, epoch?, groupInfo? }
//                      { v: 1, type: <notification>, ...fields }           (no id)
//
// MLS messages are opaque bytes, carried as standard base64 strings. 64-bit epochs are decimal
// strings (JSON numbers lose precision above 2^53). The Delivery Service sequences handshake
// messages per room: `seq` numbers them in the one order every member receives them.

import type { ErrorCode } from './constants.js';

/** Base64 text of an MLSMessage. */
export type B64 = string;
/** A 64-bit epoch as a decimal string. */
export type EpochText = string;
/** Opaque JSON passed to/from mediasoup (RTP parameters, capabilities, ICE/DTLS parameters). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Resume {
  memberId: string;
  resumeToken: string;
  /** Last handshake seq the client processed; the server replays everything after it. */
  lastSeq: number;
}

// ---- requests (client -> server) and their results -------------------------------------------

export interface Requests {
  /** Enter a room. The result says whether an MLS group exists (then join by external commit). */
  join: { room: string; name: string; token?: string; resume?: Resume };
  /** Leave the room; the server proposes the member's removal to the others. */
  leave: Record<string, never>;
  /** First member: publish the new group's epoch-0 GroupInfo (MLSMessage, lists the server as external sender). */
  createGroup: { groupInfo: B64; leafIndex: number };
  /**
   * A commit (member or external) for the current epoch, with the GroupInfo of the epoch it
   * creates (stored atomically when the commit is accepted), the committer's own leaf index in
   * that epoch, the leaves it removes, and optionally a Welcome (sent only after acceptance).
   */
  commit: { commit: B64; groupInfo: B64; leafIndex: number; removed?: number[]; welcome?: B64 };
  /** A member's proposal for the current epoch (fanned out to the other members). */
  proposal: { message: B64 };
  /** A member could not process the commit with this seq (RFC 9750 §5.2.1 risk): the DS may roll it back. */
  rejectCommit: { seq: number; reason: string };
  /** The latest GroupInfo and epoch. */
  getGroupInfo: Record<string, never>;
  /** Application-level ping (browsers cannot send WebSocket pings). */
  ping: Record<string, never>;
  // media (mediasoup); all need a joined room
  getRouterRtpCapabilities: Record<string, never>;
  createWebRtcTransport: { direction: 'send' | 'recv' };
  connectTransport: { transportId: string; dtlsParameters: JsonObject };
  produce: { transportId: string; kind: 'audio' | 'video'; rtpParameters: JsonObject; appData?: JsonObject };
  consume: { transportId: string; producerId: string; rtpCapabilities: JsonObject };
  resumeConsumer: { consumerId: string };
  pauseConsumer: { consumerId: string };
  setPreferredLayers: { consumerId: string; spatialLayer: number; temporalLayer?: number };
  requestKeyFrame: { consumerId: string };
  closeProducer: { producerId: string };
  /** Camera or microphone off: the SFU stops forwarding and tells the consumers (consumerPaused). */
  pauseProducer: { producerId: string };
  resumeProducer: { producerId: string };
  closeTransport: { transportId: string };
  /** A transport without ICE/DTLS (Node participants: load tests). comedia: learn the remote from the first packet. */
  createPlainTransport: { comedia?: boolean; rtcpMux?: boolean };
  connectPlainTransport: { transportId: string; ip: string; port: number; rtcpPort?: number };
}

export interface MemberInfo {
  memberId: string;
  name: string;
  /** Leaf index in the MLS group, or null while joining. */
  leafIndex: number | null;
}

export interface ProducerInfo {
  producerId: string;
  memberId: string;
  kind: 'audio' | 'video';
  appData: JsonObject;
}

export interface Results {
  join: {
    memberId: string;
    resumeToken: string;
    /** True when this join resumed an earlier session (the missed handshake messages follow as notifications). */
    resumed: boolean;
    /** Current epoch, or null when the room has no group yet (then call createGroup). */
    epoch: EpochText | null;
    groupInfo: B64 | null;
    /** The seq of the last handshake message in the room log (notifications continue from here). */
    lastSeq: number;
    /** The server's external sender (RFC 9420 §12.1.8.1): the group creator lists it in external_senders. */
    externalSender: { signatureKey: B64; identity: B64; suite: number };
    routerRtpCapabilities: JsonObject;
    members: MemberInfo[];
    producers: ProducerInfo[];
    limits: {
      maxMessageBytes: number;
      messagesPerSecond: number;
      heartbeatIntervalMs: number;
      /** How long after its socket drops a member may resume its session (join with `resume`). */
      reconnectGraceMs: number;
    };
  };
  leave: Record<string, never>;
  createGroup: { epoch: EpochText };
  /** The commit was accepted: `epoch` is the new epoch, `seq` its place in the room log. */
  commit: { epoch: EpochText; seq: number };
  proposal: { seq: number };
  rejectCommit: { rolledBack: boolean };
  getGroupInfo: { epoch: EpochText | null; groupInfo: B64 | null; lastSeq: number };
  ping: { now: number };
  getRouterRtpCapabilities: { routerRtpCapabilities: JsonObject };
  createWebRtcTransport: {
    transportId: string;
    iceParameters: JsonObject;
    iceCandidates: JsonObject[];
    dtlsParameters: JsonObject;
    sctpParameters?: JsonObject;
  };
  connectTransport: Record<string, never>;
  produce: { producerId: string };
  consume: {
    consumerId: string;
    producerId: string;
    kind: 'audio' | 'video';
    rtpParameters: JsonObject;
    type: string;
    producerPaused: boolean;
  };
  resumeConsumer: Record<string, never>;
  pauseConsumer: Record<string, never>;
  setPreferredLayers: Record<string, never>;
  requestKeyFrame: Record<string, never>;
  closeProducer: Record<string, never>;
  pauseProducer: Record<string, never>;
  resumeProducer: Record<string, never>;
  closeTransport: Record<string, never>;
  createPlainTransport: { transportId: string; ip: string; port: number; rtcpPort?: number };
  connectPlainTransport: Record<string, never>;
}

export type RequestType = keyof Requests;
export const REQUEST_TYPES = [
  'join', 'leave', 'createGroup', 'commit', 'proposal', 'rejectCommit', 'getGroupInfo', 'ping',
  'getRouterRtpCapabilities', 'createWebRtcTransport', 'connectTransport', 'produce', 'consume',
  'resumeConsumer', 'pauseConsumer', 'setPreferredLayers', 'requestKeyFrame', 'closeProducer', 'pauseProducer', 'resumeProducer',
  'closeTransport', 'createPlainTransport', 'connectPlainTransport',
] as const satisfies readonly RequestType[];

export type ClientMessage = {
  [K in RequestType]: { v: number; id: number; type: K } & Requests[K];
}[RequestType];
export type ClientRequest<K extends RequestType> = { v: number; id: number; type: K } & Requests[K];

// ---- notifications (server -> client) -------------------------------------------------------

export interface Notifications {
  /**
   * A handshake message accepted for the room, in log order. `from: 'server'` marks the
   * server's own external-sender proposals (Remove). A committer receives its own accepted
   * commit as the `commit` response instead, at the same position in its stream.
   */
  handshake: { seq: number; epoch: EpochText; kind: 'commit' | 'proposal'; from: 'member' | 'server'; message: B64 };
  /** A Welcome whose commit was accepted (for clients added by KeyPackage). */
  welcome: { seq: number; welcome: B64 };
  /**
   * The DS rolled back the commit with this seq (members rejected it): the room is at `epoch`
   * again with this GroupInfo. A member that applied it reverts to its previous state or re-joins.
   */
  rollback: { seq: number; epoch: EpochText; groupInfo: B64; lastSeq: number };
  /** The DS no longer counts this connection as a group member (removed by a commit). */
  removed: { reason: string };
  /**
   * The room's member list changed: `changed` are members new to the list or whose entry changed
   * (a leaf assigned), `left` the memberIds no longer in it. Applying a change is idempotent
   * (upsert / delete by memberId), so a client applies every change after the full list in its
   * `join` result. Sent once per change of the list, not the whole list each epoch.
   */
  members: { changed: MemberInfo[]; left: string[] };
  newProducer: ProducerInfo;
  producerClosed: { producerId: string };
  consumerClosed: { consumerId: string };
  /** The producer behind this consumer was paused (its owner turned the camera or microphone off) or resumed. */
  consumerPaused: { consumerId: string };
  consumerResumed: { consumerId: string };
}
export type NotificationType = keyof Notifications;
export type ServerNotification = {
  [K in NotificationType]: { v: number; type: K } & Notifications[K];
}[NotificationType];

export interface ResponseMessage<K extends RequestType = RequestType> {
  v: number;
  type: 'response';
  id: number;
  result: Results[K];
}
export interface ErrorMessage {
  v: number;
  type: 'error';
  id: number | null;
  code: ErrorCode;
  message: string;
  /** stale-epoch / group-exists: the room's current epoch and GroupInfo. */
  epoch?: EpochText | null;
  groupInfo?: B64 | null;
  /** stale-epoch: the commit was held for arrival order first; retry at once (no backoff). */
  held?: boolean;
}
export type ServerMessage = ResponseMessage | ErrorMessage | ServerNotification;
