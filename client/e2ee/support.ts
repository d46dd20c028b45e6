// Feature detection for WebRTC encoded transforms (fail closed: no transform API, no join).

export type TransformApi = 'script-transform' | 'encoded-streams';

export interface TransformSupport {
  /** The API the page will use, or null when none works (the page must not join). */
  api: TransformApi | null;
  scriptTransform: boolean;
  encodedStreams: boolean;
  reason: string;
}

export function detectTransformSupport(g: typeof globalThis = globalThis): TransformSupport {
  const w = g as unknown as Record<string, unknown>;
  const scriptTransform = typeof w['RTCRtpScriptTransform'] === 'function' && typeof w['Worker'] === 'function';
  const sender = w['RTCRtpSender'] as { prototype?: Record<string, unknown> } | undefined;
  const encodedStreams =
    typeof sender?.prototype?.['createEncodedStreams'] === 'function' &&
    typeof w['TransformStream'] === 'function' &&
    typeof w['Worker'] === 'function';
  const forced = readForcedApi(g);
  let api: TransformApi | null = null;
  if (forced === 'encoded-streams' && encodedStreams) api = 'encoded-streams';
  else if (forced === 'script-transform' && scriptTransform) api = 'script-transform';
  else if (scriptTransform) api = 'script-transform';
  else if (encodedStreams) api = 'encoded-streams';
  const reason = api
    ? `using ${api === 'script-transform' ? 'RTCRtpScriptTransform' : 'createEncodedStreams'}`
    : 'This browser cannot run WebRTC encoded transforms (neither RTCRtpScriptTransform nor ' +
      'RTCRtpSender.createEncodedStreams is available), so it cannot encrypt media end to end. ' +
      'Joining is blocked: use a current Chrome, Edge, Firefox or Safari.';
  return { api, scriptTransform, encodedStreams, reason };
}

/** `?transform=encoded-streams` or `?transform=script-transform` picks an API when both exist (tests). */
function readForcedApi(g: typeof globalThis): string | null {
  try {
    const loc = (g as unknown as { location?: { search?: string } }).location;
    return new URLSearchParams(loc?.search ?? '').get('transform');
  } catch {
    return null;
  }
}
