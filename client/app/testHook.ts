// window.__e2ee: a small read-only view of the page for the e2e tests (and for curious humans in devtools).
// It exposes status only: epoch, security code, roster, per-stream counters, video sizes. Never keys.

import type { Call, CallTestStatus } from './call.js';

export interface HookSource {
  phase: string;
  api: string | null;
  supportReason: string;
  error: { code: string; title: string; detail: string } | null;
  call: Call | null;
}

export interface E2eeTestHook {
  readonly phase: string;
  readonly api: string | null;
  readonly supportReason: string;
  readonly error: { code: string; title: string; detail: string } | null;
  /** A fresh snapshot (plain JSON) of the call, or null when not in a call. */
  status(): CallTestStatus | null;
  /** Test control: ask the SFU for a spatial layer of a member's video (simulcast). */
  setPreferredLayers(memberId: string, spatialLayer: number, temporalLayer?: number): Promise<void>;
  /** ICE candidates and pair states of the send transport (diagnostics). */
  iceDiagnostics(): Promise<string[]>;
}

export function installTestHook(source: () => HookSource): void {
  const hook: E2eeTestHook = {
    get phase() {
      return source().phase;
    },
    get api() {
      return source().api;
    },
    get supportReason() {
      return source().supportReason;
    },
    get error() {
      const e = source().error;
      return e ? { ...e } : null;
    },
    status: () => source().call?.status() ?? null,
    iceDiagnostics: async () => (await source().call?.iceDiagnostics()) ?? [],
    setPreferredLayers: async (memberId, spatialLayer, temporalLayer) => {
      const call = source().call;
      if (!call) throw new Error('not in a call');
      await call.setPreferredLayers(memberId, spatialLayer, temporalLayer);
    },
  };
  Object.defineProperty(window, '__e2ee', { value: Object.freeze(hook), writable: false, configurable: false });
}
