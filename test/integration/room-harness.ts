// Headless participants for integration tests: shared/member over `ws` against a real server
// started in-process; helpers to check convergence (same epoch and epoch_authenticator).
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { toHex } from '../../shared/bytes/index.js';
import { Member, webSocketTransport } from '../../shared/member/index.js';
import type { EpochEvent, MemberError, MlsApi, Transport, WebSocketLike } from '../../shared/member/index.js';
import { waitFor } from './helpers.js';

export async function openTransport(wsUrl: string): Promise<{ transport: Transport; ws: WebSocket }> {
  const ws = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.on('error', () => {});
  return { transport: webSocketTransport(ws as unknown as WebSocketLike), ws };
}

export class Participant {
  readonly epochs: EpochEvent[] = [];
  readonly errors: MemberError[] = [];
  removed = false;
  ws!: WebSocket;
  member!: Member;

  constructor(
    readonly name: string,
    private readonly wsUrl: string,
    private readonly room: string,
    private readonly mls: MlsApi,
    private readonly opts: { staggerMs?: number; token?: string } = {},
  ) {}

  async connect(): Promise<this> {
    const { transport, ws } = await openTransport(this.wsUrl);
    this.ws = ws;
    this.member = new Member({
      transport,
      room: this.room,
      name: this.name,
      mls: this.mls,
      staggerMs: this.opts.staggerMs ?? 300,
      requestTimeoutMs: 20_000,
      ...(this.opts.token ? { token: this.opts.token } : {}),
    });
    this.member.on('epoch', (e) => this.epochs.push(e));
    this.member.on('error', (e) => this.errors.push(e));
    this.member.on('removed', () => (this.removed = true));
    return this;
  }

  async join(): Promise<this> {
    if (!this.member) await this.connect();
    await this.member.join();
    return this;
  }

  get epoch(): bigint | null {
    return this.member.epoch;
  }
  get auth(): string | null {
    const a = this.member.epochAuthenticator;
    return a ? toHex(a) : null;
  }

  /** Socket destroyed without a close handshake (a crash). */
  crash(): void {
    this.ws.terminate();
    this.member.close();
  }

  async leave(): Promise<void> {
    await this.member.leave();
  }
}

/** Waits until every participant is at `epoch` with one epoch authenticator and the full roster. */
export async function converge(ps: Participant[], epoch: bigint, timeoutMs = 30_000, rosterSize = ps.length): Promise<void> {
  await waitFor(
    `${ps.map((p) => p.name).join(',')} at epoch ${epoch} (now ${ps.map((p) => String(p.epoch)).join(',')})`,
    () => ps.every((p) => p.epoch === epoch),
    timeoutMs,
  );
  const auths = new Set(ps.map((p) => p.auth));
  assert.equal(auths.size, 1, 'every member has the same epoch_authenticator');
  for (const p of ps) {
    const roster = p.epochs[p.epochs.length - 1]!.roster;
    assert.equal(roster.length, rosterSize, `${p.name} sees ${rosterSize} members`);
  }
}

/** Waits until every participant shares one epoch, one authenticator and a roster of `size` (epoch not known in advance). */
export async function settle(ps: Participant[], size: number, timeoutMs = 40_000): Promise<bigint> {
  await waitFor(
    `${ps.length} members settle on one epoch with ${size} in the roster`,
    () => {
      const e = ps[0]!.epoch;
      if (e === null || !ps.every((p) => p.epoch === e && p.epochs.length > 0)) return false;
      if (!ps.every((p) => p.epochs[p.epochs.length - 1]!.roster.length === size)) return false;
      return new Set(ps.map((p) => p.auth)).size === 1;
    },
    timeoutMs,
  );
  return ps[0]!.epoch!;
}
