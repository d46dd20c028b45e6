// The collector: takes LoadEvents and periodic resource samples, and turns them into the report
// (report.json): join time, rotation convergence, frames lost per rotation, per-frame SFrame cost,
// per-member MLS commit cost, server and participant resources over time, per-participant detail.
//
// Definitions (what the numbers mean):
//  - Join time: join start (the participant opens its socket) to the first decrypted frame from each
//    other media sender present when it joined; per joiner the max over those senders. joinMlsMs: join
//    start to the participant's first epoch (external commit accepted and keys installed).
//  - Rotation convergence of epoch e: from the DS accepting the commit that starts e to the moment the
//    last member of e both encrypts with e (senders) and decrypts a frame of e (receivers); MLS-only
//    members count when they installed e's keys. Members leaving, crashed or joining during e are not
//    waited for. An epoch replaced by the next before converging is counted as `superseded`.
//  - Frames lost per rotation: frames a receiver failed to decrypt (key bridge reasons), attributed to the
//    receiver's current epoch; frames from before the receiver joined are reported apart (never owed).

import { LOSS_REASONS } from './events.js';
import type { LeaveHow, LoadEvent, LossReason, ParticipantKind } from './events.js';
import { summarize } from './stats.js';
import type { Summary } from './stats.js';

export interface ResourceSample {
  /** ms since the run start */
  t: number;
  members: number;
  epoch: number;
  framesPerS: number;
  framesEncryptedPerS: number;
  /** Server: Node main thread (signaling + DS) + mediasoup worker processes, % of one core. */
  serverCpuPct: number | null;
  serverRssMB: number | null;
  /** Synthetic worker threads + browser process trees, % of one core. */
  participantsCpuPct: number | null;
  participantsMemMB: number | null;
  /** Bytes/s the SFU sent (sum over transports), as kbit/s. */
  forwardedKbps: number | null;
  failures: number;
}

interface EpochSeen {
  at: number;
  size: number;
}

interface ParticipantState {
  pid: string;
  kind: ParticipantKind;
  send: boolean;
  recv: boolean;
  joinStartAt: number;
  joinedAt: number | null;
  joinEpoch: number | null;
  joinFailed: string | null;
  leaveStartAt: number | null;
  leaveHow: LeaveHow | null;
  leftAt: number | null;
  leftHow: string | null;
  epochs: Map<number, EpochSeen>;
  encFirst: Map<number, number>;
  decFirst: Map<number, number>;
  firstFrom: Map<string, number>;
  lost: Record<LossReason, number>;
  lostBeforeJoin: number;
  heldSaved: number;
  framesEncrypted: number;
  framesDecrypted: number;
  decryptedFrom: Record<string, number>;
  rtpGaps: number;
  commitsProcessed: number;
  errors: string[];
}

export interface EpochRecord {
  epoch: number;
  /** ms since run start when the DS accepted the commit (or earliest evidence). */
  acceptedAt: number | null;
  acceptSource: 'ds' | 'client' | 'first-install' | null;
  size: number | null;
  added: string[];
  removed: string[];
  expected: number;
  converged: number;
  convergenceMs: number | null;
  mlsConvergenceMs: number | null;
  superseded: boolean;
  /** Some member converged only after the next epoch's commit was accepted (it lagged behind). */
  late: boolean;
  /** Members that had not converged (ids, at most 10). */
  missing: string[];
  /**
   * The member that converged last: when it had the epoch's keys (mlsMs) and when it encrypted and decrypted
   * under it (fullMs), both from the DS's acceptance. Tells a slow commit processor from slow media.
   */
  slowest: { pid: string; kind: string; mlsMs: number | null; fullMs: number } | null;
  framesLost: number;
  lostByReason: Record<LossReason, number>;
  heldSaved: number;
}

export interface ParticipantRecord {
  id: string;
  kind: ParticipantKind;
  send: boolean;
  recv: boolean;
  joinStartMs: number;
  joinedMs: number | null;
  joinMlsMs: number | null;
  joinTimeMs: number | null;
  joinFailed: string | null;
  left: { atMs: number | null; how: string } | null;
  epochsSeen: number;
  framesEncrypted: number;
  framesDecrypted: number;
  decryptedFrom: Record<string, number>;
  /** Senders present during this participant's membership it never decrypted a frame from. */
  missingFrom: string[];
  lost: Record<LossReason, number>;
  lostBeforeJoin: number;
  heldSaved: number;
  rtpGaps: number;
  commitsProcessed: number;
  errors: string[];
}

export interface LoadReport {
  version: 1;
  startedAt: string;
  finishedAt: string;
  command: string;
  options: Record<string, unknown>;
  browsers: number;
  synthetic: number;
  durationS: number;
  media: 'on' | 'off';
  interrupted: boolean;
  server: { url: string; inProcess: boolean };
  /** The machine: other load on it (other users' jobs) changes every time figure. */
  machine: { cores: number; node: string; loadavgStart: number[]; loadavgEnd: number[] };
  /** Epoch changes observed after the initial joins (during the measured run and settle time). */
  epochs: number;
  epochRange: { first: number | null; last: number | null };
  joins: number;
  leaves: { graceful: number; crash: number };
  joinTimeMs: Summary;
  joinMlsMs: Summary;
  rotationConvergenceMs: Summary;
  mlsConvergenceMs: Summary;
  /** Rotation convergence counting browsers (their times have ~25 ms probe resolution). */
  rotationConvergenceWithBrowsersMs: Summary;
  rotationsSuperseded: number;
  rotationsNotConverged: number;
  /** Epochs some member reached only after the next commit had been accepted (members lagging). */
  rotationsLate: number;
  framesLostPerRotation: { total: number; max: number; byReason: Record<LossReason, number>; beforeJoin: number; heldThenSaved: number };
  framesDecrypted: number;
  framesEncrypted: number;
  rtpGaps: number;
  encryptMs: Summary;
  decryptMs: Summary;
  commitProcessingMs: Summary;
  /** Per-member cost of processing one commit, by group size bucket. */
  commitCostBySize: Array<{ size: number; count: number; p50: number | null; p95: number | null }>;
  joinExternalMs: Summary;
  /**
   * Synthetic threads in the measured phase: all their CPU (MLS, signaling JSON, key bridge, media, GC)
   * divided by the commits their members processed, and by the handshake messages (commits + proposals).
   */
  threadCpuPerCommitMs: number | null;
  threadCpuPerHandshakeMs: number | null;
  handshakesProcessed: number;
  commitsProcessed: number;
  /** process.cpuUsage() of the whole Node process (server + orchestration + synthetic threads), the synthetic threads' share, and the server's % of one core (samples). */
  serverCpu: { processUserMs: number; processSystemMs: number; syntheticThreadsMs: number; avgPct: number | null; maxPct: number | null } | null;
  serverRssMB: { max: number | null };
  forwardedKbps: { mean: number | null; max: number | null };
  checks: {
    everyoneDecryptedEveryone: boolean;
    epochPerMembershipChange: boolean;
    noFramesLost: boolean;
    allRotationsConverged: boolean;
    problems: string[];
  };
  epochList: EpochRecord[];
  timeseries: ResourceSample[];
  participants: ParticipantRecord[];
  /** --profile-threads: top self-time functions per synthetic thread (% of samples). */
  threadProfiles: Array<{ thread: number; top: Array<{ fn: string; pct: number }> }>;
  failures: string[];
  notes: string[];
}

/** A receiver owes a first frame only to senders that were sending while it was receiving for this long. */
const OVERLAP_MS = 3000;

/** A sender that stays this long without encrypting a frame is a failure of its own. */
const SILENT_SENDER_MS = 10_000;

function minOf(values: Iterable<number>): number | null {
  let m: number | null = null;
  for (const v of values) if (m === null || v < m) m = v;
  return m;
}

const emptyLoss = (): Record<LossReason, number> => Object.fromEntries(LOSS_REASONS.map((r) => [r, 0])) as Record<LossReason, number>;

export class Collector {
  readonly startedAt: number;
  measureFrom: number;
  readonly #p = new Map<string, ParticipantState>();
  readonly #ds = new Map<number, { at: number; source: 'ds' | 'client' }>();
  readonly #epochInfo = new Map<number, { size: number; added: string[]; removed: string[] }>();
  readonly #lostByEpoch = new Map<number, Record<LossReason, number>>();
  readonly #heldByEpoch = new Map<number, number>();
  readonly samples: ResourceSample[] = [];
  readonly encryptMs: number[] = [];
  readonly decryptMs: number[] = [];
  readonly commitMs: Array<[number, number]> = [];
  readonly joinExternalMs: number[] = [];
  readonly threads = new Map<number, { cpuMs: number; commitsProcessed: number; handshakesProcessed: number; members: number; heapMB: number; firstCpuMs: number; firstCommits: number; firstHandshakes: number }>();
  readonly failures: string[] = [];
  readonly notes: string[] = [];
  readonly profiles: Array<{ thread: number; top: Array<{ fn: string; pct: number }> }> = [];
  #maxSamples = 200_000;

  constructor(startedAt: number) {
    this.startedAt = startedAt;
    this.measureFrom = startedAt;
  }

  #state(pid: string): ParticipantState | undefined {
    return this.#p.get(pid);
  }

  get failureCount(): number {
    return this.failures.length;
  }

  /** Members currently joined and not leaving. */
  get memberCount(): number {
    let n = 0;
    for (const p of this.#p.values()) if (p.joinedAt !== null && p.leaveStartAt === null && p.leftAt === null) n++;
    return n;
  }

  get currentEpoch(): number {
    let e = -1;
    for (const k of this.#ds.keys()) if (k > e) e = k;
    for (const p of this.#p.values()) for (const k of p.epochs.keys()) if (k > e) e = k;
    return e;
  }

  /** Members (joined, not leaving) that have not installed the newest epoch yet: the room has not settled. */
  behind(): string[] {
    const e = this.currentEpoch;
    const out: string[] = [];
    for (const p of this.#p.values()) {
      if (p.joinedAt === null || p.joinFailed !== null || p.leaveStartAt !== null || p.leftAt !== null) continue;
      if (!p.epochs.has(e)) out.push(p.pid);
    }
    return out;
  }

  get totals(): { enc: number; dec: number; lost: number } {
    let enc = 0;
    let dec = 0;
    let lost = 0;
    for (const p of this.#p.values()) {
      enc += p.framesEncrypted;
      dec += p.framesDecrypted;
      for (const r of LOSS_REASONS) lost += p.lost[r];
    }
    return { enc, dec, lost };
  }

  participantIds(kind?: ParticipantKind): string[] {
    return [...this.#p.values()].filter((p) => !kind || p.kind === kind).map((p) => p.pid);
  }

  add(ev: LoadEvent): void {
    switch (ev.type) {
      case 'join-start':
        this.#p.set(ev.pid, {
          pid: ev.pid,
          kind: ev.kind,
          send: ev.send,
          recv: ev.recv,
          joinStartAt: ev.at,
          joinedAt: null,
          joinEpoch: null,
          joinFailed: null,
          leaveStartAt: null,
          leaveHow: null,
          leftAt: null,
          leftHow: null,
          epochs: new Map(),
          encFirst: new Map(),
          decFirst: new Map(),
          firstFrom: new Map(),
          lost: emptyLoss(),
          lostBeforeJoin: 0,
          heldSaved: 0,
          framesEncrypted: 0,
          framesDecrypted: 0,
          decryptedFrom: {},
          rtpGaps: 0,
          commitsProcessed: 0,
          errors: [],
        });
        return;
      case 'joined': {
        const p = this.#state(ev.pid);
        if (!p) return;
        p.joinedAt = ev.at;
        p.joinEpoch = ev.epoch;
        return;
      }
      case 'join-failed': {
        const p = this.#state(ev.pid);
        if (p) p.joinFailed = ev.message;
        this.failures.push(`${ev.pid}: join failed: ${ev.message}`);
        return;
      }
      case 'epoch': {
        const p = this.#state(ev.pid);
        if (!p) return;
        if (!p.epochs.has(ev.epoch)) p.epochs.set(ev.epoch, { at: ev.at, size: ev.size });
        if (p.joinEpoch === null) p.joinEpoch = ev.epoch;
        if (ev.continuous && !this.#epochInfo.has(ev.epoch)) this.#epochInfo.set(ev.epoch, { size: ev.size, added: ev.added, removed: ev.removed });
        return;
      }
      case 'enc-first': {
        const p = this.#state(ev.pid);
        if (p && !p.encFirst.has(ev.epoch)) p.encFirst.set(ev.epoch, ev.at);
        return;
      }
      case 'dec-first': {
        const p = this.#state(ev.pid);
        if (p && !p.decFirst.has(ev.epoch)) p.decFirst.set(ev.epoch, ev.at);
        return;
      }
      case 'first-from': {
        const p = this.#state(ev.pid);
        if (p && !p.firstFrom.has(ev.from)) p.firstFrom.set(ev.from, ev.at);
        return;
      }
      case 'lost': {
        const p = this.#state(ev.pid);
        if (!p) return;
        if (ev.beforeJoin) {
          p.lostBeforeJoin += ev.count;
          return;
        }
        p.lost[ev.reason] += ev.count;
        const rec = this.#lostByEpoch.get(ev.epoch) ?? emptyLoss();
        rec[ev.reason] += ev.count;
        this.#lostByEpoch.set(ev.epoch, rec);
        return;
      }
      case 'held-saved': {
        const p = this.#state(ev.pid);
        if (!p) return;
        p.heldSaved += ev.count;
        this.#heldByEpoch.set(ev.epoch, (this.#heldByEpoch.get(ev.epoch) ?? 0) + ev.count);
        return;
      }
      case 'leave-start': {
        const p = this.#state(ev.pid);
        if (!p) return;
        p.leaveStartAt = ev.at;
        p.leaveHow = ev.how;
        return;
      }
      case 'left': {
        const p = this.#state(ev.pid);
        if (!p) return;
        p.leftAt ??= ev.at;
        p.leftHow ??= ev.how;
        if (p.leaveStartAt === null && ev.how !== 'stopped') {
          // Removed without asking (evicted, closed by the server): a failure unless the run is ending.
          this.failures.push(`${ev.pid}: left unexpectedly (${ev.how})`);
        }
        return;
      }
      case 'error': {
        const p = this.#state(ev.pid);
        if (p && p.errors.length < 20) p.errors.push(ev.message);
        this.failures.push(`${ev.pid}: ${ev.message}`);
        if (this.failures.length > 1000) this.failures.splice(500, this.failures.length - 1000);
        return;
      }
      case 'ds-commit': {
        const cur = this.#ds.get(ev.epoch);
        // The in-process DS tap is exact; client evidence only fills in (earliest wins).
        if (!cur || (cur.source === 'client' && ev.source === 'ds') || (cur.source === ev.source && ev.at < cur.at)) this.#ds.set(ev.epoch, { at: ev.at, source: ev.source });
        return;
      }
      case 'counters': {
        const p = this.#state(ev.pid);
        if (!p) return;
        p.framesEncrypted = ev.framesEncrypted;
        p.framesDecrypted = ev.framesDecrypted;
        p.decryptedFrom = ev.decryptedFrom;
        p.rtpGaps = ev.rtpGaps;
        p.commitsProcessed = ev.commitsProcessed;
        return;
      }
      case 'timings': {
        const push = (dst: number[], src: number[]) => {
          for (const v of src) if (dst.length < this.#maxSamples) dst.push(v);
        };
        push(this.encryptMs, ev.encryptMs);
        push(this.decryptMs, ev.decryptMs);
        push(this.joinExternalMs, ev.joinExternalMs);
        for (const s of ev.commitMs) if (this.commitMs.length < this.#maxSamples) this.commitMs.push(s);
        return;
      }
      case 'profile':
        this.profiles.push({ thread: ev.thread, top: ev.top });
        return;
      case 'thread': {
        const t = this.threads.get(ev.thread);
        if (!t) this.threads.set(ev.thread, { cpuMs: ev.cpuMs, commitsProcessed: ev.commitsProcessed, handshakesProcessed: ev.handshakesProcessed, members: ev.members, heapMB: ev.heapMB, firstCpuMs: ev.cpuMs, firstCommits: ev.commitsProcessed, firstHandshakes: ev.handshakesProcessed });
        else Object.assign(t, { cpuMs: ev.cpuMs, commitsProcessed: ev.commitsProcessed, handshakesProcessed: ev.handshakesProcessed, members: ev.members, heapMB: ev.heapMB });
        return;
      }
    }
  }

  sample(s: ResourceSample): void {
    if (this.samples.length < 100_000) this.samples.push(s);
  }

  /** Marks the start of the measured phase: CPU per commit and epochs are counted from here. */
  startMeasuring(at: number): void {
    this.measureFrom = at;
    for (const t of this.threads.values()) {
      t.firstCpuMs = t.cpuMs;
      t.firstCommits = t.commitsProcessed;
      t.firstHandshakes = t.handshakesProcessed;
    }
  }

  // ---- the report ---------------------------------------------------------------------------

  #acceptedAt(epoch: number): { at: number; source: EpochRecord['acceptSource'] } | null {
    const ds = this.#ds.get(epoch);
    if (ds) return { at: ds.at, source: ds.source };
    let first: number | null = null;
    for (const p of this.#p.values()) {
      const e = p.epochs.get(epoch);
      if (e && (first === null || e.at < first)) first = e.at;
    }
    return first === null ? null : { at: first, source: 'first-install' };
  }

  /** When participant p counts as converged on epoch e (null: never). */
  #convergedAt(p: ParticipantState, epoch: number, otherSenders: boolean, media: boolean): { full: number | null; mls: number | null } {
    const mls = p.epochs.get(epoch)?.at ?? null;
    if (!media || (!p.send && !p.recv)) return { full: mls, mls };
    let t = mls;
    if (p.send) {
      const enc = p.encFirst.get(epoch);
      t = enc === undefined || t === null ? null : Math.max(t, enc);
    }
    if (p.recv && otherSenders && t !== null) {
      const dec = p.decFirst.get(epoch);
      t = dec === undefined ? null : Math.max(t, dec);
    }
    return { full: t, mls };
  }

  build(meta: {
    command: string;
    options: Record<string, unknown>;
    browsers: number;
    synthetic: number;
    durationS: number;
    media: 'on' | 'off';
    interrupted: boolean;
    server: { url: string; inProcess: boolean };
    machine: LoadReport['machine'];
    serverCpu: LoadReport['serverCpu'];
    endedAt: number;
  }): LoadReport {
    const media = meta.media === 'on' || meta.browsers > 0;
    const rel = (t: number | null) => (t === null ? null : Math.round((t - this.startedAt) * 10) / 10);
    const parts = [...this.#p.values()];

    // Epochs in the measured window.
    const allEpochs = new Set<number>();
    for (const e of this.#ds.keys()) allEpochs.add(e);
    for (const p of parts) for (const e of p.epochs.keys()) allEpochs.add(e);
    const sortedEpochs = [...allEpochs].sort((a, b) => a - b);
    const epochList: EpochRecord[] = [];
    const convAll: number[] = [];
    const convSynthetic: number[] = [];
    const convMls: number[] = [];
    let superseded = 0;
    let notConverged = 0;
    let lateCount = 0;
    const problems: string[] = [];

    for (let i = 0; i < sortedEpochs.length; i++) {
      const epoch = sortedEpochs[i]!;
      const acc = this.#acceptedAt(epoch);
      const next = sortedEpochs[i + 1];
      const nextAcc = next !== undefined && next === epoch + 1 ? this.#acceptedAt(next) : null;
      const info = this.#epochInfo.get(epoch);
      const lostRec = this.#lostByEpoch.get(epoch) ?? emptyLoss();
      const framesLost = LOSS_REASONS.reduce((s, r) => s + lostRec[r], 0);
      const rec: EpochRecord = {
        epoch,
        acceptedAt: acc ? rel(acc.at) : null,
        acceptSource: acc?.source ?? null,
        size: info?.size ?? null,
        added: info?.added ?? [],
        removed: info?.removed ?? [],
        expected: 0,
        converged: 0,
        convergenceMs: null,
        mlsConvergenceMs: null,
        slowest: null,
        superseded: false,
        late: false,
        missing: [],
        framesLost,
        lostByReason: lostRec,
        heldSaved: this.#heldByEpoch.get(epoch) ?? 0,
      };
      epochList.push(rec);
      if (!acc || acc.at < this.measureFrom) continue;
      // Expected members: in the group at this epoch and not leaving before they could converge. A
      // participant that joined with this very epoch is waited for its keys only (its media set-up is part
      // of its join time, not of the rotation).
      const deadline = nextAcc?.at ?? Infinity;
      const candidates = parts.filter((p) => {
        if (p.joinFailed) return false;
        if (p.epochs.has(epoch)) return true;
        // Not seen: was it a member (joined before this epoch) and still around afterwards?
        return p.joinEpoch !== null && p.joinEpoch < epoch && (p.leftAt === null || p.leftAt > deadline) && (p.leaveStartAt === null || p.leaveStartAt > deadline);
      });
      const senders = new Set(candidates.filter((p) => p.send && p.joinEpoch !== epoch).map((p) => p.pid));
      const expected: ParticipantState[] = [];
      let worst = 0;
      let worstSynthetic = 0;
      let worstMls = 0;
      let complete = true;
      let mlsComplete = true;
      let late = false;
      for (const p of candidates) {
        const otherSenders = [...senders].some((x) => x !== p.pid);
        const joiner = p.joinEpoch === epoch;
        const c = this.#convergedAt(p, epoch, otherSenders, media && !joiner);
        const gone = Math.min(p.leaveStartAt ?? Infinity, p.leftAt ?? Infinity);
        // Leaving before converging: not owed.
        if (gone !== Infinity && (c.full === null || c.full > gone)) continue;
        expected.push(p);
        if (c.mls === null) mlsComplete = false;
        else worstMls = Math.max(worstMls, c.mls - acc.at);
        if (c.full === null) {
          complete = false;
          if (rec.missing.length < 10) rec.missing.push(p.pid);
          continue;
        }
        rec.converged++;
        if (c.full > deadline) late = true;
        if (rec.slowest === null || c.full - acc.at > rec.slowest.fullMs) {
          const r1 = (x: number) => Math.round(x * 10) / 10;
          rec.slowest = { pid: p.pid, kind: p.kind, mlsMs: c.mls === null ? null : r1(c.mls - acc.at), fullMs: r1(c.full - acc.at) };
        }
        worst = Math.max(worst, c.full - acc.at);
        if (p.kind === 'synthetic') worstSynthetic = Math.max(worstSynthetic, c.full - acc.at);
      }
      rec.expected = expected.length;
      rec.late = late;
      if (late) lateCount++;
      if (mlsComplete && expected.length > 0) {
        rec.mlsConvergenceMs = Math.round(worstMls * 10) / 10;
        convMls.push(worstMls);
      }
      if (complete && expected.length > 0) {
        rec.convergenceMs = Math.round(worst * 10) / 10;
        convAll.push(worst);
        if (expected.some((p) => p.kind === 'synthetic')) convSynthetic.push(worstSynthetic);
      } else if (mlsComplete && nextAcc) {
        // Every member installed the epoch, but the next commit came before some of them sent or received
        // media under it: superseded, not a failure.
        rec.superseded = true;
        superseded++;
      } else if (expected.length > 0) {
        notConverged++;
        problems.push(`epoch ${epoch}: ${rec.missing.length} member(s) never converged (${rec.missing.slice(0, 3).join(', ')})`);
      }
    }

    // Measured-phase epochs and membership changes.
    const measured = epochList.filter((e) => e.acceptedAt !== null && e.acceptedAt >= rel(this.measureFrom)!);
    const firstMeasured = measured[0]?.epoch ?? null;
    const lastMeasured = measured[measured.length - 1]?.epoch ?? null;

    // Join time: per joiner, the max over other senders present when it joined (and still there after it).
    const joinTimes: number[] = [];
    const joinMls: number[] = [];
    const records: ParticipantRecord[] = [];
    for (const p of parts) {
      let joinTime: number | null = null;
      const missingFrom: string[] = [];
      if (p.joinedAt !== null) joinMls.push(p.joinedAt - p.joinStartAt);
      if (p.joinedAt !== null && p.recv && media) {
        const end = p.leaveStartAt ?? p.leftAt ?? meta.endedAt;
        // Senders that were sending while p was receiving, for at least OVERLAP_MS. Set-up time on either side
        // (p's first consumer, q's first encrypted frame) is join time, measured below, not owed overlap; a
        // sender that never encrypted anything is reported once, below (silentSenders), not per receiver.
        const receivingFrom = minOf(p.firstFrom.values()) ?? p.joinedAt;
        const peers = parts.filter((q) => {
          if (q === p || !q.send || q.joinedAt === null) return false;
          const sendingFrom = minOf(q.encFirst.values());
          if (sendingFrom === null) return false;
          const qEnd = q.leaveStartAt ?? q.leftAt ?? meta.endedAt;
          return Math.min(end, qEnd) - Math.max(receivingFrom, sendingFrom) >= OVERLAP_MS;
        });
        let worst = 0;
        let complete = peers.length > 0;
        for (const q of peers) {
          const at = p.firstFrom.get(q.pid);
          if (at === undefined) {
            complete = false;
            missingFrom.push(q.pid);
            continue;
          }
          // A sender that joined after p: measured from when both were in.
          worst = Math.max(worst, at - Math.max(p.joinStartAt, q.joinedAt!));
        }
        if (complete) {
          joinTime = worst;
          joinTimes.push(worst);
        }
      }
      records.push({
        id: p.pid,
        kind: p.kind,
        send: p.send,
        recv: p.recv,
        joinStartMs: rel(p.joinStartAt)!,
        joinedMs: rel(p.joinedAt),
        joinMlsMs: p.joinedAt === null ? null : Math.round((p.joinedAt - p.joinStartAt) * 10) / 10,
        joinTimeMs: joinTime === null ? null : Math.round(joinTime * 10) / 10,
        joinFailed: p.joinFailed,
        left: p.leftAt !== null || p.leaveStartAt !== null ? { atMs: rel(p.leftAt ?? p.leaveStartAt), how: p.leaveHow ?? p.leftHow ?? 'unknown' } : null,
        epochsSeen: p.epochs.size,
        framesEncrypted: p.framesEncrypted,
        framesDecrypted: p.framesDecrypted,
        decryptedFrom: p.decryptedFrom,
        missingFrom,
        lost: p.lost,
        lostBeforeJoin: p.lostBeforeJoin,
        heldSaved: p.heldSaved,
        rtpGaps: p.rtpGaps,
        commitsProcessed: p.commitsProcessed,
        errors: p.errors,
      });
    }

    // Checks.
    const byReason = emptyLoss();
    let lostTotal = 0;
    let lostMax = 0;
    for (const [epoch, rec] of this.#lostByEpoch) {
      void epoch;
      let sum = 0;
      for (const r of LOSS_REASONS) {
        byReason[r] += rec[r];
        sum += rec[r];
      }
      lostTotal += sum;
      lostMax = Math.max(lostMax, sum);
    }
    const missingPairs = records.filter((r) => r.joinedMs !== null && r.missingFrom.length > 0);
    if (media && missingPairs.length > 0) {
      for (const r of missingPairs.slice(0, 5)) problems.push(`${r.id} never decrypted a frame from ${r.missingFrom.slice(0, 5).join(', ')}`);
    }
    // Senders that stayed a while and never encrypted a frame (their receivers are not blamed for them).
    const silentSenders = media
      ? parts.filter((q) => {
          if (!q.send || q.joinedAt === null || q.encFirst.size > 0) return false;
          return (q.leaveStartAt ?? q.leftAt ?? meta.endedAt) - q.joinedAt >= SILENT_SENDER_MS;
        })
      : [];
    for (const q of silentSenders.slice(0, 5)) problems.push(`${q.pid} was in the room ${SILENT_SENDER_MS / 1000} s or more and never encrypted a frame`);
    // Every join and leave made an epoch: each joined participant appears in some epoch's `added`
    // (or created the group), each departed one in some epoch's `removed`.
    const added = new Set<string>();
    const removed = new Set<string>();
    for (const e of epochList) {
      for (const a of e.added) added.add(a);
      for (const r of e.removed) removed.add(r);
    }
    let membershipOk = true;
    const minEpoch = sortedEpochs[0];
    for (const p of parts) {
      if (p.joinedAt !== null && p.joinEpoch !== minEpoch && !added.has(p.pid)) {
        membershipOk = false;
        problems.push(`no epoch added ${p.pid}`);
      }
      if (p.leaveStartAt !== null && p.joinedAt !== null && p.leaveStartAt < meta.endedAt - 8000 && !removed.has(p.pid)) {
        membershipOk = false;
        problems.push(`no epoch removed ${p.pid} (${p.leaveHow})`);
      }
      // A join still not committed long after it was asked for (a starved joiner) is a missing epoch too.
      if (p.joinedAt === null && p.joinFailed === null && p.leaveStartAt === null && p.joinStartAt >= this.measureFrom && p.joinStartAt < meta.endedAt - 8000) {
        membershipOk = false;
        problems.push(`no epoch added ${p.pid} (asked to join ${Math.round((meta.endedAt - p.joinStartAt) / 1000)} s before the end)`);
      }
    }
    const joinCount = parts.filter((p) => p.joinedAt !== null && p.joinStartAt >= this.measureFrom).length;
    const leaves = { graceful: 0, crash: 0 };
    for (const p of parts) if (p.leaveHow && p.leaveStartAt !== null && p.leaveStartAt >= this.measureFrom && p.leaveStartAt < meta.endedAt) leaves[p.leaveHow]++;

    // Commit cost by group size buckets.
    const buckets = new Map<number, number[]>();
    for (const [size, ms] of this.commitMs) {
      const b = size <= 16 ? size : size <= 64 ? Math.ceil(size / 8) * 8 : size <= 256 ? Math.ceil(size / 32) * 32 : Math.ceil(size / 100) * 100;
      const list = buckets.get(b) ?? [];
      list.push(ms);
      buckets.set(b, list);
    }
    const commitCostBySize = [...buckets.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([size, list]) => {
        const s = summarize(list, 2);
        return { size, count: s.count, p50: s.p50, p95: s.p95 };
      });
    let cpu = 0;
    let commits = 0;
    let handshakes = 0;
    for (const t of this.threads.values()) {
      cpu += t.cpuMs - t.firstCpuMs;
      commits += t.commitsProcessed - t.firstCommits;
      handshakes += t.handshakesProcessed - t.firstHandshakes;
    }

    const cpuVals = this.samples.map((s) => s.serverCpuPct).filter((v): v is number => v !== null);
    const rssVals = this.samples.map((s) => s.serverRssMB).filter((v): v is number => v !== null);
    const kbps = this.samples.map((s) => s.forwardedKbps).filter((v): v is number => v !== null);
    const totals = this.totals;
    const heldSaved = parts.reduce((s, p) => s + p.heldSaved, 0);
    const beforeJoin = parts.reduce((s, p) => s + p.lostBeforeJoin, 0);

    return {
      version: 1,
      startedAt: new Date(this.startedAt).toISOString(),
      finishedAt: new Date(meta.endedAt).toISOString(),
      command: meta.command,
      options: meta.options,
      browsers: meta.browsers,
      synthetic: meta.synthetic,
      durationS: meta.durationS,
      media: meta.media,
      interrupted: meta.interrupted,
      server: meta.server,
      machine: meta.machine,
      epochs: firstMeasured === null || lastMeasured === null ? 0 : lastMeasured - firstMeasured + 1,
      epochRange: { first: sortedEpochs[0] ?? null, last: sortedEpochs[sortedEpochs.length - 1] ?? null },
      joins: joinCount,
      leaves,
      joinTimeMs: summarize(joinTimes),
      joinMlsMs: summarize(joinMls),
      rotationConvergenceMs: summarize(convSynthetic.length > 0 ? convSynthetic : convAll),
      mlsConvergenceMs: summarize(convMls),
      rotationConvergenceWithBrowsersMs: summarize(convAll),
      rotationsSuperseded: superseded,
      rotationsNotConverged: notConverged,
      rotationsLate: lateCount,
      framesLostPerRotation: { total: lostTotal, max: lostMax, byReason, beforeJoin, heldThenSaved: heldSaved },
      framesDecrypted: totals.dec,
      framesEncrypted: totals.enc,
      rtpGaps: parts.reduce((s, p) => s + p.rtpGaps, 0),
      encryptMs: summarize(this.encryptMs, 3),
      decryptMs: summarize(this.decryptMs, 3),
      commitProcessingMs: summarize(this.commitMs.map((s) => s[1]), 2),
      commitCostBySize,
      joinExternalMs: summarize(this.joinExternalMs, 2),
      // With media on, the threads' CPU is mostly SFrame and RTP: the per-commit figure is for media-off runs.
      threadCpuPerCommitMs: commits > 0 && !media ? Math.round((cpu / commits) * 100) / 100 : null,
      threadCpuPerHandshakeMs: handshakes > 0 && !media ? Math.round((cpu / handshakes) * 100) / 100 : null,
      handshakesProcessed: handshakes,
      commitsProcessed: commits,
      serverCpu: meta.serverCpu
        ? { ...meta.serverCpu, avgPct: cpuVals.length ? Math.round(cpuVals.reduce((a, b) => a + b, 0) / cpuVals.length) : null, maxPct: cpuVals.length ? Math.round(Math.max(...cpuVals)) : null }
        : null,
      serverRssMB: { max: rssVals.length ? Math.round(Math.max(...rssVals)) : null },
      forwardedKbps: { mean: kbps.length ? Math.round(kbps.reduce((a, b) => a + b, 0) / kbps.length) : null, max: kbps.length ? Math.round(Math.max(...kbps)) : null },
      checks: {
        everyoneDecryptedEveryone: !media || (missingPairs.length === 0 && silentSenders.length === 0),
        epochPerMembershipChange: membershipOk,
        noFramesLost: lostTotal === 0,
        allRotationsConverged: notConverged === 0,
        problems: problems.slice(0, 50),
      },
      epochList,
      timeseries: this.samples,
      participants: records,
      threadProfiles: this.profiles,
      failures: this.failures.slice(0, 200),
      notes: this.notes,
    };
  }
}
