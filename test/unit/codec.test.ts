import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, Reader, Writer, decode, encode } from '../../shared/codec/index.js';
import { fromHex, toHex } from '../../shared/bytes/index.js';

test('varint: RFC 9420 §2.1.2 examples round-trip', () => {
  const cases: [number, string][] = [
    [0, '00'], [37, '25'], [63, '3f'], [64, '4040'], [15293, '7bbd'], [16383, '7fff'],
    [16384, '80004000'], [494878333, '9d7f3e7d'], [0x3fffffff, 'bfffffff'],
  ];
  for (const [value, hex] of cases) {
    assert.equal(toHex(encode((w) => w.varint(value))), hex);
    assert.equal(decode(fromHex(hex), (r) => r.varint()), value);
  }
});

test('varint: non-minimal and reserved prefixes are rejected', () => {
  for (const hex of ['4025', '80000025', '80003fff']) {
    assert.throws(() => decode(fromHex(hex), (r) => r.varint()), (e: unknown) => e instanceof CodecError && e.code === 'varint-non-minimal');
  }
  assert.throws(() => decode(fromHex('c000000000000000'), (r) => r.varint()), (e: unknown) => e instanceof CodecError && e.code === 'varint-invalid');
  assert.throws(() => encode((w) => w.varint(0x40000000)), CodecError);
});

test('truncated and trailing input give CodecError', () => {
  assert.throws(() => decode(fromHex('0502'), (r) => r.varBytes()), (e: unknown) => e instanceof CodecError && e.code === 'truncated');
  assert.throws(() => decode(fromHex('0102ff'), (r) => r.varBytes()), (e: unknown) => e instanceof CodecError && e.code === 'trailing');
  assert.throws(() => decode(fromHex('00'), (r) => r.u16()), (e: unknown) => e instanceof CodecError && e.code === 'truncated');
  // a length claiming 1 GiB over 4 bytes of input must fail before allocating
  assert.throws(() => decode(fromHex('bfffffff00'), (r) => r.varBytes()), (e: unknown) => e instanceof CodecError && e.code === 'truncated');
});

test('fixed-width integers, optional and vectors round-trip', () => {
  const bytes = encode((w) =>
    w.u8(7).u16(0xbeef).u32(0xdeadbeef).u64(0x0102030405060708n)
      .optional(5, (w2, v) => w2.u8(v)).optional(undefined, (w2, v: number) => w2.u8(v))
      .varVector([1, 2, 3], (w2, v) => w2.u16(v)),
  );
  const r = new Reader(bytes);
  assert.equal(r.u8(), 7);
  assert.equal(r.u16(), 0xbeef);
  assert.equal(r.u32(), 0xdeadbeef);
  assert.equal(r.u64(), 0x0102030405060708n);
  assert.equal(r.optional((x) => x.u8()), 5);
  assert.equal(r.optional((x) => x.u8()), undefined);
  assert.deepEqual(r.varVector((x) => x.u16()), [1, 2, 3]);
  r.end();
  assert.throws(() => decode(fromHex('02'), (x) => x.optional((y) => y.u8())), (e: unknown) => e instanceof CodecError && e.code === 'invalid-value');
  // an item that runs past its vector's length is truncated, not read from outside
  assert.throws(() => decode(fromHex('0100ff'), (x) => x.varVector((y) => y.u16())), (e: unknown) => e instanceof CodecError && e.code === 'truncated');
});

test('writer range checks', () => {
  assert.throws(() => new Writer().u8(256), CodecError);
  assert.throws(() => new Writer().u16(-1), CodecError);
  assert.throws(() => new Writer().u64(1n << 64n), CodecError);
});
