// Validation of every incoming signaling message before anything uses it: shape, types, sizes.
// parseClientMessage never throws: it returns the typed message or the error to send back
// (with the request id when one could be read, so the client can match it).

import { ErrorCode, FieldLimits, PROTOCOL_VERSION } from './constants.js';
import type { ClientMessage, Json, JsonObject, RequestType, ServerMessage } from './messages.js';
import { REQUEST_TYPES } from './messages.js';

export type ParseResult<T> =
  | { ok: true; message: T }
  | { ok: false; id: number | null; code: ErrorCode; error: string };

export interface ValidateOptions {
  /** Largest decoded MLS message (bytes) accepted in a base64 field. */
  maxMlsBytes: number;
}

/** A field failed validation; `field` names it. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly field: string,
    rule: string,
    readonly code: ErrorCode = ErrorCode.badRequest,
  ) {
    super(`${field} ${rule}`);
  }
}

const REQUEST_SET: ReadonlySet<string> = new Set(REQUEST_TYPES);
const ROOM_RE = /^[A-Za-z0-9._-]+$/;
const ID_RE = /^[A-Za-z0-9._:-]+$/;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;
const EPOCH_RE = /^(0|[1-9][0-9]{0,19})$/;
const MAX_U64 = (1n << 64n) - 1n;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(o: Record<string, unknown>, field: string, max: number, re?: RegExp): string {
  const v = o[field];
  if (typeof v !== 'string') throw new ValidationError(field, `must be a string, got ${typeName(v)}`);
  if (v.length === 0) throw new ValidationError(field, 'must not be empty');
  if (v.length > max) throw new ValidationError(field, `must be at most ${max} characters, got ${v.length}`);
  if (re && !re.test(v)) throw new ValidationError(field, 'has characters that are not allowed');
  return v;
}

function optStr(o: Record<string, unknown>, field: string, max: number, re?: RegExp): string | undefined {
  return o[field] === undefined ? undefined : str(o, field, max, re);
}

export function int(o: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = o[field];
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValidationError(field, `must be an integer, got ${typeName(v)}`);
  if (v < min || v > max) throw new ValidationError(field, `must be in [${min}, ${max}], got ${v}`);
  return v;
}

function optInt(o: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  return o[field] === undefined ? undefined : int(o, field, min, max);
}

function bool(o: Record<string, unknown>, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ValidationError(field, `must be a boolean, got ${typeName(v)}`);
  return v;
}

/** A base64 field holding at most maxBytes decoded bytes (and at least 1). */
export function b64(o: Record<string, unknown>, field: string, maxBytes: number): string {
  const v = o[field];
  if (typeof v !== 'string') throw new ValidationError(field, `must be a base64 string, got ${typeName(v)}`);
  if (v.length === 0) throw new ValidationError(field, 'must not be empty');
  if (v.length > Math.ceil(maxBytes / 3) * 4) throw new ValidationError(field, `must decode to at most ${maxBytes} bytes`, ErrorCode.tooLarge);
  if (v.length % 4 !== 0 || !B64_RE.test(v)) throw new ValidationError(field, 'must be standard padded base64');
  return v;
}

export function epochText(v: unknown, field: string): string {
  if (typeof v !== 'string' || !EPOCH_RE.test(v) || BigInt(v) > MAX_U64) {
    throw new ValidationError(field, 'must be a decimal uint64 string');
  }
  return v;
}

/** Opaque JSON object (mediasoup parameters): plain objects/arrays/scalars, bounded depth. */
export function jsonObject(o: Record<string, unknown>, field: string, optional = false): JsonObject | undefined {
  const v = o[field];
  if (v === undefined && optional) return undefined;
  if (!isPlainObject(v)) throw new ValidationError(field, `must be an object, got ${typeName(v)}`);
  checkJson(v, field, 0);
  return v as JsonObject;
}

function checkJson(v: unknown, field: string, depth: number): void {
  if (depth > FieldLimits.jsonDepth) throw new ValidationError(field, `nests deeper than ${FieldLimits.jsonDepth}`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ValidationError(field, 'contains a non-finite number');
    return;
  }
  if (Array.isArray(v)) {
    for (const item of v) checkJson(item, field, depth + 1);
    return;
  }
  if (isPlainObject(v)) {
    for (const key of Object.keys(v)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        throw new ValidationError(field, `contains the forbidden key ${key}`);
      }
      checkJson(v[key], field, depth + 1);
    }
    return;
  }
  throw new ValidationError(field, `contains a ${typeof v}`);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

function leafList(o: Record<string, unknown>, field: string): number[] | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new ValidationError(field, `must be an array, got ${typeName(v)}`);
  if (v.length > FieldLimits.maxRemoved) throw new ValidationError(field, `must have at most ${FieldLimits.maxRemoved} items`);
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const item: unknown = v[i];
    if (typeof item !== 'number' || !Number.isInteger(item) || item < 0 || item > FieldLimits.maxLeafIndex) {
      throw new ValidationError(`${field}[${i}]`, `must be an integer in [0, ${FieldLimits.maxLeafIndex}]`);
    }
    out.push(item);
  }
  return out;
}

/** Checks the fields of one request type; returns the typed message (unknown extra fields are dropped). */
function validateRequest(type: RequestType, o: Record<string, unknown>, id: number, opts: ValidateOptions): ClientMessage {
  const base = { v: PROTOCOL_VERSION, id };
  const m = opts.maxMlsBytes;
  const oid = (f: string) => str(o, f, FieldLimits.objectId, ID_RE);
  switch (type) {
    case 'join': {
      let resume: { memberId: string; resumeToken: string; lastSeq: number } | undefined;
      if (o.resume !== undefined) {
        if (!isPlainObject(o.resume)) throw new ValidationError('resume', 'must be an object');
        const r = o.resume;
        resume = {
          memberId: str(r, 'memberId', FieldLimits.objectId, ID_RE),
          resumeToken: str(r, 'resumeToken', FieldLimits.objectId, ID_RE),
          lastSeq: int(r, 'lastSeq', 0, Number.MAX_SAFE_INTEGER),
        };
      }
      const name = str(o, 'name', FieldLimits.displayName);
      if (CONTROL_RE.test(name)) throw new ValidationError('name', 'must not contain control characters');
      const token = optStr(o, 'token', FieldLimits.token);
      return {
        ...base, type, room: str(o, 'room', FieldLimits.roomName, ROOM_RE), name,
        ...(token !== undefined ? { token } : {}), ...(resume ? { resume } : {}),
      };
    }
    case 'leave':
    case 'getGroupInfo':
    case 'ping':
    case 'getRouterRtpCapabilities':
      return { ...base, type } as ClientMessage;
    case 'createGroup':
      return { ...base, type, groupInfo: b64(o, 'groupInfo', m), leafIndex: int(o, 'leafIndex', 0, FieldLimits.maxLeafIndex) };
    case 'commit': {
      const removed = leafList(o, 'removed');
      const welcome = o.welcome === undefined ? undefined : b64(o, 'welcome', m);
      return {
        ...base, type, commit: b64(o, 'commit', m), groupInfo: b64(o, 'groupInfo', m),
        leafIndex: int(o, 'leafIndex', 0, FieldLimits.maxLeafIndex),
        ...(removed ? { removed } : {}), ...(welcome !== undefined ? { welcome } : {}),
      };
    }
    case 'proposal':
      return { ...base, type, message: b64(o, 'message', m) };
    case 'rejectCommit': {
      const reason = str(o, 'reason', FieldLimits.reason);
      return { ...base, type, seq: int(o, 'seq', 1, Number.MAX_SAFE_INTEGER), reason };
    }
    case 'createWebRtcTransport': {
      const d = o.direction;
      if (d !== 'send' && d !== 'recv') throw new ValidationError('direction', "must be 'send' or 'recv'");
      return { ...base, type, direction: d };
    }
    case 'connectTransport':
      return { ...base, type, transportId: oid('transportId'), dtlsParameters: jsonObject(o, 'dtlsParameters')! };
    case 'produce': {
      const k = o.kind;
      if (k !== 'audio' && k !== 'video') throw new ValidationError('kind', "must be 'audio' or 'video'");
      const appData = jsonObject(o, 'appData', true);
      return {
        ...base, type, transportId: oid('transportId'), kind: k, rtpParameters: jsonObject(o, 'rtpParameters')!,
        ...(appData ? { appData } : {}),
      };
    }
    case 'consume':
      return { ...base, type, transportId: oid('transportId'), producerId: oid('producerId'), rtpCapabilities: jsonObject(o, 'rtpCapabilities')! };
    case 'resumeConsumer':
    case 'pauseConsumer':
    case 'requestKeyFrame':
      return { ...base, type, consumerId: oid('consumerId') };
    case 'setPreferredLayers': {
      const temporalLayer = optInt(o, 'temporalLayer', 0, 15);
      return {
        ...base, type, consumerId: oid('consumerId'), spatialLayer: int(o, 'spatialLayer', 0, 15),
        ...(temporalLayer !== undefined ? { temporalLayer } : {}),
      };
    }
    case 'closeProducer':
    case 'pauseProducer':
    case 'resumeProducer':
      return { ...base, type, producerId: oid('producerId') };
    case 'closeTransport':
      return { ...base, type, transportId: oid('transportId') };
    case 'createPlainTransport': {
      const comedia = bool(o, 'comedia');
      const rtcpMux = bool(o, 'rtcpMux');
      return { ...base, type, ...(comedia !== undefined ? { comedia } : {}), ...(rtcpMux !== undefined ? { rtcpMux } : {}) };
    }
    case 'connectPlainTransport': {
      const rtcpPort = optInt(o, 'rtcpPort', 1, 65535);
      return {
        ...base, type, transportId: oid('transportId'), ip: str(o, 'ip', 45, /^[0-9a-fA-F.:]+$/),
        port: int(o, 'port', 1, 65535), ...(rtcpPort !== undefined ? { rtcpPort } : {}),
      };
    }
  }
}

/** Parses and validates one text frame from a client. Never throws. */
export function parseClientMessage(text: string, opts: ValidateOptions): ParseResult<ClientMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, id: null, code: ErrorCode.badRequest, error: 'message is not valid JSON' };
  }
  if (!isPlainObject(raw)) return { ok: false, id: null, code: ErrorCode.badRequest, error: 'message must be a JSON object' };
  const idValue = raw.id;
  const id = typeof idValue === 'number' && Number.isInteger(idValue) && idValue >= 0 && idValue <= FieldLimits.maxId ? idValue : null;
  if (raw.v !== PROTOCOL_VERSION) {
    return { ok: false, id, code: ErrorCode.unsupportedVersion, error: `v must be ${PROTOCOL_VERSION}` };
  }
  if (id === null) return { ok: false, id: null, code: ErrorCode.badRequest, error: `id must be an integer in [0, ${FieldLimits.maxId}]` };
  if (typeof raw.type !== 'string') return { ok: false, id, code: ErrorCode.badRequest, error: 'type must be a string' };
  if (!REQUEST_SET.has(raw.type)) return { ok: false, id, code: ErrorCode.unknownType, error: 'type is not a known request' };
  try {
    return { ok: true, message: validateRequest(raw.type as RequestType, raw, id, opts) };
  } catch (e) {
    if (e instanceof ValidationError) return { ok: false, id, code: e.code, error: e.message };
    return { ok: false, id, code: ErrorCode.badRequest, error: 'message failed validation' };
  }
}

const NOTIFICATION_FIELDS: Record<string, readonly string[]> = {
  handshake: ['seq', 'epoch', 'kind', 'from', 'message'],
  welcome: ['seq', 'welcome'],
  rollback: ['seq', 'epoch', 'groupInfo', 'lastSeq'],
  removed: ['reason'],
  members: ['changed', 'left'],
  newProducer: ['producerId', 'memberId', 'kind'],
  producerClosed: ['producerId'],
  consumerClosed: ['consumerId'],
  consumerPaused: ['consumerId'],
  consumerResumed: ['consumerId'],
};

function isMemberList(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.every(
      (m) =>
        isPlainObject(m) &&
        typeof m.memberId === 'string' &&
        typeof m.name === 'string' &&
        (m.leafIndex === null || (typeof m.leafIndex === 'number' && Number.isInteger(m.leafIndex) && m.leafIndex >= 0)),
    )
  );
}

/**
 * Client side: parse a server frame. Checks the envelope and that a notification carries its
 * fields (the server is trusted for shape; MLS content is verified by MLS itself).
 */
export function parseServerMessage(text: string): ServerMessage | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isPlainObject(raw) || raw.v !== PROTOCOL_VERSION || typeof raw.type !== 'string') return undefined;
  if (raw.type === 'response') {
    if (typeof raw.id !== 'number' || !isPlainObject(raw.result)) return undefined;
  } else if (raw.type === 'error') {
    if (typeof raw.code !== 'string' || typeof raw.message !== 'string') return undefined;
    if (raw.id !== null && typeof raw.id !== 'number') return undefined;
  } else {
    const fields = NOTIFICATION_FIELDS[raw.type];
    if (!fields) return undefined;
    for (const f of fields) if (raw[f] === undefined) return undefined;
    // A member-list change is applied to state the client keeps: its entries must have the right shape.
    if (raw.type === 'members' && !(isMemberList(raw.changed) && Array.isArray(raw.left) && raw.left.every((x) => typeof x === 'string'))) return undefined;
  }
  return raw as unknown as ServerMessage;
}

export type { Json };
