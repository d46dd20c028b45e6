// serializeState / deserializeState: a GroupState is plain data (objects, arrays, Uint8Array,
// bigint, number, string, boolean, null/undefined), so one small tagged binary format covers it.
// The format is private to this library (version byte first); it holds secrets: store it like a key.
//
// Canonical form: every value has exactly one encoding (bigint as lower-case hex without leading
// zeros, object keys distinct and in the order JavaScript enumerates them, NaN as the one NaN
// serializeState writes), and deserializeState accepts nothing else: a restored state always
// serializes back to the very bytes it came from.
import { equal } from '../bytes/index.js';
import { decode, encode, type Reader, type Writer } from '../codec/index.js';
import { check, MlsError } from './errors.js';
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

function read(r: Reader, depth: number, decoded: Uint8Array[]): unknown {
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
    case T.num: {
      const b = r.fixed(8);
      const v = new DataView(b.buffer).getFloat64(0);
      // One NaN (the one serializeState writes): other payloads would depend on the engine.
      check(!Number.isNaN(v) || (b[0] === 0x7f && b[1] === 0xf8 && b.subarray(2).every((x) => x === 0)), 'non-canonical-state', 'NaN with a non-canonical payload');
      return v;
    }
    case T.big: {
      const s = new TextDecoder('utf-8', { fatal: true }).decode(r.varBytes());
      // bigint.toString(16): lower-case, no leading zeros, no "-0".
      check(/^-?(0|[1-9a-f][0-9a-f]*)$/.test(s) && s !== '-0', 'non-canonical-state', 'bigint is not in canonical hex form');
      const neg = s.startsWith('-');
      const v = BigInt('0x' + (neg ? s.slice(1) : s));
      return neg ? -v : v;
    }
    case T.str:
      return new TextDecoder('utf-8', { fatal: true }).decode(r.varBytes());
    case T.bytes: {
      const b = r.varBytes();
      decoded.push(b);
      return b;
    }
    case T.arr: {
      const n = r.u32();
      check(n <= r.remaining, 'bad-state', 'array length exceeds input');
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(read(r, depth + 1, decoded));
      return out;
    }
    case T.obj: {
      const n = r.u32();
      check(n <= r.remaining, 'bad-state', 'object size exceeds input');
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = new TextDecoder('utf-8', { fatal: true }).decode(r.varBytes());
        check(k !== '__proto__' && k !== 'constructor' && k !== 'prototype', 'bad-state', 'forbidden key');
        check(!Object.hasOwn(out, k), 'non-canonical-state', 'object repeats a key');
        out[k] = read(r, depth + 1, decoded);
      }
      // Key order (integer-like keys enumerate first, ascending) is checked by re-encoding.
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

/**
 * Restores a state written by serializeGroupState. Throws MlsError: 'bad-state' for input that is
 * not a state, 'non-canonical-state' for a state with any encoding serializeGroupState would not
 * write (checked by re-encoding: the result must be byte-identical to the input). On failure the
 * secret bytes decoded so far are wiped.
 */
export function deserializeGroupState(bytes: Uint8Array): GroupState {
  const decoded: Uint8Array[] = []; // every byte string read, wiped if the input is rejected
  let again: Uint8Array | undefined;
  try {
    const s = decode(bytes, (r) => {
      const v = r.u8('version');
      check(v === FORMAT_VERSION, 'bad-state', `state format ${v} is not ${FORMAT_VERSION}`);
      return read(r, 0, decoded) as GroupState;
    });
    check(s !== null && typeof s === 'object' && typeof s.suite === 'number' && s.groupContext && s.tree, 'bad-state', 'not a GroupState');
    // The catch-all canonical rule: re-encode and compare (covers key order, NaN payloads and
    // anything the reader's own checks do not name).
    again = serializeGroupState(s);
    if (!equal(again, bytes)) throw new MlsError('non-canonical-state', 'state does not re-encode to the same bytes (key order, NaN or another non-canonical form)');
    return s;
  } catch (e) {
    for (const b of decoded) b.fill(0);
    throw e;
  } finally {
    again?.fill(0);
  }
}
