// Randomized MLS group scenario (seeded): groups of 2..64 members driven through random Adds
// (KeyPackage + Welcome), Removes, updates (commit with path), external joins and server Remove
// proposals (external sender, createExternalRemoveProposal), all on one ordered message stream: an
// in-memory Delivery Service that accepts the first commit per epoch and rejects the rest (RFC 9420
// §14), with concurrent commit attempts from members that may be behind.
// At every epoch every member has the same epoch, epoch_authenticator (§8.7), exporter output
// (§8.5), roster and tree size; a removed member learns it was removed, its last state cannot
// process the next epoch's messages, and its exporter output never matches a later epoch.
// Crypto: the node:crypto backend. Run: npx tsx --test test/scenario/mls-random.test.ts
import { prng } from '../support/prng.js';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import { decodeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { WireFormat } from '../../shared/mls/wire/wireFormat.js';
import { nodeCryptoProvider } from '../../server/crypto-node/mls-node.js';

mls.setDefaultCryptoBackend(nodeCryptoProvider);

const LABEL = 'SFrame 1.0 Base Key';
const EMPTY = new Uint8Array(0);


/** The DS view of a handshake message: its epoch and whether it is a commit (PublicMessage header). */
function header(bytes: Uint8Array): { epoch: bigint; commit: boolean } {
  const m = decodeMLSMessage(bytes);
  assert.equal(m.wireFormat, WireFormat.mls_public_message, 'handshake messages travel as PublicMessage');
  if (m.wireFormat !== WireFormat.mls_public_message) throw new Error('unreachable');
  return { epoch: m.publicMessage.content.epoch, commit: m.publicMessage.content.contentType === 3 };
}

/** In-memory Delivery Service: one ordered stream; first commit per epoch wins (§14). */
class DeliveryService {
  readonly log: Uint8Array[] = [];
  epoch = 0n;
  accepted = 0;
  rejected = 0;
  submit(message: Uint8Array): boolean {
    const h = header(message);
    if (h.epoch !== this.epoch) {
      this.rejected++;
      return false;
    }
    this.log.push(message);
    if (h.commit) {
      this.epoch++;
      this.accepted++;
    }
    return true;
  }
}

interface Member {
  name: string;
  state: mls.GroupState;
  /** Next log index this member has to process. */
  cursor: number;
}

interface Removed {
  name: string;
  /** State before processing the commit that removed it. */
  lastState: mls.GroupState;
  /** Log index of the commit that removed it. */
  removalAt: number;
}

interface Stats {
  epochs: number;
  adds: number;
  removes: number;
  updates: number;
  externalJoins: number;
  serverRemoves: number;
  rejectedCommits: number;
  staleCommits: number;
  maxSize: number;
  minSize: number;
  removedChecked: number;
  restarts: number;
}

class Scenario {
  readonly ds = new DeliveryService();
  readonly members = new Map<string, Member>();
  readonly removed: Removed[] = [];
  readonly pastExporters = new Set<string>();
  readonly stats: Stats = { epochs: 0, adds: 0, removes: 0, updates: 0, externalJoins: 0, serverRemoves: 0, rejectedCommits: 0, staleCommits: 0, maxSize: 0, minSize: Infinity, removedChecked: 0, restarts: 0 };
  private next = 0;
  /** Each member's state from an earlier epoch (a client that fell behind). */
  readonly stale = new Map<string, mls.GroupState>();
  constructor(
    readonly rand: () => number,
    readonly groupId: Uint8Array,
    readonly server: mls.SignatureKeyPair,
  ) {}

  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  newName(): string {
    return `m${this.next++}`;
  }
  list(): Member[] {
    return [...this.members.values()];
  }

  async start(): Promise<void> {
    const name = this.newName();
    const state = await mls.createGroup({ groupId: this.groupId, identity: utf8(name), externalSenders: [{ signatureKey: this.server.publicKey, identity: utf8('sfu') }] });
    this.members.set(name, { name, state, cursor: 0 });
    await this.checkEpoch('create');
  }

  /** Every member processes the log up to its end (the committer of an accepted commit adopted its pendingState). */
  async deliverAll(): Promise<void> {
    for (const m of this.list()) {
      while (m.cursor < this.ds.log.length) {
        const msg = this.ds.log[m.cursor]!;
        const r = await mls.processMessage(m.state, msg);
        if (r.kind === 'commit' && r.selfRemoved) {
          assert.equal(mls.epoch(r.newState), mls.epoch(m.state), 'a removed member keeps its old epoch');
          this.removed.push({ name: m.name, lastState: m.state, removalAt: m.cursor });
          this.members.delete(m.name);
          break;
        }
        m.state = r.newState;
        m.cursor++;
      }
    }
  }

  /** All members agree; secrets are fresh; removed members are locked out. */
  async checkEpoch(what: string): Promise<void> {
    const ms = this.list();
    assert.ok(ms.length >= 1);
    const ref = ms[0]!;
    const epoch = mls.epoch(ref.state);
    assert.equal(epoch, this.ds.epoch, `${what}: ${ref.name} at epoch ${epoch}, DS at ${this.ds.epoch}`);
    const ea = toHex(mls.epochAuthenticator(ref.state));
    const ex = toHex(await mls.exporter(ref.state, LABEL, EMPTY, 16));
    const roster = JSON.stringify(mls.roster(ref.state).map((r) => [r.leafIndex, toHex(r.identity)]));
    for (const m of ms) {
      assert.equal(mls.epoch(m.state), epoch, `${what}: ${m.name} epoch`);
      assert.equal(toHex(mls.epochAuthenticator(m.state)), ea, `${what}: ${m.name} epoch_authenticator differs at epoch ${epoch}`);
      assert.equal(toHex(await mls.exporter(m.state, LABEL, EMPTY, 16)), ex, `${what}: ${m.name} exporter differs at epoch ${epoch}`);
      assert.equal(JSON.stringify(mls.roster(m.state).map((r) => [r.leafIndex, toHex(r.identity)])), roster, `${what}: ${m.name} roster differs`);
      assert.equal(mls.treeSize(m.state), mls.treeSize(ref.state));
    }
    assert.equal(mls.roster(ref.state).length, ms.length, `${what}: roster size vs live members`);
    const names = new Set(mls.roster(ref.state).map((r) => new TextDecoder().decode(r.identity)));
    for (const m of ms) assert.ok(names.has(m.name), `${what}: ${m.name} missing from the roster`);
    for (const r of this.removed) assert.ok(!names.has(r.name), `${what}: removed ${r.name} still in the roster`);
    assert.ok(!this.pastExporters.has(ex), `${what}: exporter output repeats an earlier epoch`);
    this.pastExporters.add(ex);
    this.stats.epochs = Number(epoch);
    this.stats.maxSize = Math.max(this.stats.maxSize, ms.length);
    this.stats.minSize = Math.min(this.stats.minSize, ms.length);
    // Removed members: their last state cannot follow.
    for (const r of this.removed) {
      const removal = this.ds.log[r.removalAt]!;
      const seen = await mls.processMessage(r.lastState, removal);
      assert.ok(seen.kind === 'commit' && seen.selfRemoved, `${r.name} learns it was removed`);
      for (let i = r.removalAt + 1; i < this.ds.log.length; i++) {
        await assert.rejects(mls.processMessage(r.lastState, this.ds.log[i]!), (e: unknown) => e instanceof mls.MlsError, `${r.name} processed a later message`);
      }
      assert.notEqual(toHex(await mls.exporter(r.lastState, LABEL, EMPTY, 16)), ex, `${r.name} derives the current exporter`);
      this.stats.removedChecked++;
    }
    // Application data of this epoch is unreadable to removed members, readable to members.
    if (ms.length >= 2 && this.removed.length > 0) {
      const sender = this.pick(ms);
      const app = await mls.createApplicationMessage(sender.state, utf8(`epoch ${epoch}`));
      sender.state = app.newState;
      const reader = this.pick(ms.filter((m) => m !== sender));
      const got = await mls.processMessage(reader.state, app.message);
      assert.equal(got.kind, 'application');
      reader.state = got.newState;
      const r = this.removed[this.removed.length - 1]!;
      await assert.rejects(mls.processMessage(r.lastState, app.message), (e: unknown) => e instanceof mls.MlsError);
    }
    // Forget old removed members once checked a few epochs (bounded work).
    while (this.removed.length > 4) this.removed.shift();
  }

  /**
   * 1-3 members try to commit at once from their current state; the DS takes the first that
   * arrives for the current epoch; the others are rejected and drop their pendingState (§14).
   */
  async commitRound(makers: { member: Member; add?: number; remove?: number[] }[], kind: 'update' | 'add' | 'remove' | 'server-remove' = 'update'): Promise<void> {
    for (const m of this.list()) if (this.rand() < 0.3) this.stale.set(m.name, m.state);
    const attempts: { member: Member; commit: Uint8Array; welcome?: Uint8Array; pending: mls.GroupState; joiners: { name: string; secrets: mls.KeyPackageSecrets }[] }[] = [];
    for (const mk of makers) {
      const joiners: { name: string; secrets: mls.KeyPackageSecrets }[] = [];
      const add: Uint8Array[] = [];
      for (let i = 0; i < (mk.add ?? 0); i++) {
        const name = this.newName();
        const kp = await mls.createKeyPackage({ identity: utf8(name) });
        joiners.push({ name, secrets: kp.private });
        add.push(kp.keyPackage);
      }
      const opts: { add?: Uint8Array[]; remove?: number[] } = {};
      if (add.length) opts.add = add;
      if (mk.remove?.length) opts.remove = mk.remove;
      const c = await mls.createCommit(mk.member.state, opts);
      const a: (typeof attempts)[number] = { member: mk.member, commit: c.commit, pending: c.pendingState, joiners };
      if (c.welcome) a.welcome = c.welcome;
      attempts.push(a);
    }
    // Random arrival order at the DS.
    for (let i = attempts.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [attempts[i], attempts[j]] = [attempts[j]!, attempts[i]!];
    }
    let winner: (typeof attempts)[number] | undefined;
    for (const a of attempts) {
      if (this.ds.submit(a.commit)) {
        assert.equal(winner, undefined, 'the DS accepted two commits for one epoch');
        winner = a;
      } else this.stats.rejectedCommits++;
    }
    assert.ok(winner, 'no commit accepted');
    // The winner adopts its pendingState and skips its own commit in the log.
    winner.member.state = winner.pending;
    winner.member.cursor = this.ds.log.length;
    await this.deliverAll();
    for (const j of winner.joiners) {
      const state = await mls.joinWelcome({ welcome: winner.welcome!, keyPackagePrivate: j.secrets });
      this.members.set(j.name, { name: j.name, state, cursor: this.ds.log.length });
      this.stats.adds++;
    }
    this.stats.removes += makers.find((m) => m.member === winner!.member)?.remove?.length ?? 0;
    if (kind === 'update' && winner === attempts.find((a) => a.member === winner!.member) && !winner.joiners.length) this.stats.updates++;
  }

  /**
   * A member that fell behind commits from an old epoch: the DS refuses it, and a member that got
   * it anyway (faulty DS) rejects it with an MlsError and keeps its state.
   */
  async staleCommit(): Promise<void> {
    const candidates = [...this.stale.entries()].filter(([name, st]) => this.members.has(name) && mls.epoch(st) < this.ds.epoch);
    if (candidates.length === 0) return;
    const [name, st] = this.pick(candidates);
    const c = await mls.createCommit(st);
    assert.equal(this.ds.submit(c.commit), false, 'the DS refuses a commit for an old epoch');
    const other = this.pick(this.list().filter((m) => m.name !== name));
    await assert.rejects(mls.processMessage(other.state, c.commit), (e: unknown) => e instanceof mls.MlsError && e.code === 'wrong-epoch');
    this.stale.delete(name);
    this.stats.staleCommits++;
  }

  async externalJoin(): Promise<void> {
    const from = this.pick(this.list());
    const name = this.newName();
    const gi = await mls.groupInfo(from.state);
    const j = await mls.joinExternal({ groupInfo: gi, identity: utf8(name) });
    assert.ok(this.ds.submit(j.commit), 'external commit accepted');
    this.members.set(name, { name, state: j.pendingState, cursor: this.ds.log.length });
    await this.deliverAll();
    this.stats.externalJoins++;
  }

  /** The server proposes removing a member; everyone processes it; another member commits it by reference. */
  async serverRemove(): Promise<void> {
    const ms = this.list();
    const victim = this.pick(ms);
    const leaf = mls.ownLeafIndex(victim.state);
    const p = await mls.createExternalRemoveProposal({ groupId: this.groupId, epoch: this.ds.epoch, removedLeaf: leaf, senderIndex: 0, signaturePrivateKey: this.server.privateKey });
    assert.ok(this.ds.submit(p));
    await this.deliverAll();
    for (const m of this.list()) assert.equal(mls.pendingProposalCount(m.state), 1, `${m.name} holds the server proposal`);
    const committer = this.pick(this.list().filter((m) => m !== victim));
    await this.commitRound([{ member: committer }], 'server-remove');
    assert.ok(!this.members.has(victim.name), 'the server-removed member is gone');
    this.stats.serverRemoves++;
  }

  growTo(target?: number): boolean {
    return target !== undefined && this.members.size < target;
  }

  /** A member restarts from its serialized state. */
  restart(): void {
    const m = this.pick(this.list());
    m.state = mls.deserializeState(mls.serializeState(m.state));
    this.stats.restarts++;
  }

  /** One random operation, keeping the group within [min, max] members. */
  async step(min: number, max: number): Promise<void> {
    const ms = this.list();
    const n = ms.length;
    const roll = this.rand();
    if (this.rand() < 0.1) this.restart();
    if (n >= 2 && this.rand() < 0.15) await this.staleCommit();
    if (n < min || (roll < 0.3 && n < max)) {
      if (this.rand() < 0.35) return this.externalJoin();
      const add = 1 + this.int(Math.min(6, max - n));
      const committer = this.pick(ms);
      const others = this.int(3);
      const makers: { member: Member; add?: number }[] = [{ member: committer, add }];
      for (let i = 0; i < others; i++) makers.push({ member: this.pick(ms) });
      return this.commitRound(dedupe(makers), 'add');
    }
    if (roll < 0.5 && n > Math.max(2, min)) {
      if (this.rand() < 0.4) return this.serverRemove();
      const committer = this.pick(ms);
      const candidates = ms.filter((m) => m !== committer);
      const k = 1 + this.int(Math.min(3, n - Math.max(2, min)));
      const victims: number[] = [];
      for (let i = 0; i < k && candidates.length; i++) victims.push(mls.ownLeafIndex(candidates.splice(this.int(candidates.length), 1)[0]!.state));
      // Sometimes add while removing.
      const add = n < max && this.rand() < 0.3 ? 1 : 0;
      return this.commitRound([{ member: committer, remove: victims, add }], 'remove');
    }
    // Updates: 1-3 concurrent empty commits (with path).
    const makers = Array.from({ length: 1 + this.int(3) }, () => ({ member: this.pick(ms) }));
    return this.commitRound(dedupe(makers));
  }
}

function dedupe<T extends { member: Member }>(xs: T[]): T[] {
  const seen = new Set<Member>();
  return xs.filter((x) => (seen.has(x.member) ? false : (seen.add(x.member), true)));
}

async function run(seed: number, o: { steps: number; min: number; max: number; growTo?: number }): Promise<Stats> {
  const rand = prng(seed);
  const server = await mls.generateSignatureKeyPair(1);
  const s = new Scenario(rand, utf8(`random-${seed}`), server);
  await s.start();
  // Optional fast growth (bulk Welcome + a few external joins) to reach a large group.
  while (s.growTo(o.growTo)) {
    const n = s.members.size;
    if (s.rand() < 0.2) await s.externalJoin();
    else await s.commitRound([{ member: s.pick(s.list()), add: Math.min(16, o.growTo! - n) }], 'add');
    await s.checkEpoch(`grow to ${s.members.size}`);
  }
  for (let i = 0; i < o.steps; i++) {
    await s.step(o.min, o.max);
    await s.checkEpoch(`seed ${seed} step ${i}`);
  }
  return s.stats;
}

test('random small groups (2..8): adds, removes, updates, external joins, server removes, concurrent commits', async (t) => {
  const stats = await run(1, { steps: 70, min: 2, max: 8 });
  t.diagnostic(JSON.stringify(stats));
  assert.ok(stats.adds > 0 && stats.removes > 0 && stats.updates > 0 && stats.externalJoins > 0 && stats.serverRemoves > 0, JSON.stringify(stats));
  assert.ok(stats.rejectedCommits > 0, 'some concurrent commits lost the race');
  assert.ok(stats.staleCommits > 0, 'some members committed from an old epoch');
  assert.equal(stats.minSize, 1, 'the group started from its creator');
  assert.ok(stats.removedChecked > 0);
});

test('random medium groups (2..20), another seed', async (t) => {
  const stats = await run(3, { steps: 30, min: 2, max: 20 });
  t.diagnostic(JSON.stringify(stats));
  assert.ok(stats.maxSize > 8 && stats.removes + stats.serverRemoves > 0 && stats.externalJoins > 0, JSON.stringify(stats));
});

test('random large group (grows to 64, churns between 40 and 64)', async (t) => {
  const stats = await run(2, { steps: 16, min: 40, max: 64, growTo: 64 });
  t.diagnostic(JSON.stringify(stats));
  assert.equal(stats.maxSize, 64);
  assert.ok(stats.removes + stats.serverRemoves > 0 && stats.updates > 0, JSON.stringify(stats));
});
