// serializeState / deserializeState: a GroupState is plain data (objects, arrays, Uint8Array,
// bigint, number, string, boolean, null/undefined), so one small tagged binary format covers it.
// The format is private to this library (version byte first); it holds secrets: store it like a key.
import { decode, encode, type Reader, type Writer } from '../codec/index.js';
import { check } from './errors.js';
import type { GroupState } from './state.js';

const FORMAT_VERSION = 1;
const T = { undef: 0, nul: 1, f: 2, t: 3, num: 4, big: 5, str: 6, bytes: 7, arr: 8, obj: 9 } as const;
const MAX_DEPTH = 64;

function write(w: Writer, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new RangeError('state nests too deeply');
  if (v === undefined) w.u8(T.undef);
  else if (v === null) w.u8(T.nul);
  else if (v === false) w.u8(T.f);
  else if (v === true) w.u8(T.t);
  else if (typeof v === 'number') {
    w.u8(T.num);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v);
    w.fixed(b);
  } else if (typeof v === 'bigint') {
    w.u8(T.big);
    w.varBytes(new TextEncoder().encode(v.toString(16)));
  } else if (typeof v === 'string') {
    w.u8(T.str);
    w.varBytes(new TextEncoder().encode(v));
  } else if (v instanceof Uint8Array) {
    w.u8(T.bytes);
    w.varBytes(v);
  } else if (Array.isArray(v)) {
    w.u8(T.arr);
    w.u32(v.length);
    for (const x of v) write(w, x, depth + 1);
  } else if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    w.u8(T.obj);
    w.u32(entries.length);
    for (const [k, x] of entries) {
      w.varBytes(new TextEncoder().encode(k));
      write(w, x, depth + 1);
    }
  } else throw new TypeError(`cannot serialize ${typeof v}`);
}

function read(r: Reader, depth: number): unknown {
  check(depth <= MAX_DEPTH, 'bad-state', 'state nests too deeply');
  const t = r.u8('tag');
  switch (t) {
    case T.undef:
      return undefined;
    case T.nul:
      return null;
    case T.f:
      return false;
    case T.t:
      return true;
    case T.num:
      return new DataView(r.fixed(8).buffer).getFloat64(0);
    case T.big: {
      const s = new TextDecoder().decode(r.varBytes());
      const neg = s.startsWith('-');
      const v = BigInt('0x' + (neg ? s.slice(1) : s));
      return neg ? -v : v;
    }
    case T.str:
      return new TextDecoder('utf-8', { fatal: true }).decode(r.varBytes());
    case T.bytes:
      return r.varBytes();
    case T.arr: {
      const n = r.u32();
      check(n <= r.remaining, 'bad-state', 'array length exceeds input');
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(read(r, depth + 1));
      return out;
    }
    case T.obj: {
      const n = r.u32();
      check(n <= r.remaining, 'bad-state', 'object size exceeds input');
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = new TextDecoder('utf-8', { fatal: true }).decode(r.varBytes());
        check(k !== '__proto__' && k !== 'constructor' && k !== 'prototype', 'bad-state', 'forbidden key');
        out[k] = read(r, depth + 1);
      }
      return out;
    }
    default:
      check(false, 'bad-state', `unknown tag ${t}`);
  }
}

export function serializeGroupState(state: GroupState): Uint8Array {
  return encode((w) => {
    w.u8(FORMAT_VERSION);
    write(w, state, 0);
  }).slice();
}

export function deserializeGroupState(bytes: Uint8Array): GroupState {
  return decode(bytes, (r) => {
    const v = r.u8('version');
    check(v === FORMAT_VERSION, 'bad-state', `state format ${v} is not ${FORMAT_VERSION}`);
    const s = read(r, 0) as GroupState;
    check(s !== null && typeof s === 'object' && typeof s.suite === 'number' && s.groupContext && s.tree, 'bad-state', 'not a GroupState');
    return s;
  });
}
