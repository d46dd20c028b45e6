// The signaling hub: rooms by name, sessions, and the dispatch of validated requests.
// Delivery Service requests are handled synchronously on arrival (so the room's handshake order
// is the order messages arrive); media requests are async.
import { timingSafeEqual } from 'node:crypto';
import { toBase64 } from '../../shared/bytes/index.js';
import { CloseCode, ErrorCode } from '../../shared/protocol/index.js';
import type { ClientMessage, ClientRequest, RequestType, Results } from '../../shared/protocol/index.js';
import type { ServerConfig } from '../config.js';
import { ExternalSender, EXTERNAL_SENDER_SUITE } from '../delivery/external-sender.js';
import type { RemoveProposalFn } from '../delivery/external-sender.js';

/** Replaceable dependencies (tests use a fake MLS for DS sequencing tests). */
export interface ServerDeps {
  makeRemoveProposal?: RemoveProposalFn;
}
import { RequestError } from '../errors.js';
import { MediaRoom } from '../sfu/media-room.js';
import type { WorkerPool } from '../sfu/workers.js';
import type { Connection, ConnectionHandler } from './connection.js';
import { Room } from './room.js';
import type { Session } from './room.js';
import { verifyJoinToken } from './token.js';

export class Hub implements ConnectionHandler {
  readonly rooms = new Map<string, Room>();
  readonly #creating = new Map<string, Promise<Room>>();
  readonly connections = new Set<Connection>();
  readonly externalSender: ExternalSender;
  #heartbeat: NodeJS.Timeout | null = null;
  #lastSweep = Date.now();
  #closed = false;

  constructor(
    private readonly config: ServerConfig,
    private readonly workers: WorkerPool | null,
    private readonly log: (line: string) => void,
    deps: ServerDeps = {},
  ) {
    this.externalSender = new ExternalSender(deps.makeRemoveProposal ? { makeRemove: deps.makeRemoveProposal } : {});
    this.#heartbeat = setInterval(() => this.#sweep(), config.heartbeatIntervalMs);
    this.#heartbeat.unref();
  }

  /** Pings every connection; one silent for heartbeatTimeoutMs is a dead peer: terminated (4002 in the log). */
  #sweep(): void {
    const now = Date.now();
    // If this process itself stalled (GC, CPU starvation), pongs could not be read meanwhile:
    // the stall does not count against the peers.
    const stall = now - this.#lastSweep - this.config.heartbeatIntervalMs;
    this.#lastSweep = now;
    if (stall > this.config.heartbeatIntervalMs / 2) for (const conn of this.connections) conn.lastSeen += stall;
    for (const conn of this.connections) {
      if (now - conn.lastSeen > this.config.heartbeatTimeoutMs) {
        this.log(`connection ${conn.id}: no pong for ${now - conn.lastSeen} ms, terminated (heartbeat timeout)`);
        conn.terminate();
      } else conn.ping();
    }
  }

  add(conn: Connection): void {
    this.connections.add(conn);
  }

  onClose(conn: Connection): void {
    this.connections.delete(conn);
    const session = conn.session as Session | null;
    conn.session = null;
    if (session && session.conn === conn) session.room.detach(session);
  }

  onRequest(conn: Connection, msg: ClientMessage): void {
    // `after` work (notifications that must follow the response) runs once the response is sent.
    const afterSend: Array<() => void> = [];
    const after = (fn: () => void) => afterSend.push(fn);
    const done = (result: Results[RequestType]) => {
      conn.respond(msg.id, result);
      for (const fn of afterSend) fn();
    };
    try {
      const out = this.#dispatch(conn, msg, after);
      if (out instanceof Promise) out.then(done, (e: unknown) => this.#fail(conn, msg, e));
      else done(out);
    } catch (e) {
      this.#fail(conn, msg, e);
    }
  }

  #fail(conn: Connection, msg: ClientMessage, e: unknown): void {
    if (e instanceof RequestError) {
      conn.sendError(msg.id, e.code, e.message, e.extra);
    } else {
      this.log(`${msg.type} failed: ${(e as Error)?.stack ?? String(e)}`);
      conn.sendError(msg.id, ErrorCode.internal, 'internal error');
    }
  }

  #session(conn: Connection): Session {
    const s = conn.session as Session | null;
    if (!s) throw new RequestError(ErrorCode.notJoined, 'join a room first');
    return s;
  }

  #dispatch(conn: Connection, msg: ClientMessage, after: (fn: () => void) => void): Results[RequestType] | Promise<Results[RequestType]> {
    switch (msg.type) {
      case 'join':
        return this.#join(conn, msg, after);
      case 'ping':
        return { now: Date.now() };
      case 'leave': {
        const s = this.#session(conn);
        s.room.remove(s);
        return {};
      }
      case 'createGroup': {
        const s = this.#session(conn);
        const r = s.room.ds.createGroup(s.memberId, msg.groupInfo, msg.leafIndex);
        after(() => s.room.broadcastMembers());
        return r;
      }
      case 'commit': {
        const s = this.#session(conn);
        const judge = () => {
          const r = s.room.ds.commit(s.memberId, msg);
          after(() => s.room.broadcastMembers());
          return r;
        };
        // Membership changes are committed in arrival order (delivery-service.ts header).
        const ds = s.room.ds;
        const hold = ds.commitHold(s.memberId, msg.commit);
        if (hold === 0) return judge();
        return ds.waitTurn(s.memberId, hold).then(() => {
          try {
            return judge();
          } catch (e) {
            // Stale after waiting its turn: the sender should retry at once, not back off.
            if (e instanceof RequestError && e.code === ErrorCode.staleEpoch) e.extra.held = true;
            throw e;
          }
        });
      }
      case 'proposal': {
        const s = this.#session(conn);
        return s.room.ds.proposal(s.memberId, msg.message);
      }
      case 'rejectCommit': {
        const s = this.#session(conn);
        return s.room.ds.rejectCommit(s.memberId, msg.seq, msg.reason);
      }
      case 'getGroupInfo': {
        const ds = this.#session(conn).room.ds;
        return { epoch: ds.epochText, groupInfo: ds.groupInfo, lastSeq: ds.lastSeq };
      }
      default:
        return this.#media(conn, msg);
    }
  }

  async #media(conn: Connection, msg: ClientMessage): Promise<Results[RequestType]> {
    const s = this.#session(conn);
    const media = s.room.media;
    if (!media) throw new RequestError(ErrorCode.mediaError, 'this server runs without media (MEDIA=0)');
    const peer = s.memberId;
    switch (msg.type) {
      case 'getRouterRtpCapabilities':
        return { routerRtpCapabilities: media.rtpCapabilities };
      case 'createWebRtcTransport':
        return media.createWebRtcTransport(peer, msg.direction);
      case 'connectTransport':
        await media.connectTransport(peer, msg.transportId, msg.dtlsParameters);
        return {};
      case 'produce': {
        const p = await media.produce(peer, msg.transportId, msg.kind, msg.rtpParameters, msg.appData);
        return { producerId: p.id };
      }
      case 'consume':
        return media.consume(peer, msg.transportId, msg.producerId, msg.rtpCapabilities);
      case 'resumeConsumer':
        await media.resumeConsumer(peer, msg.consumerId);
        return {};
      case 'pauseConsumer':
        await media.pauseConsumer(peer, msg.consumerId);
        return {};
      case 'setPreferredLayers':
        await media.setPreferredLayers(peer, msg.consumerId, msg.spatialLayer, msg.temporalLayer);
        return {};
      case 'requestKeyFrame':
        await media.requestKeyFrame(peer, msg.consumerId);
        return {};
      case 'closeProducer':
        media.closeProducer(peer, msg.producerId);
        return {};
      case 'pauseProducer':
      case 'resumeProducer':
        await media.setProducerPaused(peer, msg.producerId, msg.type === 'pauseProducer');
        return {};
      case 'closeTransport':
        media.closeTransport(peer, msg.transportId);
        return {};
      case 'createPlainTransport':
        return media.createPlainTransport(peer, msg);
      case 'connectPlainTransport':
        await media.connectPlainTransport(peer, msg.transportId, msg.ip, msg.port, msg.rtcpPort);
        return {};
      default:
        throw new RequestError(ErrorCode.unknownType, `${msg.type} is not handled`);
    }
  }

  async #room(name: string): Promise<Room> {
    const existing = this.rooms.get(name);
    if (existing && !existing.closed) return existing;
    const pending = this.#creating.get(name);
    if (pending) return pending;
    if (this.rooms.size + this.#creating.size >= this.config.maxRooms) {
      throw new RequestError(ErrorCode.tooManyRooms, `this server hosts at most ${this.config.maxRooms} rooms`);
    }
    const creating = (async () => {
      const room = new Room(
        name,
        this.externalSender,
        {
          reconnectGraceMs: this.config.reconnectGraceMs,
          handshakeLogSize: this.config.handshakeLogSize,
          removeRetries: this.config.removeRetries,
          joinHoldMs: this.config.joinHoldMs,
          log: this.log,
        },
        (r) => {
          if (this.rooms.get(r.name) === r) this.rooms.delete(r.name);
        },
      );
      if (this.workers) room.media = await MediaRoom.create(
        this.workers.next(),
        { listenIp: this.config.rtcListenIp, announcedIp: this.config.announcedIp, initialOutgoingBitrate: this.config.initialOutgoingBitrate },
        (peerId, type, body) => room.notify(peerId, type, body),
        () => room.sessions.keys(),
      );
      return room;
    })();
    this.#creating.set(name, creating);
    try {
      const room = await creating;
      this.rooms.set(name, room);
      return room;
    } finally {
      this.#creating.delete(name);
    }
  }

  async #join(conn: Connection, msg: ClientRequest<'join'>, after: (fn: () => void) => void): Promise<Results['join']> {
    if (conn.session) throw new RequestError(ErrorCode.alreadyJoined, 'this connection is already in a room');
    if (this.config.joinTokenSecret !== undefined) {
      const check = verifyJoinToken(this.config.joinTokenSecret, msg.token, msg.room, msg.name);
      if (!check.ok) throw new RequestError(ErrorCode.unauthorized, check.reason);
    }
    let room = this.rooms.get(msg.room);
    let session: Session;
    let resumed = false;
    if (msg.resume) {
      const s = room?.sessions.get(msg.resume.memberId);
      const replay = room && s ? room.ds.replayAfter(msg.resume.lastSeq) : undefined;
      if (!room || !s || !tokenEqual(s.resumeToken, msg.resume.resumeToken) || !replay || s.name !== msg.name) {
        throw new RequestError(ErrorCode.resumeFailed, 'this session cannot be resumed: join afresh');
      }
      if (conn.closed || this.#closed) throw new RequestError(ErrorCode.internal, 'connection closed');
      if (s.graceTimer) clearTimeout(s.graceTimer);
      s.graceTimer = null;
      const old = s.conn;
      if (old && old !== conn) {
        old.session = null;
        old.close(CloseCode.resumedElsewhere, 'this session was resumed on another connection');
      }
      s.conn = conn;
      conn.session = s;
      session = s;
      resumed = true;
      const r = room;
      const result = this.#joinResult(r, session, resumed);
      // Missed handshake messages follow the response, in log order.
      after(() => {
        for (const e of replay) {
          conn.notify('handshake', { seq: e.seq, epoch: e.epoch.toString(), kind: e.kind as 'commit' | 'proposal', from: e.from, message: e.message });
        }
        r.broadcastMembers();
      });
      return result;
    }
    room = await this.#room(msg.room);
    const bail = (e: RequestError) => {
      // A room created for a join that did not happen must not linger (it would count against maxRooms).
      if (room && room.sessions.size === 0) {
        room.close();
        if (this.rooms.get(room.name) === room) this.rooms.delete(room.name);
      }
      return e;
    };
    if (conn.closed || this.#closed) throw bail(new RequestError(ErrorCode.internal, 'connection closed'));
    if (conn.session) throw bail(new RequestError(ErrorCode.alreadyJoined, 'this connection is already in a room'));
    if (room.sessions.size >= this.config.maxMembersPerRoom) {
      throw new RequestError(ErrorCode.roomFull, `room ${msg.room} has ${this.config.maxMembersPerRoom} members`);
    }
    session = room.addSession(msg.name, conn);
    conn.session = session;
    const result = this.#joinResult(room, session, resumed);
    after(() => room.broadcastMembers());
    return result;
  }

  #joinResult(room: Room, session: Session, resumed: boolean): Results['join'] {
    return {
      memberId: session.memberId,
      resumeToken: session.resumeToken,
      resumed,
      epoch: room.ds.epochText,
      groupInfo: room.ds.groupInfo,
      lastSeq: room.ds.lastSeq,
      externalSender: {
        signatureKey: toBase64(this.externalSender.publicKey),
        identity: toBase64(this.externalSender.identity),
        suite: EXTERNAL_SENDER_SUITE,
      },
      routerRtpCapabilities: room.media?.rtpCapabilities ?? {},
      members: room.members(),
      producers: room.media?.producers(session.memberId) ?? [],
      limits: {
        maxMessageBytes: this.config.maxMessageBytes,
        messagesPerSecond: this.config.messagesPerSecond,
        heartbeatIntervalMs: this.config.heartbeatIntervalMs,
        reconnectGraceMs: this.config.reconnectGraceMs,
      },
    };
  }

  /** Closes every connection (1001) and room. */
  close(): void {
    this.#closed = true;
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    for (const conn of [...this.connections]) conn.close(CloseCode.goingAway, 'server shutting down');
    for (const room of this.rooms.values()) room.close();
    this.rooms.clear();
    this.externalSender.close();
  }
}

function tokenEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
