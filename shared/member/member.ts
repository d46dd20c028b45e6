// The portable participant engine: signaling client + MLS group + the glue the key bridge needs.
// Used by the browser page, the Node integration tests and load-test participants. No DOM, no
// node:* imports.
//
// Rules it follows:
//  - Commit, then apply (RFC 9420 §14): a commit's pendingState is adopted only when the DS
//    confirms it (the `commit` response); `stale-epoch` means another commit won: process it
//    (it is queued right behind) and re-evaluate.
//  - One queue: the join, every handshake notification, rollbacks and our own commits run one
//    at a time in arrival order; a task that awaits the DS's answer holds the queue, so anything
//    the DS sent after that answer is processed after it.
//  - Server Remove proposals (external sender) are committed by the designated committer (lowest
//    remaining leaf index) at once, by the others after rank * staggerMs if the epoch has not
//    moved, so a dead committer cannot stall the room.
//  - After each epoch change it emits `epoch` with what the key bridge needs (the exporter: the
//    caller derives the SFrame base key, RFC 9605 §5.2 / architecture.md).
import { fromBase64, toBase64, utf8 } from '../bytes/index.js';
import type { MemberInfo, Requests, RequestType, Results, ServerNotification } from '../protocol/index.js';
import { SignalingClient, SignalingError } from './signaling-client.js';
import type { Transport } from './signaling-client.js';

/** Opaque MLS group state (shared/mls GroupState: plain data). */
export type GroupState = unknown;
type SignatureKeyPair = { publicKey: Uint8Array; privateKey: Uint8Array };

/** The part of the shared/mls facade the engine uses (docs/interfaces.md). */
export interface MlsApi {
  generateSignatureKeyPair(suite?: number): Promise<SignatureKeyPair>;
  createGroup(o: {
    groupId: Uint8Array;
    identity: Uint8Array;
    suite?: number;
    signatureKeyPair?: SignatureKeyPair;
    externalSenders?: { signatureKey: Uint8Array; identity: Uint8Array }[];
  }): Promise<GroupState>;
  groupInfo(state: GroupState): Promise<Uint8Array>;
  /** `verifiedLeaves`: an instance of VerifiedLeaves kept across the attempts of one join. */
  joinExternal(o: { groupInfo: Uint8Array; identity: Uint8Array; signatureKeyPair?: SignatureKeyPair; verifiedLeaves?: object }): Promise<{ commit: Uint8Array; pendingState: GroupState }>;
  /** shared/mls VerifiedLeaves; optional (without it every join attempt verifies every leaf). */
  VerifiedLeaves?: new () => object;
  createCommit(state: GroupState, o?: { add?: Uint8Array[]; remove?: number[] }): Promise<{ commit: Uint8Array; welcome?: Uint8Array; pendingState: GroupState }>;
  processMessage(state: GroupState, message: Uint8Array): Promise<
    | { kind: 'commit'; newState: GroupState; removedLeaves: number[]; addedLeaves: number[]; selfRemoved: boolean }
    | { kind: 'proposal'; newState: GroupState; proposalType: string; removedLeaf?: number }
    | { kind: 'application'; newState: GroupState; data: Uint8Array }
  >;
  epoch(state: GroupState): bigint;
  epochAuthenticator(state: GroupState): Uint8Array;
  exporter(state: GroupState, label: string, context: Uint8Array, length: number): Promise<Uint8Array>;
  roster(state: GroupState): { leafIndex: number; identity: Uint8Array }[];
  /** Members in the group; optional (falls back to the roster's length). */
  memberCount?(state: GroupState): number;
  /** Members on leaves below `leaf`; optional (falls back to a roster walk). */
  membersBelow?(state: GroupState, leaf: number): number;
  treeSize(state: GroupState): number;
  ownLeafIndex(state: GroupState): number;
  pendingProposalCount(state: GroupState): number;
}

export interface EpochEvent {
  epoch: bigint;
  epochAuthenticator: Uint8Array;
  /** The group's members (built on first read: O(members), so listeners that never read it pay nothing). */
  readonly roster: { leafIndex: number; identity: Uint8Array }[];
  memberCount: number;
  treeSize: number;
  ownLeafIndex: number;
  /** MLS-Exporter of this epoch (RFC 9420 §8.5); e.g. exporter('SFrame 1.0 Base Key', new Uint8Array(0), Nk). */
  exporter(label: string, context: Uint8Array, length: number): Promise<Uint8Array>;
}

export class MemberError extends Error {
  override readonly name = 'MemberError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface MemberEvents {
  epoch: EpochEvent;
  members: MemberInfo[];
  error: MemberError;
  /** The group removed this member (or the server evicted it). */
  removed: { reason: string };
  /** Media notifications (newProducer, producerClosed, consumerClosed) for the page / participant. */
  notification: ServerNotification;
  /** The signaling connection closed. */
  closed: { code: number; reason: string };
}

export interface MemberOptions {
  transport: Transport;
  room: string;
  /** Display name; also the MLS identity (basic credential). */
  name: string;
  token?: string;
  mls: MlsApi;
  /** MLS cipher suite for a new group (default 1). */
  suite?: number;
  /** Fallback committers wait rank * staggerMs (default 1000). */
  staggerMs?: number;
  /** External-join attempts on stale-epoch (default 8). */
  maxJoinAttempts?: number;
  /** Keep the previous epoch's state this long, to revert if the DS rolls a commit back (default 10 s). */
  rollbackWindowMs?: number;
  requestTimeoutMs?: number;
  /** Randomness for retry jitter (default Math.random). */
  random?: () => number;
}

type Listener<T> = (value: T) => void;

export class Member {
  readonly signaling: SignalingClient;
  readonly #o: Required<Omit<MemberOptions, 'token' | 'transport'>> & { token: string | undefined };
  readonly #mls: MlsApi;
  #state: GroupState | null = null;
  #prev: { state: GroupState; epoch: bigint; timer: ReturnType<typeof setTimeout> } | null = null;
  #queue: Promise<void> = Promise.resolve();
  #keys: SignatureKeyPair | null = null;
  #memberId: string | null = null;
  #resumeToken: string | null = null;
  #lastSeq = 0;
  /** Leaves the server asked to remove in this epoch. */
  readonly #pendingRemoves = new Set<number>();
  /** Members on leaves below ours in this epoch (for the committer rank); null until counted. */
  #below: number | null = null;
  #staggerTimer: ReturnType<typeof setTimeout> | null = null;
  /** Our last commit, for confirmation by replay after a reconnect. */
  #lastCommit: { message: string; pendingState: GroupState } | null = null;
  /** The room's member list by memberId: the join result's list, then each `members` change applied. */
  #members = new Map<string, MemberInfo>();
  #memberList: MemberInfo[] | null = [];
  #joinInfo: Results['join'] | null = null;
  #closed = false;
  readonly #listeners = new Map<keyof MemberEvents, Set<Listener<never>>>();

  constructor(options: MemberOptions) {
    this.#o = {
      room: options.room,
      name: options.name,
      token: options.token,
      mls: options.mls,
      suite: options.suite ?? 1,
      staggerMs: options.staggerMs ?? 1000,
      maxJoinAttempts: options.maxJoinAttempts ?? 8,
      rollbackWindowMs: options.rollbackWindowMs ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 15_000,
      random: options.random ?? Math.random,
    };
    this.#mls = options.mls;
    this.signaling = new SignalingClient(options.transport, { requestTimeoutMs: this.#o.requestTimeoutMs });
    this.signaling.onNotification((n) => this.#onNotification(n));
    this.signaling.onClose((code, reason) => {
      this.#clearStagger();
      this.#emit('closed', { code, reason });
    });
  }

  // ---- events
  on<K extends keyof MemberEvents>(event: K, listener: Listener<MemberEvents[K]>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    const s = set as Set<Listener<MemberEvents[K]>>;
    s.add(listener);
    return () => s.delete(listener);
  }
  #emit<K extends keyof MemberEvents>(event: K, value: MemberEvents[K]): void {
    const set = this.#listeners.get(event) as Set<Listener<MemberEvents[K]>> | undefined;
    if (!set) return;
    for (const l of set) {
      try {
        l(value);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  // ---- read-only views
  get state(): GroupState | null {
    return this.#state;
  }
  get memberId(): string | null {
    return this.#memberId;
  }
  get epoch(): bigint | null {
    return this.#state === null ? null : this.#mls.epoch(this.#state);
  }
  get ownLeafIndex(): number | null {
    return this.#state === null ? null : this.#mls.ownLeafIndex(this.#state);
  }
  get epochAuthenticator(): Uint8Array | null {
    return this.#state === null ? null : this.#mls.epochAuthenticator(this.#state);
  }
  get members(): MemberInfo[] {
    return (this.#memberList ??= [...this.#members.values()]);
  }

  #setMembers(list: readonly MemberInfo[]): void {
    this.#members = new Map(list.map((m) => [m.memberId, m]));
    this.#memberList = null;
    this.#emit('members', this.members);
  }
  /**
   * The server's answer to `join` (routerRtpCapabilities, producers already in the room, limits, ...),
   * without the two fields that grow with the room: `groupInfo` (used to join, then dropped) and
   * `members` (kept up to date as `members`).
   */
  get joinInfo(): Results['join'] | null {
    return this.#joinInfo;
  }
  get lastSeq(): number {
    return this.#lastSeq;
  }
  /** Resolves when every queued task so far has run. */
  idle(): Promise<void> {
    return this.#queue;
  }

  #enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#closed) return;
      try {
        await task();
      } catch (e) {
        this.#emit('error', e instanceof MemberError ? e : new MemberError((e as { code?: string }).code ?? 'internal', (e as Error).message));
      }
    });
    this.#queue = run;
    return run;
  }

  #ask<K extends RequestType>(type: K, body: Requests[K]): Promise<Results[K]> {
    return this.signaling.request(type, body);
  }

  // ---- join ---------------------------------------------------------------------------------

  /** Joins the room and its MLS group; resolves once this member is in the group (after the first `epoch` event). */
  join(): Promise<void> {
    let failure: unknown;
    const p = this.#enqueue(async () => {
      try {
        await this.#join();
      } catch (e) {
        failure = e;
      }
    });
    return p.then(() => {
      if (failure) throw failure;
    });
  }

  async #join(): Promise<void> {
    const mls = this.#mls;
    this.#keys ??= await mls.generateSignatureKeyPair(this.#o.suite);
    const res = await this.#ask('join', { room: this.#o.room, name: this.#o.name, ...(this.#o.token ? { token: this.#o.token } : {}) });
    this.#joinInfo = { ...res, groupInfo: null, members: [] };
    this.#memberId = res.memberId;
    this.#resumeToken = res.resumeToken;
    this.#lastSeq = res.lastSeq;
    this.#setMembers(res.members);
    const externalSenders = [{ signatureKey: fromBase64(res.externalSender.signatureKey), identity: fromBase64(res.externalSender.identity) }];
    let groupInfo = res.groupInfo;
    // An attempt that loses a race retries on the next epoch's tree: only its changed leaves are verified again.
    const verifiedLeaves = mls.VerifiedLeaves ? new mls.VerifiedLeaves() : undefined;
    let held = 0; // attempts the DS held for arrival order and then answered stale: they lost no race
    for (let attempt = 1; ; attempt++) {
      // Held attempts are the DS ordering joins, not lost races; they are bounded too (a busy room
      // may hold a joiner a few times, a server that holds it forever is broken).
      if (attempt - held > this.#o.maxJoinAttempts || held > 8 * this.#o.maxJoinAttempts) {
        throw new MemberError('join-failed', `no external commit accepted after ${attempt - 1} attempts (${held} held for arrival order)`);
      }
      if (groupInfo === null) {
        // First member: create the group, listing the server as external sender.
        const groupId = globalThis.crypto.getRandomValues(new Uint8Array(16));
        const state = await mls.createGroup({ groupId, identity: utf8(this.#o.name), suite: this.#o.suite, signatureKeyPair: this.#keys, externalSenders });
        try {
          await this.#ask('createGroup', { groupInfo: toBase64(await mls.groupInfo(state)), leafIndex: mls.ownLeafIndex(state) });
          this.#adopt(state, false);
          return;
        } catch (e) {
          if (!(e instanceof SignalingError) || e.code !== 'group-exists') throw e;
          groupInfo = e.groupInfo ?? null;
          continue;
        }
      }
      const { commit, pendingState } = await mls.joinExternal({
        groupInfo: fromBase64(groupInfo),
        identity: utf8(this.#o.name),
        signatureKeyPair: this.#keys,
        ...(verifiedLeaves ? { verifiedLeaves } : {}),
      });
      try {
        const r = await this.#ask('commit', {
          commit: toBase64(commit),
          groupInfo: toBase64(await mls.groupInfo(pendingState)),
          leafIndex: mls.ownLeafIndex(pendingState),
        });
        this.#lastSeq = r.seq;
        this.#adopt(pendingState, false);
        return;
      } catch (e) {
        if (!(e instanceof SignalingError)) throw e;
        if (e.code === 'stale-epoch') {
          groupInfo = e.groupInfo ?? (await this.#ask('getGroupInfo', {})).groupInfo;
          if (e.held) {
            // The DS kept our commit until our turn: retry now on the epoch it sent.
            held++;
            continue;
          }
        } else if (e.code === 'no-group') {
          groupInfo = null;
        } else throw e;
        // Bounded exponential backoff with jitter, so racing joiners spread out.
        const base = Math.min(1000, 25 * 2 ** (attempt - held));
        await new Promise((r) => setTimeout(r, base * (0.5 + this.#o.random())));
      }
    }
  }

  #adopt(state: GroupState, keepPrevious: boolean): void {
    if (this.#prev) clearTimeout(this.#prev.timer);
    this.#prev = null;
    if (keepPrevious && this.#state !== null) {
      const prevState = this.#state;
      const timer = setTimeout(() => {
        if (this.#prev?.state === prevState) this.#prev = null;
      }, this.#o.rollbackWindowMs);
      (timer as { unref?: () => void }).unref?.();
      this.#prev = { state: prevState, epoch: this.#mls.epoch(prevState), timer };
    }
    this.#state = state;
    this.#pendingRemoves.clear();
    this.#below = null;
    this.#lastCommit = null;
    this.#clearStagger();
    this.#emitEpoch();
  }

  #emitEpoch(): void {
    const state = this.#state;
    if (state === null) return;
    const mls = this.#mls;
    let roster: EpochEvent['roster'] | null = null;
    this.#emit('epoch', {
      epoch: mls.epoch(state),
      epochAuthenticator: mls.epochAuthenticator(state),
      get roster() {
        return (roster ??= mls.roster(state));
      },
      memberCount: mls.memberCount ? mls.memberCount(state) : mls.roster(state).length,
      treeSize: mls.treeSize(state),
      ownLeafIndex: mls.ownLeafIndex(state),
      exporter: (label, context, length) => mls.exporter(state, label, context, length),
    });
  }

  // ---- incoming -----------------------------------------------------------------------------

  #onNotification(n: ServerNotification): void {
    switch (n.type) {
      case 'handshake':
        void this.#enqueue(() => this.#handshake(n));
        return;
      case 'rollback':
        void this.#enqueue(() => this.#rollback(n));
        return;
      case 'removed':
        void this.#enqueue(async () => {
          this.#state = null;
          this.#clearStagger();
          this.#emit('removed', { reason: n.reason });
        });
        return;
      case 'members':
        for (const m of n.changed) this.#members.set(m.memberId, m);
        for (const id of n.left) this.#members.delete(id);
        this.#memberList = null;
        if (this.#listeners.get('members')?.size) this.#emit('members', this.members);
        return;
      case 'welcome':
        return; // this engine joins by external commit
      default:
        this.#emit('notification', n);
    }
  }

  async #handshake(n: Extract<ServerNotification, { type: 'handshake' }>): Promise<void> {
    const state = this.#state;
    if (state === null) return;
    this.#lastSeq = Math.max(this.#lastSeq, n.seq);
    if (this.#lastCommit && n.message === this.#lastCommit.message) {
      // Our own commit, replayed after a reconnect: the DS accepted it.
      this.#adopt(this.#lastCommit.pendingState, true);
      return;
    }
    const mls = this.#mls;
    let r: Awaited<ReturnType<MlsApi['processMessage']>>;
    try {
      r = await mls.processMessage(state, fromBase64(n.message));
    } catch (e) {
      const code = (e as { code?: string }).code ?? 'invalid';
      if (n.kind === 'commit' && BigInt(n.epoch) === mls.epoch(state)) {
        // A commit the DS accepted for our epoch but we cannot process: report it (RFC 9750 §5.2.1).
        this.signaling.send('rejectCommit', { seq: n.seq, reason: code.slice(0, 100) }, () => {});
        this.#emit('error', new MemberError('commit-rejected', `commit seq ${n.seq} failed: ${code}`));
      }
      // Messages for an epoch we already left are dropped (the DS re-sends what still matters).
      return;
    }
    if (r.kind === 'commit') {
      if (r.selfRemoved) {
        this.#state = null;
        this.#clearStagger();
        this.#emit('removed', { reason: 'a commit removed this member' });
        return;
      }
      this.#adopt(r.newState, true);
    } else if (r.kind === 'proposal') {
      this.#state = r.newState;
      if (r.proposalType === 'remove' && r.removedLeaf !== undefined) {
        this.#pendingRemoves.add(r.removedLeaf);
        this.#scheduleCommit();
      }
    }
  }

  async #rollback(n: Extract<ServerNotification, { type: 'rollback' }>): Promise<void> {
    const state = this.#state;
    if (state === null) return;
    const target = BigInt(n.epoch);
    this.#lastSeq = n.lastSeq;
    const current = this.#mls.epoch(state);
    if (current === target) return; // we rejected it (or never applied it)
    if (this.#prev && this.#prev.epoch === target) {
      const prev = this.#prev.state;
      clearTimeout(this.#prev.timer);
      this.#prev = null;
      this.#state = prev;
      this.#pendingRemoves.clear();
      this.#below = null;
      this.#clearStagger();
      this.#emitEpoch();
      return;
    }
    this.#emit('error', new MemberError('desync', `the room rolled back to epoch ${target} but this member is at ${current}: re-join`));
  }

  // ---- committing server Remove proposals ---------------------------------------------------

  #clearStagger(): void {
    if (this.#staggerTimer) clearTimeout(this.#staggerTimer);
    this.#staggerTimer = null;
  }

  /** Designated committer: lowest remaining leaf commits now; rank r waits r * staggerMs. */
  #scheduleCommit(): void {
    const state = this.#state;
    if (state === null) return;
    const mls = this.#mls;
    const own = mls.ownLeafIndex(state);
    if (this.#pendingRemoves.has(own)) return; // we are the one being removed
    // Rank among the remaining members = members on lower leaves, less those being removed. The
    // first count is taken once per epoch (a proposal arrives per leave; a roster walk each is O(n)).
    if (this.#below === null) {
      if (mls.membersBelow) this.#below = mls.membersBelow(state, own);
      else {
        this.#below = 0;
        for (const m of mls.roster(state)) if (m.leafIndex < own) this.#below++;
      }
    }
    let rank = this.#below;
    for (const l of this.#pendingRemoves) if (l < own) rank--;
    const epoch = mls.epoch(state);
    this.#clearStagger();
    if (rank === 0) {
      void this.#enqueue(() => this.#commitPending(epoch));
      return;
    }
    this.#staggerTimer = setTimeout(() => {
      this.#staggerTimer = null;
      void this.#enqueue(() => this.#commitPending(epoch));
    }, rank * this.#o.staggerMs);
  }

  async #commitPending(epoch: bigint): Promise<void> {
    const state = this.#state;
    const mls = this.#mls;
    if (state === null || mls.epoch(state) !== epoch || mls.pendingProposalCount(state) === 0) return;
    const before = mls.roster(state).map((m) => m.leafIndex);
    const { commit, pendingState } = await mls.createCommit(state);
    const after = new Set(mls.roster(pendingState).map((m) => m.leafIndex));
    const removed = before.filter((l) => !after.has(l));
    const message = toBase64(commit);
    this.#lastCommit = { message, pendingState };
    try {
      const r = await this.#ask('commit', {
        commit: message,
        groupInfo: toBase64(await mls.groupInfo(pendingState)),
        leafIndex: mls.ownLeafIndex(pendingState),
        removed,
      });
      this.#lastSeq = Math.max(this.#lastSeq, r.seq);
      if (this.#state === state) this.#adopt(pendingState, true);
    } catch (e) {
      if (e instanceof SignalingError && e.code === 'stale-epoch') return; // another commit won; it is queued next
      if (e instanceof SignalingError && (e.code === 'closed' || e.code === 'timeout')) return; // a reconnect may replay it
      this.#lastCommit = null;
      throw e;
    }
  }

  // ---- leaving and reconnecting -------------------------------------------------------------

  /** Leaves the room (the server proposes our removal) and closes the connection. */
  async leave(): Promise<void> {
    this.#clearStagger();
    try {
      await this.#ask('leave', {});
    } catch {
      /* closing anyway */
    }
    this.close();
  }

  /**
   * Reconnect on a new transport within the server's grace period: resumes the session and
   * catches up from the DS log. Rejects with SignalingError `resume-failed` if it is too late.
   */
  resume(transport: Transport): Promise<void> {
    if (!this.#memberId || !this.#resumeToken) return Promise.reject(new MemberError('not-joined', 'nothing to resume'));
    this.signaling.replaceTransport(transport);
    let failure: unknown;
    return this.#enqueue(async () => {
      try {
        const r = await this.#ask('join', {
          room: this.#o.room,
          name: this.#o.name,
          ...(this.#o.token ? { token: this.#o.token } : {}),
          resume: { memberId: this.#memberId!, resumeToken: this.#resumeToken!, lastSeq: this.#lastSeq },
        });
        this.#setMembers(r.members);
      } catch (e) {
        failure = e;
      }
    }).then(() => {
      if (failure) throw failure;
    });
  }

  /** Closes the connection without leaving (the server notices and removes us after its grace period). */
  close(): void {
    this.#closed = true;
    this.#clearStagger();
    if (this.#prev) clearTimeout(this.#prev.timer);
    this.#prev = null;
    this.signaling.close();
  }
}
