// TLS presentation language as RFC 9420 uses it (§2.1): fixed-width big-endian integers,
// variable-length vectors with the QUIC-style varint length prefix (§2.1.2), optional<T>
// (a presence byte), and structs/unions built from those by the caller.
//
// One behaviour everywhere: every decoding problem throws CodecError; a length prefix is
// checked against the bytes that remain before anything is allocated; `decode` rejects
// trailing bytes.

export type CodecErrorCode =
  | 'truncated' // fewer bytes than the structure needs
  | 'trailing' // bytes left over after the structure
  | 'varint-non-minimal' // §2.1.2: the shortest encoding MUST be used
  | 'varint-invalid' // §2.1.2: the 0b11 prefix is reserved
  | 'range' // a value does not fit its field
  | 'invalid-value'; // a code point or enum value the structure does not allow

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

/** Largest length a varint can carry: 2^30 - 1 (§2.1.2). */
export const MAX_VARINT = 0x3fffffff;

export class Reader {
  private offset: number;
  private readonly bytes: Uint8Array;
  private limit: number;
  constructor(bytes: Uint8Array, offset = 0, limit = bytes.length) {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('bytes must be a Uint8Array');
    // A subclass (Node's Buffer) may make slice() a view: read through a plain Uint8Array so
    // every decoded byte string is a copy the caller owns.
    this.bytes = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = offset;
    this.limit = limit;
  }

  /** The bytes read since position `start` (a view, not a copy: for keys and comparisons). */
  since(start: number): Uint8Array {
    return this.bytes.subarray(start, this.offset);
  }

  get position(): number {
    return this.offset;
  }
  get remaining(): number {
    return this.limit - this.offset;
  }

  private need(n: number, what: string): void {
    if (n > this.limit - this.offset) {
      throw new CodecError('truncated', `${what} needs ${n} bytes, ${this.limit - this.offset} left`);
    }
  }

  u8(what = 'uint8'): number {
    this.need(1, what);
    return this.bytes[this.offset++]!;
  }
  u16(what = 'uint16'): number {
    this.need(2, what);
    const b = this.bytes;
    const v = (b[this.offset]! << 8) | b[this.offset + 1]!;
    this.offset += 2;
    return v;
  }
  u32(what = 'uint32'): number {
    this.need(4, what);
    const b = this.bytes;
    const o = this.offset;
    const v = ((b[o]! << 24) >>> 0) + ((b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!);
    this.offset += 4;
    return v;
  }
  u64(what = 'uint64'): bigint {
    const hi = this.u32(what);
    const lo = this.u32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** Exactly n bytes (a copy, so the caller may keep or wipe it). */
  fixed(n: number, what = 'opaque'): Uint8Array {
    this.need(n, what);
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /** §2.1.2 variable-size length. */
  varint(what = 'length'): number {
    const first = this.u8(what);
    const prefix = first >> 6;
    if (prefix === 3) throw new CodecError('varint-invalid', `${what} uses the reserved 0b11 prefix`);
    let value = first & 0x3f;
    const extra = (1 << prefix) - 1;
    this.need(extra, what);
    for (let i = 0; i < extra; i++) value = value * 256 + this.bytes[this.offset++]!;
    const minimal = prefix === 0 || value >= [0, 64, 16384][prefix]!;
    if (!minimal) throw new CodecError('varint-non-minimal', `${what} ${value} is not minimally encoded`);
    return value;
  }

  /** opaque data<V>. */
  varBytes(what = 'opaque<V>'): Uint8Array {
    const n = this.varint(what);
    return this.fixed(n, what);
  }

  /**
   * T items<V>: a varint byte length, then items until exactly that many bytes are used. The
   * items are read by this same Reader with its limit narrowed to the vector's end (restored
   * afterwards), so an item can never read past the vector and no sub-reader is allocated.
   */
  varVector<T>(readItem: (r: Reader) => T, what = 'vector<V>'): T[] {
    const n = this.varint(what);
    this.need(n, what);
    const end = this.offset + n;
    const outer = this.limit;
    this.limit = end;
    const items: T[] = [];
    try {
      while (this.offset < end) items.push(readItem(this));
    } finally {
      this.limit = outer;
    }
    return items;
  }

  /** optional<T>: presence byte 0 or 1. */
  optional<T>(readItem: (r: Reader) => T, what = 'optional'): T | undefined {
    const present = this.u8(what);
    if (present === 0) return undefined;
    if (present !== 1) throw new CodecError('invalid-value', `${what} presence byte ${present}`);
    return readItem(this);
  }

  /** Throws unless every byte was consumed. */
  end(what = 'structure'): void {
    if (this.offset !== this.limit) {
      throw new CodecError('trailing', `${this.limit - this.offset} bytes after ${what}`);
    }
  }
}

export class Writer {
  private buf: Uint8Array;
  private len = 0;
  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    checkUint(v, 0xff, 'uint8');
    this.reserve(1);
    this.buf[this.len++] = v;
    return this;
  }
  u16(v: number): this {
    checkUint(v, 0xffff, 'uint16');
    this.reserve(2);
    this.buf[this.len++] = v >> 8;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u32(v: number): this {
    checkUint(v, 0xffffffff, 'uint32');
    this.reserve(4);
    this.buf[this.len++] = v >>> 24;
    this.buf[this.len++] = (v >>> 16) & 0xff;
    this.buf[this.len++] = (v >>> 8) & 0xff;
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u64(v: bigint): this {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
      throw new CodecError('range', `uint64 out of range: ${String(v)}`);
    }
    this.u32(Number(v >> 32n));
    this.u32(Number(v & 0xffffffffn));
    return this;
  }
  fixed(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
    return this;
  }
  varint(v: number): this {
    checkUint(v, MAX_VARINT, 'varint');
    if (v < 64) return this.u8(v);
    if (v < 16384) return this.u16(v | 0x4000);
    return this.u32((v | 0x80000000) >>> 0);
  }
  varBytes(bytes: Uint8Array): this {
    this.varint(bytes.length);
    return this.fixed(bytes);
  }
  /**
   * T items<V>: the items are written in place after a one-byte length placeholder; once their
   * size is known the body is moved right if the varint needs 2 or 4 bytes (no nested buffer).
   */
  varVector<T>(items: readonly T[], writeItem: (w: Writer, item: T) => void): this {
    const start = this.len;
    this.reserve(1);
    this.len++;
    for (const item of items) writeItem(this, item);
    const n = this.len - start - 1;
    checkUint(n, MAX_VARINT, 'varint');
    const prefix = n < 64 ? 1 : n < 16384 ? 2 : 4;
    if (prefix > 1) {
      this.reserve(prefix - 1);
      this.buf.copyWithin(start + prefix, start + 1, this.len);
      this.len += prefix - 1;
    }
    const b = this.buf;
    if (prefix === 1) b[start] = n;
    else if (prefix === 2) {
      b[start] = 0x40 | (n >> 8);
      b[start + 1] = n & 0xff;
    } else {
      b[start] = 0x80 | (n >>> 24);
      b[start + 1] = (n >>> 16) & 0xff;
      b[start + 2] = (n >>> 8) & 0xff;
      b[start + 3] = n & 0xff;
    }
    return this;
  }
  optional<T>(value: T | undefined, writeItem: (w: Writer, item: T) => void): this {
    if (value === undefined) return this.u8(0);
    this.u8(1);
    writeItem(this, value);
    return this;
  }
  /** The encoded bytes (a view trimmed to the written length). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** A copy of the encoded bytes (exact size; later writes do not change it). */
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Zeroes what was written (it may have held secrets) and starts over on the same buffer. */
  reset(): void {
    this.buf.fill(0, 0, this.len);
    this.len = 0;
  }

  /** Size of the underlying buffer. */
  get capacity(): number {
    return this.buf.length;
  }
}

function checkUint(v: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new CodecError('range', `${what} out of range: ${v}`);
}

/** Largest scratch buffer `encode` keeps between calls (a bigger one is dropped after use). */
export const ENCODE_SCRATCH_MAX = 64 * 1024;
let scratch: Writer | undefined = new Writer(1024);

/**
 * Encodes into a reused scratch Writer (a fresh one when called re-entrantly, i.e. from inside
 * another encode) and returns an exact-size copy; the scratch bytes are zeroed after every use,
 * so no secret that was encoded stays behind. Small structs are encoded by the thousand when a
 * ratchet tree is hashed or validated: this keeps them from allocating a buffer each.
 */
export function encode(write: (w: Writer) => void): Uint8Array {
  const w = scratch ?? new Writer();
  scratch = undefined;
  try {
    write(w);
    return w.toBytes();
  } finally {
    w.reset();
    if (w.capacity <= ENCODE_SCRATCH_MAX) scratch = w;
  }
}

/** Decodes a whole buffer; trailing bytes are a CodecError. */
export function decode<T>(bytes: Uint8Array, read: (r: Reader) => T, what = 'structure'): T {
  const r = new Reader(bytes);
  const value = read(r);
  r.end(what);
  return value;
}
