// One room's MLS Delivery Service, "strongly consistent" (RFC 9750 §5.2.1): it orders handshake
// messages, accepts exactly one commit per epoch (the first), stores the GroupInfo of the newest
// epoch and keeps a bounded log for catch-up. It reads only public framing (framing.ts) and
// holds no group secret; its one key is the server's external-sender signature key, used (by
// the injected makeRemoveProposal) to propose the removal of members that left (RFC 9420 §12.1.8.1).
//
// Leaf tracking (which connection owns which leaf, so the server knows what to remove):
//  - the group creator claims leaf 0 in createGroup;
//  - a member commit's sender is a member leaf_index in the public header: it must equal the
//    committer's known leaf (a member's leaf never moves in MLS);
//  - an external committer (sender new_member_commit: no index on the wire) claims the leaf it
//    got in its pending state; the claim must not collide with a live member's leaf;
//  - the leaves a commit removes are read from the commit itself (framing.ts readCommitSummary):
//    Removes by value, and ProposalRefs that match the server's own Remove proposals of the epoch
//    (proposal-ref.ts); those connections stop being members. A `removed` claim that does not
//    match is refused (conflict); by-value proposals other than Remove/ExternalInit are refused
//    (this application's policy, RFC 9750 "explicit group policy").
// The one claim the DS takes on trust is an external joiner's own leaf index; a liar can only
// mislabel itself (any member may already remove any other with a commit: no new power). Members check everything cryptographically and
// report a commit they cannot process (rejectCommit), which may roll it back (see below).
//
// Membership changes in arrival order: an external commit (a join) voids every proposal of its epoch,
// so a join that lands while a removal is pending makes the server propose that removal again and
// every member verify it again; in a busy room, joiners that lost a race retry at once and can
// starve the removals for many epochs; and among joiners, the fastest to rebuild its commit wins
// every race, so a slower one can wait half a minute. So changes are committed in the order they
// arrived (commitHold, called before commit): a join waits while a removal noticed before the
// joiner arrived is still pending, or while an earlier joiner is still trying (it sent an external
// commit within the last 2 x joinHoldMs); a member commit whose removals were all noticed after
// such a joiner arrived waits for it. A held commit waits until the next commit (it is then stale,
// and its sender retries on the new epoch) or for at most joinHoldMs (then it is judged as usual,
// so a stalled or vanished peer delays others by joinHoldMs at most).
//
// Recovery from an accepted-but-invalid commit (RFC 9750 §5.2.1 "the group is stuck"): the DS
// keeps the state before the newest commit. If a majority of the other members that were in the
// group before it report rejection, the DS restores the previous epoch, GroupInfo and leaf map,
// drops the log entries from that commit on, tells everyone (`rollback`), evicts the committer,
// and (if it was a member) proposes its removal. Members that applied the commit revert to the
// state they kept; the room moves on.
import { ErrorCode } from '../../shared/protocol/index.js';
import type { Notifications } from '../../shared/protocol/index.js';
import { fromBase64, toBase64, toHex } from '../../shared/bytes/index.js';
import { RequestError } from '../errors.js';
import { FramingError, readCommitSummary, readMlsHeader } from './framing.js';
import { externalProposalRef } from './proposal-ref.js';
import type { CommitSummary, MlsHeader } from './framing.js';

export interface LogEntry {
  seq: number;
  /** Epoch the message belongs to (a commit's epoch is the one it ends). */
  epoch: bigint;
  kind: 'commit' | 'proposal' | 'welcome';
  from: 'member' | 'server';
  /** Base64 MLSMessage. */
  message: string;
  /** The connection that sent it (commits, member proposals). */
  sender: string | null;
  /** Server Remove proposals: the leaf, and the ProposalRef (hex) commits use to include it. */
  removedLeaf?: number;
  ref?: string;
}

interface Snapshot {
  epoch: bigint;
  groupInfo: string;
  leaves: Map<string, number | null>;
  pendingRemovals: Map<number, number>;
  leftAt: Map<number, number>;
  seq: number;
  committer: string;
  committerWasMember: boolean;
  rejects: Set<string>;
  eligible: Set<string>;
  logLength: number;
}

export interface DeliveryCallbacks {
  /** Sends a notification to one connection of the room (dropped if it is offline). */
  notify<K extends keyof Notifications>(memberId: string, type: K, body: Notifications[K]): void;
  /** Signs a Remove proposal as external sender 0 (shared/mls createExternalRemoveProposal). */
  makeRemoveProposal(groupId: Uint8Array, epoch: bigint, removedLeaf: number): Promise<Uint8Array>;
  /** Closes a connection whose commit was rolled back (close code 4003). */
  evict(memberId: string, reason: string): void;
  log(line: string): void;
}

export interface DeliveryOptions {
  logSize: number;
  removeRetries: number;
  /** Longest wait of a commit held for arrival order (commitHold; 0: never wait). */
  joinHoldMs: number;
}

function decodeB64(text: string, field: string): Uint8Array {
  try {
    return fromBase64(text);
  } catch {
    throw new RequestError(ErrorCode.badRequest, `${field} is not valid base64`);
  }
}

function header(bytes: Uint8Array, field: string): MlsHeader {
  try {
    return readMlsHeader(bytes);
  } catch (e) {
    if (e instanceof FramingError) throw new RequestError(ErrorCode.badMessage, `${field}: ${e.message}`);
    throw e;
  }
}

export class DeliveryService {
  #groupId: Uint8Array | null = null;
  #suite = 0;
  #epoch: bigint | null = null;
  #groupInfo: string | null = null;
  #seq = 0;
  #log: LogEntry[] = [];
  /** memberId -> leaf index (null: in the room, not in the group). */
  readonly #leaves = new Map<string, number | null>();
  /** leaf -> how many times the server proposed its removal. */
  #pendingRemovals = new Map<number, number>();
  /** leaf -> when its member's departure was noticed (performance.now()); kept while its removal is pending. */
  readonly #leftAt = new Map<number, number>();
  /** memberId -> when the connection entered the room (for arrival order against removals). */
  readonly #arrivedAt = new Map<string, number>();
  /** memberId -> when that non-member last sent an external commit (a joiner still trying). */
  readonly #joinTriedAt = new Map<string, number>();
  /** Removals not proposed for now because an earlier joiner is still trying (leaf -> counts as a try). */
  readonly #deferred = new Map<number, boolean>();
  #deferTimer: ReturnType<typeof setTimeout> | null = null;
  /** Resolved at the next change of epoch (commit, rollback, reset); waiting joins hang on it. */
  #epochMoved: { promise: Promise<void>; resolve: () => void } | null = null;
  #snapshot: Snapshot | null = null;
  readonly #rolledBack = new Set<number>();
  /** Highest seq dropped from the log for size. */
  #truncatedUpTo = 0;
  readonly #cb: DeliveryCallbacks;
  readonly #opts: DeliveryOptions;

  constructor(callbacks: DeliveryCallbacks, options: DeliveryOptions) {
    this.#cb = callbacks;
    this.#opts = options;
  }

  // ---- read-only views
  get epoch(): bigint | null {
    return this.#epoch;
  }
  get epochText(): string | null {
    return this.#epoch === null ? null : this.#epoch.toString();
  }
  get groupInfo(): string | null {
    return this.#groupInfo;
  }
  get groupIdHex(): string | null {
    return this.#groupId ? toHex(this.#groupId) : null;
  }
  get lastSeq(): number {
    return this.#seq;
  }
  get logEntries(): readonly LogEntry[] {
    return this.#log;
  }
  leafOf(memberId: string): number | null | undefined {
    return this.#leaves.get(memberId);
  }
  /** Connections that are group members, with their leaves. */
  members(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [id, leaf] of this.#leaves) if (leaf !== null) out.push([id, leaf]);
    return out;
  }
  get pendingRemovals(): number[] {
    return [...this.#pendingRemovals.keys()];
  }

  #stale(field: string): RequestError {
    return new RequestError(ErrorCode.staleEpoch, `${field} is not for the current epoch ${this.#epoch}`, {
      epoch: this.epochText,
      groupInfo: this.#groupInfo,
    });
  }

  #append(entry: Omit<LogEntry, 'seq'>): LogEntry {
    const e = { ...entry, seq: ++this.#seq };
    this.#log.push(e);
    if (this.#log.length > this.#opts.logSize) {
      const dropped = this.#log.splice(0, this.#log.length - this.#opts.logSize);
      this.#truncatedUpTo = dropped[dropped.length - 1]!.seq;
    }
    return e;
  }

  #fanOut(e: LogEntry, except: string | null): void {
    if (e.kind === 'welcome') return;
    for (const [id, leaf] of this.#leaves) {
      if (leaf === null || id === except) continue;
      this.#cb.notify(id, 'handshake', { seq: e.seq, epoch: e.epoch.toString(), kind: e.kind, from: e.from, message: e.message });
    }
  }

  // ---- connections
  addConnection(memberId: string): void {
    if (!this.#leaves.has(memberId)) {
      this.#leaves.set(memberId, null);
      this.#arrivedAt.set(memberId, performance.now());
    }
  }

  /** The connection is gone for good (left, or its reconnect grace ended): propose its removal. */
  removeConnection(memberId: string): void {
    const leaf = this.#leaves.get(memberId);
    this.#leaves.delete(memberId);
    this.#arrivedAt.delete(memberId);
    const wasJoining = this.#joinTriedAt.delete(memberId);
    this.#snapshot?.eligible.delete(memberId);
    if (wasJoining) this.#proposeDeferred(); // a joiner that goes away holds no removal back any more
    if (leaf === null || leaf === undefined || this.#epoch === null) return;
    if (this.members().length === 0) {
      // Nobody is left to commit: the group ends with its last member.
      this.reset();
      return;
    }
    this.#pendingRemovals.set(leaf, 0);
    this.#leftAt.set(leaf, performance.now());
    this.#proposeOrDefer(leaf, true);
  }

  /**
   * Proposes the removal of `leaf` now, or, while a joiner that arrived before the departure is
   * still trying, later: that join goes first (commitHold) and its external commit would void the
   * proposal, which every member would have verified for nothing.
   */
  #proposeOrDefer(leaf: number, counts: boolean): void {
    const left = this.#leftAt.get(leaf);
    if (left !== undefined && this.#joinerBefore(null, left, performance.now())) {
      this.#deferred.set(leaf, counts || (this.#deferred.get(leaf) ?? false));
      if (!this.#deferTimer) {
        // Joiners that stop trying stop counting after 2 x joinHoldMs: look again then.
        this.#deferTimer = setTimeout(() => {
          this.#deferTimer = null;
          this.#proposeDeferred();
        }, 2 * this.#opts.joinHoldMs + 50);
        this.#deferTimer.unref?.();
      }
      return;
    }
    this.#deferred.delete(leaf);
    void this.#proposeRemoval(leaf, counts);
  }

  #proposeDeferred(): void {
    for (const [leaf, counts] of [...this.#deferred]) {
      this.#deferred.delete(leaf);
      if (this.#pendingRemovals.has(leaf)) this.#proposeOrDefer(leaf, counts);
    }
  }

  /**
   * How long (ms) this commit should wait before it is judged, so membership changes are committed
   * in arrival order (see the header); 0: judge it now. An external commit waits for removals
   * noticed before its joiner arrived and for earlier joiners still trying; a member commit whose
   * removals were all noticed after a joiner that is still trying arrived waits for that joiner.
   */
  commitHold(memberId: string, commitB64: string): number {
    if (this.#opts.joinHoldMs <= 0 || this.#epoch === null) return 0;
    // Only a well-formed commit for this epoch waits; anything else is judged (and refused) now.
    let bytes: Uint8Array;
    let h: MlsHeader;
    try {
      bytes = fromBase64(commitB64);
      h = readMlsHeader(bytes);
    } catch {
      return 0;
    }
    if (h.wireFormat !== 'public' || h.contentType !== 'commit') return 0;
    const now = performance.now();
    const own = this.#leaves.get(memberId);
    if (h.sender.type === 'new_member_commit') {
      if (own !== null || !this.#arrivedAt.has(memberId)) return 0;
      this.#joinTriedAt.set(memberId, now);
      if (h.epoch !== this.#epoch) return 0;
      return this.joinerWaiting(memberId) ? this.#opts.joinHoldMs : 0;
    }
    if (h.sender.type !== 'member' || own === null || own === undefined || h.epoch !== this.#epoch) return 0;
    const removed = this.#removedBy(h.epoch, bytes);
    if (removed === null || removed.size === 0) return 0;
    let oldest = Infinity;
    for (const leaf of removed) {
      const left = this.#leftAt.get(leaf);
      if (left === undefined) return 0; // not a departure the server noticed: no order to keep
      oldest = Math.min(oldest, left);
    }
    return this.#joinerBefore(memberId, oldest, now) ? this.#opts.joinHoldMs : 0;
  }

  /**
   * Whether this joiner (a connection not in the group) still has changes ahead of it in arrival
   * order: a removal noticed before it arrived, or an earlier joiner still trying. Asking counts as
   * trying: a joiner kept waiting keeps its place.
   */
  joinerWaiting(memberId: string): boolean {
    if (this.#opts.joinHoldMs <= 0 || this.#epoch === null || this.#leaves.get(memberId) !== null) return false;
    const arrived = this.#arrivedAt.get(memberId);
    if (arrived === undefined) return false;
    const now = performance.now();
    this.#joinTriedAt.set(memberId, now);
    for (const leaf of this.#pendingRemovals.keys()) {
      const left = this.#leftAt.get(leaf);
      if (left !== undefined && left <= arrived) return true;
    }
    return this.#joinerBefore(memberId, arrived, now);
  }

  /** Whether a connection other than `memberId` that arrived before `time` is still trying to join. */
  #joinerBefore(memberId: string | null, time: number, now: number): boolean {
    for (const [other, tried] of this.#joinTriedAt) {
      if (other === memberId || now - tried > 2 * this.#opts.joinHoldMs) continue;
      const since = this.#arrivedAt.get(other);
      if (since !== undefined && since < time && this.#leaves.get(other) === null) return true;
    }
    return false;
  }

  /** #leavesRemoved for a commit not yet checked; null: it cannot be read (commit() will say why). */
  #removedBy(epoch: bigint, commit: Uint8Array): Set<number> | null {
    let summary;
    try {
      summary = readCommitSummary(commit);
    } catch (e) {
      if (e instanceof FramingError) return null;
      throw e;
    }
    return summary.complete ? this.#leavesRemoved(epoch, summary) : null;
  }

  /**
   * The leaves a commit removes, read from the commit itself: Removes by value, and references to
   * the server's own Remove proposals of its epoch (RFC 9420 §12.4).
   */
  #leavesRemoved(epoch: bigint, summary: CommitSummary): Set<number> {
    const removed = new Set(summary.removesByValue);
    const serverRefs = new Map<string, number>();
    for (const e of this.#log) if (e.from === 'server' && e.epoch === epoch && e.ref && e.removedLeaf !== undefined) serverRefs.set(e.ref, e.removedLeaf);
    for (const ref of summary.references) {
      const leaf = serverRefs.get(toHex(ref));
      if (leaf !== undefined) removed.add(leaf);
    }
    return removed;
  }

  /**
   * Waits out a hold of `hold` ms (from commitHold): until the next change of epoch or the time is
   * up. If the commit went stale meanwhile and its sender is a joiner with changes still ahead of
   * it, a stale answer would only make it rebuild its commit to wait again, so the wait goes on
   * until its turn, for at most 3 x hold in all. The caller then judges the commit.
   */
  async waitTurn(memberId: string, hold: number): Promise<void> {
    const heldAt = this.#epoch;
    const until = performance.now() + 3 * hold;
    await this.epochMovedOr(hold);
    while (this.#epoch !== heldAt && this.joinerWaiting(memberId) && performance.now() < until) {
      await this.epochMovedOr(until - performance.now());
    }
  }

  /** Resolves at the next change of epoch or after ms, whichever comes first. */
  epochMovedOr(ms: number): Promise<void> {
    if (!this.#epochMoved) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#epochMoved = { promise, resolve };
    }
    const moved = this.#epochMoved.promise;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      void moved.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #signalEpochMoved(): void {
    const m = this.#epochMoved;
    this.#epochMoved = null;
    m?.resolve();
  }

  /** Forget the group (the room is empty). */
  reset(): void {
    this.#groupId = null;
    this.#suite = 0;
    this.#epoch = null;
    this.#groupInfo = null;
    this.#log = [];
    this.#truncatedUpTo = this.#seq;
    this.#pendingRemovals.clear();
    this.#leftAt.clear();
    this.#deferred.clear();
    this.#snapshot = null;
    for (const id of this.#leaves.keys()) this.#leaves.set(id, null);
    this.#signalEpochMoved();
  }

  /**
   * `counts`: whether this proposal is a new try. Proposing again after a join's external commit is
   * not: that commit could not include the proposal (RFC 9420 §12.4.3.2), so no member declined it.
   */
  async #proposeRemoval(leaf: number, counts = true): Promise<void> {
    const epoch = this.#epoch;
    const groupId = this.#groupId;
    if (epoch === null || groupId === null) return;
    let tries = this.#pendingRemovals.get(leaf);
    if (tries === undefined) return;
    if (!counts) tries = Math.max(0, tries - 1);
    if (tries >= this.#opts.removeRetries) {
      this.#cb.log(`gave up proposing the removal of leaf ${leaf} after ${tries} epochs`);
      this.#pendingRemovals.delete(leaf);
      this.#leftAt.delete(leaf);
      return;
    }
    this.#pendingRemovals.set(leaf, tries + 1);
    let proposal: Uint8Array;
    try {
      proposal = await this.#cb.makeRemoveProposal(groupId, epoch, leaf);
    } catch (e) {
      this.#cb.log(`could not sign a Remove proposal: ${(e as Error).message}`);
      return;
    }
    // The epoch moved while signing: the commit handler re-proposes for the new epoch.
    if (this.#epoch !== epoch || this.#groupId !== groupId || !this.#pendingRemovals.has(leaf)) return;
    const ref = externalProposalRef(proposal, this.#suite);
    const e = this.#append({
      epoch, kind: 'proposal', from: 'server', message: toBase64(proposal), sender: null, removedLeaf: leaf,
      ...(ref ? { ref: toHex(ref) } : {}),
    });
    this.#fanOut(e, null);
  }

  // ---- requests

  /** First member: the group exists from now on, at the GroupInfo's epoch. */
  createGroup(memberId: string, groupInfoB64: string, leafIndex: number): { epoch: string } {
    this.#requireConnection(memberId);
    if (this.#epoch !== null) {
      throw new RequestError(ErrorCode.groupExists, 'the room already has a group: join it by external commit', {
        epoch: this.epochText,
        groupInfo: this.#groupInfo,
      });
    }
    const h = header(decodeB64(groupInfoB64, 'groupInfo'), 'groupInfo');
    if (h.wireFormat !== 'group_info') throw new RequestError(ErrorCode.badMessage, 'groupInfo must be an MLSMessage(GroupInfo)');
    this.#groupId = h.groupId;
    this.#suite = h.cipherSuite;
    this.#epoch = h.epoch;
    this.#groupInfo = groupInfoB64;
    this.#snapshot = null;
    this.#leaves.set(memberId, leafIndex);
    return { epoch: h.epoch.toString() };
  }

  #requireConnection(memberId: string): void {
    if (!this.#leaves.has(memberId)) throw new RequestError(ErrorCode.notJoined, 'join the room first');
  }

  #requireGroup(): void {
    if (this.#epoch === null) throw new RequestError(ErrorCode.noGroup, 'the room has no group yet: create it');
  }

  #checkGroup(h: { groupId: Uint8Array }, field: string): void {
    if (this.#groupId === null || toHex(h.groupId) !== toHex(this.#groupId)) {
      throw new RequestError(ErrorCode.wrongGroup, `${field} is for another group`);
    }
  }

  /**
   * A commit for the current epoch: accepted if it is the first (RFC 9750 §5.2.1); fanned out to
   * every other member in log order. The caller sends the result to the committer at once: that
   * response is the committer's confirmation, at the same place in its message stream.
   */
  commit(
    memberId: string,
    req: { commit: string; groupInfo: string; leafIndex: number; removed?: number[]; welcome?: string },
  ): { epoch: string; seq: number } {
    this.#requireConnection(memberId);
    const h = header(decodeB64(req.commit, 'commit'), 'commit');
    if (h.wireFormat !== 'public') throw new RequestError(ErrorCode.badMessage, 'commit must be a PublicMessage');
    if (h.contentType !== 'commit') throw new RequestError(ErrorCode.badMessage, `commit has content_type ${h.contentType}`);
    this.#requireGroup();
    this.#checkGroup(h, 'commit');
    const ownLeaf = this.#leaves.get(memberId) ?? null;
    if (h.sender.type === 'member') {
      if (ownLeaf === null) throw new RequestError(ErrorCode.notMember, 'a member commit from a connection that is not a group member');
      if (h.sender.leafIndex !== ownLeaf) throw new RequestError(ErrorCode.conflict, `commit sender leaf ${h.sender.leafIndex} is not your leaf ${ownLeaf}`);
      if (req.leafIndex !== ownLeaf) throw new RequestError(ErrorCode.conflict, `leafIndex ${req.leafIndex} is not your leaf ${ownLeaf}`);
    } else if (h.sender.type === 'new_member_commit') {
      if (ownLeaf !== null) throw new RequestError(ErrorCode.forbidden, 'an external commit from a connection that is already a member');
    } else {
      throw new RequestError(ErrorCode.forbidden, `a commit cannot come from a ${h.sender.type} sender`);
    }
    if (h.epoch !== this.#epoch) throw this.#stale('commit');
    const gi = header(decodeB64(req.groupInfo, 'groupInfo'), 'groupInfo');
    if (gi.wireFormat !== 'group_info') throw new RequestError(ErrorCode.badMessage, 'groupInfo must be an MLSMessage(GroupInfo)');
    this.#checkGroup(gi, 'groupInfo');
    if (gi.epoch !== h.epoch + 1n) throw new RequestError(ErrorCode.badMessage, `groupInfo must be for epoch ${h.epoch + 1n}`);
    // Which leaves the commit removes, read from the commit itself: Removes by value, and
    // references to the server's own Remove proposals of this epoch (RFC 9420 §12.4).
    let summary;
    try {
      summary = readCommitSummary(decodeB64(req.commit, 'commit'));
    } catch (e) {
      if (e instanceof FramingError) throw new RequestError(ErrorCode.badMessage, `commit: ${e.message}`);
      throw e;
    }
    if (!summary.complete) {
      throw new RequestError(ErrorCode.forbidden, `commits may carry only Remove and ExternalInit proposals by value (found type ${summary.stoppedAt})`);
    }
    const removed = this.#leavesRemoved(h.epoch, summary);
    if (req.removed !== undefined) {
      const claimed = new Set(req.removed);
      if (claimed.size !== removed.size || [...claimed].some((l) => !removed.has(l))) {
        throw new RequestError(ErrorCode.conflict, `removed [${[...claimed].join(',')}] does not match the commit's Removes [${[...removed].join(',')}]`);
      }
    }
    if (removed.has(req.leafIndex)) throw new RequestError(ErrorCode.conflict, 'a committer cannot remove its own leaf');
    for (const [id, leaf] of this.#leaves) {
      if (id !== memberId && leaf === req.leafIndex && !removed.has(leaf)) {
        throw new RequestError(ErrorCode.conflict, `leafIndex ${req.leafIndex} belongs to another member`);
      }
    }
    if (req.welcome !== undefined) {
      const w = header(decodeB64(req.welcome, 'welcome'), 'welcome');
      if (w.wireFormat !== 'welcome') throw new RequestError(ErrorCode.badMessage, 'welcome must be an MLSMessage(Welcome)');
    }

    // Accepted: keep what a rollback needs, then move to the next epoch.
    const eligible = new Set<string>();
    for (const [id, leaf] of this.#leaves) if (leaf !== null && id !== memberId) eligible.add(id);
    this.#snapshot = {
      epoch: this.#epoch,
      groupInfo: this.#groupInfo!,
      leaves: new Map(this.#leaves),
      pendingRemovals: new Map(this.#pendingRemovals),
      leftAt: new Map(this.#leftAt),
      seq: this.#seq + 1,
      committer: memberId,
      committerWasMember: ownLeaf !== null,
      rejects: new Set(),
      eligible,
      logLength: this.#log.length,
    };
    const e = this.#append({ epoch: h.epoch, kind: 'commit', from: 'member', message: req.commit, sender: memberId });
    this.#epoch = h.epoch + 1n;
    this.#groupInfo = req.groupInfo;
    this.#leaves.set(memberId, req.leafIndex);
    this.#joinTriedAt.delete(memberId);
    const removedIds: string[] = [];
    for (const [id, leaf] of this.#leaves) {
      if (leaf !== null && removed.has(leaf) && id !== memberId) {
        this.#leaves.set(id, null);
        removedIds.push(id);
      }
    }
    for (const leaf of removed) {
      this.#pendingRemovals.delete(leaf);
      this.#leftAt.delete(leaf);
    }
    this.#fanOut(e, memberId);
    for (const id of removedIds) this.#cb.notify(id, 'removed', { reason: 'a commit removed your leaf' });
    if (req.welcome !== undefined) {
      const w = this.#append({ epoch: h.epoch, kind: 'welcome', from: 'member', message: req.welcome, sender: memberId });
      for (const [id, leaf] of this.#leaves) if (leaf === null) this.#cb.notify(id, 'welcome', { seq: w.seq, welcome: req.welcome });
    }
    // Removals the commit did not include are proposed again for the new epoch (after the
    // caller's response to the committer: the signature is async).
    for (const leaf of this.#pendingRemovals.keys()) this.#proposeOrDefer(leaf, h.sender.type === 'member');
    this.#signalEpochMoved();
    return { epoch: this.#epoch.toString(), seq: e.seq };
  }

  /** A member's proposal for the current epoch, fanned out to the other members. */
  proposal(memberId: string, messageB64: string): { seq: number } {
    this.#requireConnection(memberId);
    const h = header(decodeB64(messageB64, 'message'), 'message');
    if (h.wireFormat !== 'public') throw new RequestError(ErrorCode.badMessage, 'proposals must be PublicMessages');
    if (h.contentType !== 'proposal') throw new RequestError(ErrorCode.badMessage, `message has content_type ${h.contentType}`);
    this.#requireGroup();
    this.#checkGroup(h, 'message');
    if (h.sender.type === 'external') throw new RequestError(ErrorCode.forbidden, 'only the server sends external-sender proposals');
    if (h.sender.type !== 'member') throw new RequestError(ErrorCode.forbidden, `proposals from ${h.sender.type} senders are not accepted`);
    const ownLeaf = this.#leaves.get(memberId) ?? null;
    if (ownLeaf === null) throw new RequestError(ErrorCode.notMember, 'a proposal from a connection that is not a group member');
    if (h.sender.leafIndex !== ownLeaf) throw new RequestError(ErrorCode.conflict, `proposal sender leaf ${h.sender.leafIndex} is not your leaf ${ownLeaf}`);
    if (h.epoch !== this.#epoch) throw this.#stale('message');
    const e = this.#append({ epoch: h.epoch, kind: 'proposal', from: 'member', message: messageB64, sender: memberId });
    this.#fanOut(e, memberId);
    return { seq: e.seq };
  }

  /**
   * A member could not process the commit with this seq. Only the newest commit can be rolled
   * back, and only by members that were in the group before it (not the committer).
   */
  rejectCommit(memberId: string, seq: number, reason: string): { rolledBack: boolean } {
    this.#requireConnection(memberId);
    const s = this.#snapshot;
    if (!s || s.seq !== seq) {
      if (this.#rolledBack.has(seq)) return { rolledBack: true };
      throw new RequestError(ErrorCode.notFound, `seq ${seq} is not the newest commit`);
    }
    if (!s.eligible.has(memberId)) throw new RequestError(ErrorCode.forbidden, 'only members that were in the group before the commit can reject it');
    s.rejects.add(memberId);
    this.#cb.log(`commit seq ${seq} rejected by a member (${reason.slice(0, 60)}): ${s.rejects.size} of ${s.eligible.size}`);
    if (s.rejects.size * 2 <= s.eligible.size) return { rolledBack: false };
    this.#rollback(s);
    return { rolledBack: true };
  }

  #rollback(s: Snapshot): void {
    this.#snapshot = null;
    this.#rolledBack.add(s.seq);
    if (this.#rolledBack.size > 64) this.#rolledBack.delete(this.#rolledBack.values().next().value!);
    this.#epoch = s.epoch;
    this.#groupInfo = s.groupInfo;
    this.#log = this.#log.filter((e) => e.seq < s.seq);
    for (const id of [...this.#leaves.keys()]) {
      const before = s.leaves.get(id);
      this.#leaves.set(id, before === undefined ? null : before);
    }
    this.#pendingRemovals = new Map(s.pendingRemovals);
    this.#leftAt.clear();
    for (const [leaf, t] of s.leftAt) this.#leftAt.set(leaf, t);
    const committerLeaf = this.#leaves.get(s.committer);
    this.#cb.log(`rolled back commit seq ${s.seq}: the room is at epoch ${s.epoch} again`);
    for (const id of this.#leaves.keys()) {
      this.#cb.notify(id, 'rollback', { seq: s.seq, epoch: s.epoch.toString(), groupInfo: s.groupInfo, lastSeq: this.#seq });
    }
    // The committer sent a commit its group could not process: it leaves the room; if it was a
    // member, the server proposes its removal like any other departure.
    this.#leaves.delete(s.committer);
    this.#cb.evict(s.committer, 'your commit was rejected by the other members');
    if (committerLeaf !== null && committerLeaf !== undefined && this.#epoch !== null) {
      this.#pendingRemovals.set(committerLeaf, 0);
      this.#leftAt.set(committerLeaf, performance.now());
    }
    for (const leaf of this.#pendingRemovals.keys()) this.#proposeOrDefer(leaf, true);
    this.#signalEpochMoved();
  }

  /**
   * Catch-up for a member that reconnects within the grace period: the log entries after
   * lastSeq, or undefined when the log no longer covers the gap (then it must join afresh).
   */
  replayAfter(lastSeq: number): LogEntry[] | undefined {
    if (lastSeq > this.#seq || this.#rolledBack.has(lastSeq) || lastSeq < this.#truncatedUpTo) return undefined;
    return this.#log.filter((e) => e.seq > lastSeq && e.kind !== 'welcome');
  }
}
