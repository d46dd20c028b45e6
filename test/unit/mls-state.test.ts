// serializeState / deserializeState: a state restores to an equal state that serializes to the same
// bytes, and every non-canonical encoding of the same values is rejected with MlsError
// 'non-canonical-state' (malformed input: 'bad-state'). Run: npx tsx --test test/unit/mls-state.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toHex, utf8 } from '../../shared/bytes/index.js';
import { encode, type Writer } from '../../shared/codec/index.js';
import * as mls from '../../shared/mls/index.js';

/**
 * The state format written independently of shared/mls (version 1; tags: 0 undefined, 1 null,
 * 2 false, 3 true, 4 float64, 5 bigint hex<V>, 6 string<V>, 7 bytes<V>, 8 array u32, 9 object u32),
 * with knobs that produce the same values in non-canonical forms.
 */
interface Knobs {
  bigint?: (v: bigint) => string;
  /** Reorders / repeats the keys of the object at this path (dot-joined keys). */
  keys?: { path: string; order: (keys: string[]) => string[] };
  nan?: Uint8Array;
}
function encodeState(value: unknown, k: Knobs = {}): Uint8Array {
  const write = (w: Writer, v: unknown, path: string): void => {
    if (v === undefined) w.u8(0);
    else if (v === null) w.u8(1);
    else if (v === false) w.u8(2);
    else if (v === true) w.u8(3);
    else if (typeof v === 'number') {
      w.u8(4);
      const b = new Uint8Array(8);
      new DataView(b.buffer).setFloat64(0, v);
      w.fixed(Number.isNaN(v) && k.nan ? k.nan : b);
    } else if (typeof v === 'bigint') w.u8(5).varBytes(utf8(k.bigint ? k.bigint(v) : v.toString(16)));
    else if (typeof v === 'string') w.u8(6).varBytes(utf8(v));
    else if (v instanceof Uint8Array) w.u8(7).varBytes(v);
    else if (Array.isArray(v)) {
      w.u8(8).u32(v.length);
      v.forEach((x, i) => write(w, x, `${path}.${i}`));
    } else {
      const o = v as Record<string, unknown>;
      let keys = Object.keys(o);
      if (k.keys && k.keys.path === path) keys = k.keys.order(keys);
      w.u8(9).u32(keys.length);
      for (const key of keys) {
        w.varBytes(utf8(key));
        write(w, o[key], path === '' ? key : `${path}.${key}`);
      }
    }
  };
  return encode((w) => {
    w.u8(1);
    write(w, value, '');
  });
}

function rejects(bytes: Uint8Array, code: string): void {
  assert.throws(() => mls.deserializeState(bytes), (e: unknown) => {
    assert.ok(e instanceof mls.MlsError, `expected MlsError, got ${String(e)}`);
    assert.equal((e as mls.MlsError).code, code, (e as Error).message);
    return true;
  });
}

async function aState(): Promise<mls.GroupState> {
  let alice = await mls.createGroup({ groupId: utf8('state'), identity: utf8('alice') });
  const j = await mls.joinExternal({ groupInfo: await mls.groupInfo(alice), identity: utf8('bob') });
  alice = (await mls.processMessage(alice, j.commit)).newState;
  // Epoch 1 by now; commits up to epoch 10 so an epoch needs a hex letter ("a").
  while (mls.epoch(alice) < 10n) alice = (await mls.createCommit(alice)).pendingState;
  return alice;
}

test('a state round-trips byte for byte; the independent encoder agrees with serializeState', async () => {
  const s = await aState();
  const bytes = mls.serializeState(s);
  assert.equal(toHex(encodeState(s)), toHex(bytes));
  const back = mls.deserializeState(bytes);
  assert.equal(toHex(mls.serializeState(back)), toHex(bytes));
  assert.equal(mls.epoch(back), 10n);
  assert.equal(toHex(mls.epochAuthenticator(back)), toHex(mls.epochAuthenticator(s)));
});

test('non-canonical encodings of the same state are rejected (non-canonical-state)', async () => {
  const s = await aState();
  // bigint forms: upper-case hex, leading zeros, "-0" for zero.
  rejects(encodeState(s, { bigint: (v) => (v === 10n ? '0a' : v.toString(16)) }), 'non-canonical-state');
  // "-0" (no zero bigint in this state: on a bare value, which is otherwise just not a state).
  rejects(encodeState({ epoch: 0n }), 'bad-state');
  rejects(encodeState({ epoch: 0n }, { bigint: () => '-0' }), 'non-canonical-state');
  rejects(encodeState(s, { bigint: (v) => v.toString(16).toUpperCase() }), 'non-canonical-state');
  // Integer-like keys out of ascending order: JavaScript enumerates them sorted, so they could not
  // re-encode as given. (Other keys keep the order they arrive in and re-encode identically: that
  // input restores a state that serializes to the same bytes, which is what the rule asks.)
  const reordered = encodeState(s, { keys: { path: '', order: (ks) => [...ks].reverse() } });
  assert.equal(toHex(mls.serializeState(mls.deserializeState(reordered))), toHex(reordered));
  // Ratchets for leaves 0 and 1 (as after messages from both): integer-like keys reversed.
  const ratchet = { generation: 0, secret: new Uint8Array(32), skipped: {} };
  const two = { ...s, secretTree: { ...s.secretTree, application: { 0: ratchet, 1: { ...ratchet } } } } as mls.GroupState;
  assert.doesNotThrow(() => mls.deserializeState(encodeState(two)));
  rejects(encodeState(two, { keys: { path: 'secretTree.application', order: (ks) => [...ks].reverse() } }), 'non-canonical-state');
  // A repeated key.
  rejects(encodeState(s, { keys: { path: 'groupContext', order: (ks) => [...ks, ks[0]!] } }), 'non-canonical-state');
  // A NaN with a payload other than the one serializeState writes.
  const withNaN = { ...s, ownLeaf: Number.NaN } as unknown as mls.GroupState;
  assert.doesNotThrow(() => mls.deserializeState(encodeState(withNaN)), 'canonical NaN decodes');
  rejects(encodeState(withNaN, { nan: Uint8Array.of(0x7f, 0xf8, 0, 0, 0, 0, 0, 1) }), 'non-canonical-state');
});

test('malformed state input is bad-state: truncated, trailing, unknown tag, wrong version, not a state', async () => {
  const bytes = mls.serializeState(await aState());
  rejects(bytes.subarray(0, bytes.length - 1), 'bad-state');
  rejects(Uint8Array.from([...bytes, 0]), 'bad-state');
  rejects(Uint8Array.of(1, 42), 'bad-state');
  rejects(Uint8Array.from([2, ...bytes.subarray(1)]), 'bad-state');
  rejects(encodeState({ suite: 1 }), 'bad-state');
  rejects(encodeState([1, 2, 3]), 'bad-state');
});
