// A fake of the shared/mls facade for engine/DS tests: real RFC 9420 public headers (so the DS
// reads them as it reads real MLS), a JSON body instead of cryptography, and an "epoch
// authenticator" that hashes the commit chain (so members that diverge are noticed).
// Not MLS: it exists to test sequencing logic apart from the MLS implementation.
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, fromUtf8, utf8 } from '../../shared/bytes/index.js';
import { Reader, Writer } from '../../shared/codec/index.js';
import type { MlsApi } from '../../shared/member/index.js';
import { fakeProposalList } from './helpers.js';

interface FakeState {
  groupId: Uint8Array;
  epoch: bigint;
  leaves: Array<{ leafIndex: number; identity: string }>;
  own: number;
  auth: Uint8Array;
  pending: number[];
}

class FakeMlsError extends Error {
  constructor(readonly code: string) {
    super(code);
  }
}

function header(w: Writer, groupId: Uint8Array, epoch: bigint, sender: { t: 1 | 2; i: number } | { t: 4 }, ct: 2 | 3): void {
  w.u16(1).u16(1).varBytes(groupId).u64(epoch);
  if (sender.t === 4) w.u8(4);
  else w.u8(sender.t).u32(sender.i);
  w.varBytes(new Uint8Array(0)).u8(ct);
}

function encode(groupId: Uint8Array, epoch: bigint, sender: { t: 1 | 2; i: number } | { t: 4 }, ct: 2 | 3, body: { removes?: number[] } & Record<string, unknown>): Uint8Array {
  const w = new Writer();
  header(w, groupId, epoch, sender, ct);
  // Commits start with a real proposal list (RFC 9420 §12.4): the DS reads Removes from it.
  if (ct === 3) w.varBytes(fakeProposalList({ removes: body.removes ?? [], externalInit: sender.t === 4 }));
  w.varBytes(utf8(JSON.stringify(body)));
  return w.finish();
}

function decode(bytes: Uint8Array) {
  const r = new Reader(bytes);
  if (r.u16() !== 1 || r.u16() !== 1) throw new FakeMlsError('not-public-message');
  const groupId = r.varBytes();
  const epoch = r.u64();
  const st = r.u8();
  const sender = st === 1 || st === 2 ? { t: st, i: r.u32() } : { t: st, i: -1 };
  r.varBytes();
  const ct = r.u8();
  if (ct === 3) r.varBytes();
  const body = JSON.parse(fromUtf8(r.varBytes())) as Record<string, unknown>;
  return { groupId, epoch, sender, ct, body };
}

function freeLeaf(leaves: FakeState['leaves']): number {
  const used = new Set(leaves.map((l) => l.leafIndex));
  let i = 0;
  while (used.has(i)) i++;
  return i;
}

function next(s: FakeState, commit: Uint8Array, change: { join?: { identity: string; leaf: number }; removes: number[] }, own = s.own): FakeState {
  let leaves = s.leaves.filter((l) => !change.removes.includes(l.leafIndex));
  if (change.join) leaves = [...leaves, { leafIndex: change.join.leaf, identity: change.join.identity }].sort((a, b) => a.leafIndex - b.leafIndex);
  return { groupId: s.groupId, epoch: s.epoch + 1n, leaves, own, auth: sha256(concat(s.auth, commit)), pending: [] };
}

const st = (s: unknown) => s as FakeState;

export const fakeMls: MlsApi & {
  createExternalRemoveProposal(o: { groupId: Uint8Array; epoch: bigint; removedLeaf: number; senderIndex: number }): Promise<Uint8Array>;
  /** A well-framed commit members will reject (the DS cannot tell). */
  createInvalidCommit(state: unknown): Promise<{ commit: Uint8Array; pendingState: unknown }>;
  /** A commit only the members at these leaves reject (the others apply it). */
  createPartlyInvalidCommit(state: unknown, rejecters: number[]): Promise<{ commit: Uint8Array; pendingState: unknown }>;
} = {
  async generateSignatureKeyPair() {
    return { publicKey: new Uint8Array(32), privateKey: new Uint8Array(32) };
  },
  async createGroup(o) {
    return { groupId: o.groupId, epoch: 0n, leaves: [{ leafIndex: 0, identity: fromUtf8(o.identity) }], own: 0, auth: sha256(o.groupId), pending: [] } satisfies FakeState;
  },
  async groupInfo(state) {
    const s = st(state);
    const w = new Writer();
    w.u16(1).u16(4).u16(1).u16(1).varBytes(s.groupId).u64(s.epoch);
    w.varBytes(utf8(JSON.stringify({ leaves: s.leaves, auth: Array.from(s.auth) })));
    return w.finish();
  },
  async joinExternal(o) {
    const r = new Reader(o.groupInfo);
    r.u16();
    if (r.u16() !== 4) throw new FakeMlsError('not-group-info');
    r.u16();
    r.u16();
    const groupId = r.varBytes();
    const epoch = r.u64();
    const info = JSON.parse(fromUtf8(r.varBytes())) as { leaves: FakeState['leaves']; auth: number[] };
    const base: FakeState = { groupId, epoch, leaves: info.leaves, own: -1, auth: new Uint8Array(info.auth), pending: [] };
    const leaf = freeLeaf(info.leaves);
    const identity = fromUtf8(o.identity);
    const commit = encode(groupId, epoch, { t: 4 }, 3, { join: { identity, leaf }, removes: [] });
    return { commit, pendingState: next(base, commit, { join: { identity, leaf }, removes: [] }, leaf) };
  },
  async createCommit(state) {
    const s = st(state);
    const removes = [...s.pending];
    const commit = encode(s.groupId, s.epoch, { t: 1, i: s.own }, 3, { removes });
    return { commit, pendingState: next(s, commit, { removes }) };
  },
  async createPartlyInvalidCommit(state, rejecters) {
    const s = st(state);
    const commit = encode(s.groupId, s.epoch, { t: 1, i: s.own }, 3, { removes: [], invalidFor: rejecters });
    return { commit, pendingState: next(s, commit, { removes: [] }) };
  },
  async createInvalidCommit(state) {
    const s = st(state);
    const commit = encode(s.groupId, s.epoch, { t: 1, i: s.own }, 3, { removes: [], invalid: true });
    return { commit, pendingState: next(s, commit, { removes: [] }) };
  },
  async processMessage(state, message) {
    const s = st(state);
    const m = decode(message);
    if (m.epoch !== s.epoch) throw new FakeMlsError('wrong-epoch');
    if (m.body.invalid) throw new FakeMlsError('invalid-signature');
    if (Array.isArray(m.body.invalidFor) && m.body.invalidFor.includes(s.own)) throw new FakeMlsError('invalid-path');
    if (m.ct === 2) {
      const leaf = m.body.leaf as number;
      if (m.sender.t !== 2 || !s.leaves.some((l) => l.leafIndex === leaf)) throw new FakeMlsError('invalid-proposal');
      return { kind: 'proposal', newState: { ...s, pending: [...s.pending, leaf] }, proposalType: 'remove', removedLeaf: leaf };
    }
    const join = m.body.join as { identity: string; leaf: number } | undefined;
    const removes = m.body.removes as number[];
    if (m.sender.t === 1 && removes.some((l) => !s.pending.includes(l))) throw new FakeMlsError('remove-not-proposed');
    const ns = next(s, message, { removes, ...(join ? { join } : {}) });
    return { kind: 'commit', newState: ns, removedLeaves: removes, addedLeaves: join ? [join.leaf] : [], selfRemoved: removes.includes(s.own) };
  },
  epoch: (s) => st(s).epoch,
  epochAuthenticator: (s) => st(s).auth,
  async exporter(s, label, _context, length) {
    return sha256(concat(st(s).auth, utf8(label))).slice(0, length);
  },
  roster: (s) => st(s).leaves.map((l) => ({ leafIndex: l.leafIndex, identity: utf8(l.identity) })),
  treeSize: (s) => Math.max(...st(s).leaves.map((l) => l.leafIndex)) + 1,
  ownLeafIndex: (s) => st(s).own,
  pendingProposalCount: (s) => st(s).pending.length,
  async createExternalRemoveProposal(o) {
    return encode(o.groupId, o.epoch, { t: 2, i: o.senderIndex }, 2, { type: 'remove', leaf: o.removedLeaf });
  },
};
