// The page's seam to the participant engine (shared/member): join, epochs, media requests, notifications.
// The page never sees group secrets beyond one epoch's SFrame base key on its way to the worker.

import type { MemberInfo, ProducerInfo, Notifications, JsonObject } from '../../shared/protocol/index.js';
import type { MediaSignaling } from '../session/media.js';

export interface EpochInfo {
  epoch: bigint;
  epochAuthenticator: Uint8Array;
  roster: { leafIndex: number; identity: Uint8Array }[];
  ownLeafIndex: number;
  treeSize: number;
  /** MLS-Exporter("SFrame 1.0 Base Key", "", Nk). Valid only while the handler runs: the engine
   *  wipes it when the handlers return, so a handler that defers its use must copy it first. */
  baseKey: Uint8Array;
}

export interface JoinInfo {
  memberId: string;
  routerRtpCapabilities: JsonObject;
  producers: ProducerInfo[];
  members: MemberInfo[];
  heartbeatIntervalMs: number;
}

/** The signaling socket dropped and the engine is resuming the session, or has resumed it. */
export type ConnectionEvent = { state: 'reconnecting'; code: number } | { state: 'resumed'; info: JoinInfo };

export interface GroupEngine extends MediaSignaling {
  /** Joins the room and the MLS group; resolves once this member is in the group (first epoch event fired). */
  join(): Promise<JoinInfo>;
  onEpoch(handler: (e: EpochInfo) => void): void;
  onNotification<K extends Exclude<keyof Notifications, 'members'>>(type: K, handler: (n: Notifications[K]) => void): void;
  /** The room's member list (names, leaves), whole, each time it changes (the server sends changes). */
  onMembers(handler: (members: MemberInfo[]) => void): void;
  /** The socket dropped (reconnecting) or the session was resumed on a new socket (media must restart). */
  onConnection(handler: (e: ConnectionEvent) => void): void;
  /** The engine lost the session for good (socket closed, removed, evicted). */
  onEnded(handler: (error: Error | null) => void): void;
  /** Recent engine errors (commit rejected, desync, ...): status only. */
  errors(): string[];
  leave(): Promise<void>;
}
