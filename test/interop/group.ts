// A mixed group for interop tests: members driven either by shared/mls ("ours") or by ts-mls ("ts"),
// all fed the same MLSMessage bytes. After every epoch change every member must agree on epoch,
// epoch_authenticator and MLS-Exporter("SFrame 1.0 Base Key", "", 16) (RFC 9420 §8.5, §8.7).
import assert from 'node:assert/strict';
import { toHex } from '../../shared/bytes/index.js';
import * as mls from '../../shared/mls/index.js';
import * as T from './tsmls.js';

export const SFRAME_LABEL = 'SFrame 1.0 Base Key';
const EMPTY = new Uint8Array(0);

export type Member = { name: string; kind: 'ours'; state: mls.GroupState } | { name: string; kind: 'ts'; state: T.TsState };

export interface EpochView {
  epoch: bigint;
  authenticator: string;
  exporter: string;
}

export class MixedGroup {
  readonly members = new Map<string, Member>();
  /** Epoch views seen so far (one per epoch), to check that secrets change every epoch. */
  readonly history: EpochView[] = [];

  constructor(
    readonly impl: T.TsImpl,
    readonly crypto?: mls.CryptoBackend,
  ) {}

  private opt(): { crypto?: mls.CryptoBackend } {
    return this.crypto === undefined ? {} : { crypto: this.crypto };
  }

  add(m: Member): void {
    assert.ok(!this.members.has(m.name), `duplicate member ${m.name}`);
    this.members.set(m.name, m);
  }

  get(name: string): Member {
    const m = this.members.get(name);
    assert.ok(m, `no member ${name}`);
    return m;
  }

  ours(name: string): mls.GroupState {
    const m = this.get(name);
    assert.equal(m.kind, 'ours');
    return m.state as mls.GroupState;
  }

  ts(name: string): T.TsState {
    const m = this.get(name);
    assert.equal(m.kind, 'ts');
    return m.state as T.TsState;
  }

  async view(m: Member): Promise<EpochView> {
    if (m.kind === 'ours') {
      return {
        epoch: mls.epoch(m.state),
        authenticator: toHex(mls.epochAuthenticator(m.state)),
        exporter: toHex(await mls.exporter(m.state, SFRAME_LABEL, EMPTY, 16, this.opt())),
      };
    }
    return {
      epoch: T.tsEpoch(m.state),
      authenticator: toHex(T.tsEpochAuthenticator(m.state)),
      exporter: toHex(await T.tsExporter(this.impl, m.state, SFRAME_LABEL, EMPTY, 16)),
    };
  }

  /** Every member is in the same epoch with the same authenticator and exporter output, new this epoch. */
  async checkAgreement(what: string): Promise<EpochView> {
    const views: [string, EpochView][] = [];
    for (const m of this.members.values()) views.push([m.name, await this.view(m)]);
    const [firstName, first] = views[0]!;
    for (const [name, v] of views) {
      assert.equal(v.epoch, first.epoch, `${what}: ${name} is in epoch ${v.epoch}, ${firstName} in ${first.epoch}`);
      assert.equal(v.authenticator, first.authenticator, `${what}: epoch_authenticator of ${name} differs from ${firstName}`);
      assert.equal(v.exporter, first.exporter, `${what}: exporter output of ${name} differs from ${firstName}`);
    }
    for (const h of this.history) {
      assert.notEqual(h.authenticator, first.authenticator, `${what}: epoch_authenticator repeats an earlier epoch`);
      assert.notEqual(h.exporter, first.exporter, `${what}: exporter output repeats an earlier epoch`);
    }
    this.history.push(first);
    return first;
  }

  /** Every member except `except` processes `message` (a commit or proposal) and adopts the result. */
  async deliver(message: Uint8Array, except: string[] = []): Promise<void> {
    for (const m of this.members.values()) {
      if (except.includes(m.name)) continue;
      if (m.kind === 'ours') {
        const r = await mls.processMessage(m.state, message, this.opt());
        if (r.kind === 'commit') assert.equal(r.selfRemoved, false, `${m.name} was removed unexpectedly`);
        m.state = r.newState;
      } else {
        m.state = await T.tsProcess(this.impl, m.state, message);
      }
    }
  }

  /** `name` commits (with path; adds/removes optional); everyone else processes; returns the Welcome if any. */
  async commit(name: string, o: { add?: Uint8Array[]; remove?: number[]; publicMessage?: boolean } = {}): Promise<{ commit: Uint8Array; welcome?: Uint8Array }> {
    const m = this.get(name);
    let commit: Uint8Array;
    let welcome: Uint8Array | undefined;
    if (m.kind === 'ours') {
      const c = await mls.createCommit(m.state, { ...o, ...this.opt() });
      m.state = c.pendingState;
      commit = c.commit;
      welcome = c.welcome;
    } else {
      const c = await T.tsCommit(this.impl, m.state, o);
      m.state = c.state;
      commit = c.commit;
      welcome = c.welcome;
    }
    const removedNames: string[] = [];
    for (const leaf of o.remove ?? []) {
      for (const x of this.members.values()) if (this.leafOf(x) === leaf) removedNames.push(x.name);
    }
    // Removed members see the commit and learn they are out; they leave the group.
    for (const r of removedNames) {
      const x = this.get(r);
      if (x.kind === 'ours') {
        const res = await mls.processMessage(x.state, commit, this.opt());
        assert.ok(res.kind === 'commit' && res.selfRemoved, `${r} should learn it was removed`);
      }
      this.members.delete(r);
    }
    await this.deliver(commit, [name]);
    return welcome ? { commit, welcome } : { commit };
  }

  leafOf(m: Member): number {
    return m.kind === 'ours' ? mls.ownLeafIndex(m.state) : T.tsOwnLeaf(m.state);
  }
}
