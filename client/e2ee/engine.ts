// createGroupEngine: the page's GroupEngine over shared/member (MLS group, commits, epochs) and shared/mls.
// Each epoch event becomes an EpochInfo carrying the SFrame base key, computed in event order:
//   base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)   (RFC 9605 §5.2; Nk = 16 for
//   AES_128_GCM_SHA256_128, the key bridge's default suite)

import { SFRAME_EXPORTER_LABEL } from '../../shared/keybridge/index.js';
import { Member, type EpochEvent, type MlsApi, type Transport } from '../../shared/member/index.js';
import * as mls from '../../shared/mls/index.js';
import { CloseCode, type Results } from '../../shared/protocol/index.js';
import { openWebSocket, signalingUrl, tappedTransport } from '../session/signaling.js';
import type { ConnectionEvent, EpochInfo, GroupEngine, JoinInfo } from './group.js';

/** Pause between reconnect attempts while the server's grace period lasts. */
export const RECONNECT_RETRY_MS = 400;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** AEAD.Nk of the SFrame suite the worker's key bridge uses (AES_128_GCM_SHA256_128). */
export const SFRAME_BASE_KEY_LENGTH = 16;

export interface EngineOptions {
  room: string;
  name: string;
  token?: string;
}

export async function createGroupEngine(o: EngineOptions): Promise<GroupEngine> {
  // MLS crypto through WebCrypto where the browser has the algorithm (X25519, Ed25519, AES-GCM), noble otherwise.
  mls.setDefaultCryptoBackend('webcrypto');
  const url = signalingUrl();
  let joinResult: Results['join'] | null = null;
  /** A transport over a fresh socket whose tap keeps the next join (or resume) response's media fields. */
  const connect = async (timeoutMs?: number): Promise<Transport> => {
    const ws = await openWebSocket(url, timeoutMs);
    let seen = false;
    return tappedTransport(ws, (text) => {
      if (seen || !text.includes('"resumeToken"')) return;
      const m = JSON.parse(text) as { type?: string; result?: Results['join'] };
      if (m.type === 'response' && m.result && typeof m.result.memberId === 'string') {
        seen = true;
        joinResult = m.result;
      }
    });
  };
  const transport = await connect();
  const member = new Member({
    transport,
    room: o.room,
    name: o.name,
    ...(o.token ? { token: o.token } : {}),
    mls: mls as unknown as MlsApi,
  });

  const epochHandlers: ((e: EpochInfo) => void)[] = [];
  const endHandlers: ((e: Error | null) => void)[] = [];
  const connectionHandlers: ((s: ConnectionEvent) => void)[] = [];
  const errors: string[] = [];
  let ended = false;
  const end = (e: Error | null): void => {
    if (ended) return;
    ended = true;
    for (const h of endHandlers) h(e);
  };
  // Exporter calls run in epoch order; a slow one never lets an older key overtake a newer one.
  let chain: Promise<void> = Promise.resolve();
  member.on('epoch', (e: EpochEvent) => {
    chain = chain.then(async () => {
      const baseKey = await e.exporter(SFRAME_EXPORTER_LABEL, new Uint8Array(0), SFRAME_BASE_KEY_LENGTH);
      const info: EpochInfo = {
        epoch: e.epoch,
        epochAuthenticator: e.epochAuthenticator,
        roster: e.roster,
        ownLeafIndex: e.ownLeafIndex,
        treeSize: e.treeSize,
        baseKey,
      };
      for (const h of epochHandlers) h(info);
      baseKey.fill(0);
    }).catch((err: unknown) => {
      errors.push(`epoch ${e.epoch}: ${String(err)}`);
    });
  });
  member.on('error', (e) => {
    errors.push(e.message);
    if (errors.length > 20) errors.shift();
  });
  member.on('removed', (r) => end(Object.assign(new Error(`removed from the group: ${r.reason}`), { code: 'removed' })));
  let joined = false;
  let leaving = false;
  let reconnecting = false;
  const lost = (detail: string): Error => Object.assign(new Error(detail), { name: 'ServerUnreachableError' });
  const infoFrom = (r: Results['join'] | null): JoinInfo => ({
    memberId: member.memberId ?? r?.memberId ?? '',
    routerRtpCapabilities: r?.routerRtpCapabilities ?? {},
    producers: r?.producers ?? [],
    members: member.members,
    heartbeatIntervalMs: r?.limits.heartbeatIntervalMs ?? 0,
  });
  /**
   * The socket dropped: the server keeps our session (and our leaf) for reconnectGraceMs. Reopen the socket and
   * resume within that time; the DS replays the handshake messages we missed, so the MLS state catches up with
   * no new epoch. The server closed our transports when the socket dropped, so media restarts on `resumed`.
   */
  const reconnect = async (code: number): Promise<void> => {
    reconnecting = true;
    const graceMs = joinResult?.limits.reconnectGraceMs ?? 0;
    const deadline = Date.now() + graceMs;
    for (const h of connectionHandlers) h({ state: 'reconnecting', code });
    let attempt = 0;
    let last = `the connection to the server closed (${code})`;
    while (!ended && !leaving && Date.now() < deadline) {
      if (attempt++ > 0) await sleep(Math.min(RECONNECT_RETRY_MS, Math.max(0, deadline - Date.now())));
      const left = deadline - Date.now();
      if (left <= 0 || ended || leaving) break;
      try {
        const t = await connect(Math.max(250, left));
        joinResult = null;
        await member.resume(t);
        reconnecting = false;
        for (const h of connectionHandlers) h({ state: 'resumed', info: infoFrom(joinResult) });
        return;
      } catch (e) {
        last = e instanceof Error ? e.message : String(e);
        errors.push(`reconnect attempt ${attempt}: ${last}`);
        if ((e as { code?: string }).code === 'resume-failed') break; // the server already removed us
      }
    }
    reconnecting = false;
    if (!leaving) end(lost(`the connection to the server was lost and could not be resumed: ${last}`));
  };
  member.on('closed', ({ code }) => {
    if (!joined || ended || leaving || reconnecting) return;
    // Closed on purpose by the server (evicted, resumed elsewhere, shutting down): nothing to resume.
    if (code === CloseCode.evicted || code === CloseCode.resumedElsewhere || code === CloseCode.goingAway) {
      end(lost(`the server closed the connection (${code})`));
      return;
    }
    void reconnect(code);
  });

  const engine: GroupEngine = {
    async join(): Promise<JoinInfo> {
      await member.join();
      joined = true;
      await chain; // the first epoch's key is in the worker before media starts
      const info = infoFrom(joinResult);
      if (joinResult === null) {
        info.routerRtpCapabilities = (await member.signaling.request('getRouterRtpCapabilities', {})).routerRtpCapabilities;
      }
      return info;
    },
    onConnection: (h) => void connectionHandlers.push(h),
    onEpoch: (h) => void epochHandlers.push(h),
    onNotification: (type, handler) => {
      member.on('notification', (n) => {
        if (n.type === type) handler(n as never);
      });
    },
    onMembers: (handler) => member.on('members', handler),
    onEnded: (h) => void endHandlers.push(h),
    request: (type, body) => member.signaling.request(type, body),
    errors: () => [...errors],
    async leave() {
      leaving = true;
      ended = true;
      await member.leave();
    },
  };
  return engine;
}
