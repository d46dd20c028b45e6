// createGroupEngine: the page's GroupEngine over shared/member (MLS group, commits, epochs) and shared/mls.
// Each epoch event becomes an EpochInfo carrying the SFrame base key, computed in event order:
//   base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)   (RFC 9605 §5.2; Nk = 16 for
//   AES_128_GCM_SHA256_128, the key bridge's default suite)

import { SFRAME_EXPORTER_LABEL } from '../../shared/keybridge/index.js';
import { Member, type EpochEvent, type MlsApi } from '../../shared/member/index.js';
import * as mls from '../../shared/mls/index.js';
import type { Results } from '../../shared/protocol/index.js';
import { openWebSocket, signalingUrl, tappedTransport } from '../session/signaling.js';
import type { EpochInfo, GroupEngine, JoinInfo } from './group.js';

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
  const ws = await openWebSocket(signalingUrl());
  let joinResult: Results['join'] | null = null;
  const transport = tappedTransport(ws, (text) => {
    if (joinResult !== null || !text.includes('"resumeToken"')) return;
    const m = JSON.parse(text) as { type?: string; result?: Results['join'] };
    if (m.type === 'response' && m.result && typeof m.result.memberId === 'string') joinResult = m.result;
  });
  const member = new Member({
    transport,
    room: o.room,
    name: o.name,
    ...(o.token ? { token: o.token } : {}),
    mls: mls as unknown as MlsApi,
  });

  const epochHandlers: ((e: EpochInfo) => void)[] = [];
  const endHandlers: ((e: Error | null) => void)[] = [];
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
  member.on('closed', ({ code }) => {
    if (joined) end(Object.assign(new Error(`the server closed the connection (${code})`), { name: 'ServerUnreachableError' }));
  });

  const engine: GroupEngine = {
    async join(): Promise<JoinInfo> {
      await member.join();
      joined = true;
      await chain; // the first epoch's key is in the worker before media starts
      const r = joinResult as Results['join'] | null;
      const memberId = member.memberId ?? r?.memberId ?? '';
      const routerRtpCapabilities =
        r?.routerRtpCapabilities ?? (await member.signaling.request('getRouterRtpCapabilities', {})).routerRtpCapabilities;
      return {
        memberId,
        routerRtpCapabilities,
        producers: r?.producers ?? [],
        members: member.members,
        heartbeatIntervalMs: r?.limits.heartbeatIntervalMs ?? 0,
      };
    },
    onEpoch: (h) => void epochHandlers.push(h),
    onNotification: (type, handler) => {
      member.on('notification', (n) => {
        if (n.type === type) handler(n as never);
      });
      if (type === 'members') member.on('members', (m) => handler({ members: m } as never));
    },
    onEnded: (h) => void endHandlers.push(h),
    request: (type, body) => member.signaling.request(type, body),
    errors: () => [...errors],
    async leave() {
      ended = true;
      await member.leave();
    },
  };
  return engine;
}
