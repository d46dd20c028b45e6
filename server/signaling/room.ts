// A room: its sessions (members by memberId, each with at most one live connection), its
// Delivery Service and its media router. Sessions survive a dropped socket for the reconnect
// grace period; then the server proposes their removal.
import { randomBytes } from 'node:crypto';
import { CloseCode } from '../../shared/protocol/index.js';
import type { MemberInfo, Notifications } from '../../shared/protocol/index.js';
import { DeliveryService } from '../delivery/delivery-service.js';
import type { ExternalSender } from '../delivery/external-sender.js';
import type { MediaRoom } from '../sfu/media-room.js';
import type { Connection } from './connection.js';

export interface Session {
  memberId: string;
  resumeToken: string;
  name: string;
  room: Room;
  conn: Connection | null;
  graceTimer: NodeJS.Timeout | null;
}

export interface RoomOptions {
  reconnectGraceMs: number;
  handshakeLogSize: number;
  removeRetries: number;
  joinHoldMs: number;
  log: (line: string) => void;
}

export class Room {
  readonly sessions = new Map<string, Session>();
  readonly ds: DeliveryService;
  /** null when the server runs without media (config.media = false). */
  media: MediaRoom | null = null;
  #closed = false;
  /** The member list as last broadcast (broadcastMembers sends changes against it). */
  #announced = new Map<string, MemberInfo>();

  constructor(
    readonly name: string,
    externalSender: ExternalSender,
    private readonly options: RoomOptions,
    private readonly onEmpty: (room: Room) => void,
  ) {
    this.ds = new DeliveryService(
      {
        notify: (memberId, type, body) => this.notify(memberId, type, body),
        makeRemoveProposal: (groupId, epoch, leaf) => externalSender.removeProposal(groupId, epoch, leaf),
        evict: (memberId, reason) => this.evict(memberId, reason),
        log: (line) => options.log(`room ${name}: ${line}`),
      },
      { logSize: options.handshakeLogSize, removeRetries: options.removeRetries, joinHoldMs: options.joinHoldMs },
    );
  }

  get closed(): boolean {
    return this.#closed;
  }

  notify<K extends keyof Notifications>(memberId: string, type: K, body: Notifications[K]): void {
    this.sessions.get(memberId)?.conn?.notify(type, body);
  }

  addSession(name: string, conn: Connection): Session {
    const session: Session = {
      memberId: `m${randomBytes(9).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`,
      resumeToken: randomBytes(18).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x'),
      name,
      room: this,
      conn,
      graceTimer: null,
    };
    this.sessions.set(session.memberId, session);
    this.ds.addConnection(session.memberId);
    return session;
  }

  members(): MemberInfo[] {
    return [...this.sessions.values()].map((s) => ({ memberId: s.memberId, name: s.name, leafIndex: this.ds.leafOf(s.memberId) ?? null }));
  }

  /**
   * Tells every member what changed in the member list since the last broadcast (O(changes) per
   * member; a room of 1000 would otherwise send 1000 x 1000 entries per epoch). A member that
   * joined since then holds a newer full list from its join result; the change is idempotent.
   */
  broadcastMembers(): void {
    const now = new Map<string, MemberInfo>();
    for (const m of this.members()) now.set(m.memberId, m);
    const changed: MemberInfo[] = [];
    for (const [id, m] of now) {
      const before = this.#announced.get(id);
      if (!before || before.name !== m.name || before.leafIndex !== m.leafIndex) changed.push(m);
    }
    const left = [...this.#announced.keys()].filter((id) => !now.has(id));
    this.#announced = now;
    if (changed.length === 0 && left.length === 0) return;
    for (const s of this.sessions.values()) s.conn?.notify('members', { changed, left });
  }

  /** The socket dropped: media stops now; the member may resume within the grace period. */
  detach(session: Session): void {
    session.conn = null;
    this.media?.removePeer(session.memberId);
    if (session.graceTimer) clearTimeout(session.graceTimer);
    if (this.options.reconnectGraceMs === 0 || this.ds.leafOf(session.memberId) === null) {
      this.remove(session);
      return;
    }
    session.graceTimer = setTimeout(() => this.remove(session), this.options.reconnectGraceMs);
    session.graceTimer.unref();
  }

  /** The member is gone for good: the DS proposes its removal; the room closes when empty. */
  remove(session: Session): void {
    if (this.sessions.get(session.memberId) !== session) return;
    if (session.graceTimer) clearTimeout(session.graceTimer);
    session.graceTimer = null;
    this.sessions.delete(session.memberId);
    this.media?.removePeer(session.memberId);
    const conn = session.conn;
    session.conn = null;
    if (conn) conn.session = null;
    this.ds.removeConnection(session.memberId);
    if (this.sessions.size === 0) {
      this.close();
      this.onEmpty(this);
      return;
    }
    this.broadcastMembers();
  }

  /** Closes the connection of a member whose commit was rolled back; the DS already forgot it. */
  evict(memberId: string, reason: string): void {
    const session = this.sessions.get(memberId);
    if (!session) return;
    const conn = session.conn;
    this.remove(session);
    conn?.close(CloseCode.evicted, reason.slice(0, 120));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.sessions.values()) if (s.graceTimer) clearTimeout(s.graceTimer);
    this.media?.close();
  }
}
