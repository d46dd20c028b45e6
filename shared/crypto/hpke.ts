// HPKE (RFC 9180) over a backend's primitives: DHKEM (§4.1), key schedule (§5.1), encryption
// context (§5.2), secret export (§5.3), single-shot APIs (§6), DeriveKeyPair (§7.1.3).
// One implementation shared by every backend; the backend supplies DH, HKDF and the AEAD.

import { assertBytes, assertInt, concat, wipe } from '../bytes/index.js';
import { PrivateKeyCache } from './cache.js';
import { CURVE_ORDER, type DhGroup, type SuitePrimitives, type SuiteParams } from './primitives.js';
import { CryptoError, type Hpke, type HpkeContext, type HpkeSetupOptions, type KeyPair } from './types.js';

const ENC = new TextEncoder();
const HPKE_V1 = ENC.encode('HPKE-v1');
const EMPTY = new Uint8Array(0);

/** RFC 9180 §5.1 mode identifiers. */
const MODE = { base: 0x00, psk: 0x01, auth: 0x02, auth_psk: 0x03 } as const;

function i2osp(value: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0 && v > 0; i--) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

const LABEL_CACHE = new Map<string, Uint8Array>();
function label(text: string): Uint8Array {
  let l = LABEL_CACHE.get(text);
  if (l === undefined) {
    l = ENC.encode(text);
    LABEL_CACHE.set(text, l);
  }
  return l;
}

/** Labeled HKDF for one suite_id (RFC 9180 §4). */
class LabeledKdf {
  constructor(private readonly prim: SuitePrimitives, private readonly suiteId: Uint8Array) {}

  /** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
  async extract(salt: Uint8Array, lbl: string, ikm: Uint8Array): Promise<Uint8Array> {
    const labeledIkm = concat(HPKE_V1, this.suiteId, label(lbl), ikm);
    try {
      return await this.prim.kdf.extract(salt, labeledIkm);
    } finally {
      wipe(labeledIkm);
    }
  }

  /** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L). */
  expand(prk: Uint8Array, lbl: string, info: Uint8Array, length: number): Promise<Uint8Array> {
    return this.prim.kdf.expand(prk, concat(i2osp(length, 2), HPKE_V1, this.suiteId, label(lbl), info), length);
  }
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

/** DHKEM(Group, KDF) (RFC 9180 §4.1). */
class DhKem {
  readonly kemId: number;
  readonly Nsecret: number;
  private readonly lkdf: LabeledKdf;
  private readonly dhGroup: DhGroup;

  constructor(prim: SuitePrimitives, kemId: number) {
    this.kemId = kemId;
    this.dhGroup = prim.dh;
    this.Nsecret = prim.kdf.Nh;
    // suite_id = concat("KEM", I2OSP(kem_id, 2))
    this.lkdf = new LabeledKdf(prim, concat(ENC.encode('KEM'), i2osp(kemId, 2)));
  }

  get group(): DhGroup {
    return this.dhGroup;
  }

  checkPublicKey(publicKey: unknown, name: string): asserts publicKey is Uint8Array {
    assertBytes(publicKey, name, this.dhGroup.Npk);
    if (this.dhGroup.name.startsWith('P-') && publicKey[0] !== 0x04) {
      throw new CryptoError('invalid-public-key', `${name} must be an uncompressed point (0x04 prefix)`);
    }
  }

  checkPrivateKey(privateKey: unknown, name: string): asserts privateKey is Uint8Array {
    assertBytes(privateKey, name, this.dhGroup.Nsk);
    const curve = this.dhGroup.name;
    if (curve === 'P-256' || curve === 'P-384' || curve === 'P-521') {
      let v = 0n;
      for (const b of privateKey) v = (v << 8n) | BigInt(b);
      if (v === 0n || v >= CURVE_ORDER[curve]) {
        throw new CryptoError('invalid-private-key', `${name} must be a scalar in [1, n-1]`);
      }
    }
  }

  /** DH with the RFC 9180 §7.1.4 all-zero check (X25519/X448 small-order points). */
  async dh(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    let out: Uint8Array;
    try {
      out = await this.dhGroup.dh(privateKey, publicKey);
    } catch (cause) {
      if (cause instanceof CryptoError) throw cause;
      throw new CryptoError('dh-failed', 'Diffie-Hellman failed (invalid public key?)', { cause });
    }
    if (isAllZero(out)) throw new CryptoError('dh-failed', 'Diffie-Hellman output is all zero (RFC 9180 §7.1.4)');
    return out;
  }

  /** DeriveKeyPair(ikm) (RFC 9180 §7.1.3). */
  async deriveKeyPair(ikm: Uint8Array): Promise<KeyPair> {
    const { name, Nsk } = this.dhGroup;
    const dkpPrk = await this.lkdf.extract(EMPTY, 'dkp_prk', ikm);
    try {
      let sk: Uint8Array | undefined;
      if (name === 'X25519' || name === 'X448') {
        sk = await this.lkdf.expand(dkpPrk, 'sk', EMPTY, Nsk);
      } else {
        // Rejection sampling: bitmask 0xff for P-256/P-384, 0x01 for P-521.
        const bitmask = name === 'P-521' ? 0x01 : 0xff;
        const order = CURVE_ORDER[name];
        for (let counter = 0; counter < 256 && sk === undefined; counter++) {
          const bytes = await this.lkdf.expand(dkpPrk, 'candidate', i2osp(counter, 1), Nsk);
          bytes[0]! &= bitmask;
          let v = 0n;
          for (const b of bytes) v = (v << 8n) | BigInt(b);
          if (v !== 0n && v < order) sk = bytes;
          else wipe(bytes);
        }
        if (sk === undefined) throw new CryptoError('derive-key-pair-failed', 'no valid scalar after 256 candidates');
      }
      const pk = await this.dhGroup.publicKeyFromPrivate(sk);
      return { privateKey: sk, publicKey: pk };
    } finally {
      wipe(dkpPrk);
    }
  }

  /** ExtractAndExpand(dh, kem_context). */
  private async extractAndExpand(dh: Uint8Array, kemContext: Uint8Array): Promise<Uint8Array> {
    const eaePrk = await this.lkdf.extract(EMPTY, 'eae_prk', dh);
    try {
      return await this.lkdf.expand(eaePrk, 'shared_secret', kemContext, this.Nsecret);
    } finally {
      wipe(eaePrk);
    }
  }

  /** Encap / AuthEncap (RFC 9180 §4.1). */
  async encap(pkR: Uint8Array, skS?: Uint8Array, pkS?: Uint8Array, ikmE?: Uint8Array): Promise<{ sharedSecret: Uint8Array; enc: Uint8Array }> {
    let enc: Uint8Array;
    let dh: Uint8Array;
    if (ikmE === undefined && this.dhGroup.ephemeralDh !== undefined) {
      let r: { publicKey: Uint8Array; dh: Uint8Array };
      try {
        r = await this.dhGroup.ephemeralDh(pkR);
      } catch (cause) {
        if (cause instanceof CryptoError) throw cause;
        throw new CryptoError('dh-failed', 'Diffie-Hellman failed (invalid public key?)', { cause });
      }
      if (isAllZero(r.dh)) throw new CryptoError('dh-failed', 'Diffie-Hellman output is all zero (RFC 9180 §7.1.4)');
      enc = r.publicKey;
      dh = r.dh;
    } else {
      const eph = ikmE !== undefined ? await this.deriveKeyPair(ikmE) : await this.dhGroup.generateKeyPair();
      try {
        dh = await this.dh(eph.privateKey, pkR);
      } finally {
        wipe(eph.privateKey);
      }
      enc = eph.publicKey;
    }
    let kemContext = concat(enc, pkR);
    if (skS !== undefined && pkS !== undefined) {
      const dh2 = await this.dh(skS, pkR);
      const both = concat(dh, dh2);
      wipe(dh, dh2);
      dh = both;
      kemContext = concat(kemContext, pkS);
    }
    try {
      return { sharedSecret: await this.extractAndExpand(dh, kemContext), enc };
    } finally {
      wipe(dh);
    }
  }

  /** Decap / AuthDecap (RFC 9180 §4.1). */
  async decap(enc: Uint8Array, skR: Uint8Array, pkR: Uint8Array, pkS?: Uint8Array): Promise<Uint8Array> {
    let dh = await this.dh(skR, enc);
    let kemContext = concat(enc, pkR);
    if (pkS !== undefined) {
      const dh2 = await this.dh(skR, pkS);
      const both = concat(dh, dh2);
      wipe(dh, dh2);
      dh = both;
      kemContext = concat(kemContext, pkS);
    }
    try {
      return await this.extractAndExpand(dh, kemContext);
    } finally {
      wipe(dh);
    }
  }
}

/** RFC 9180 §5.2 context. */
class Context implements HpkeContext {
  private seq = 0;
  private destroyed = false;
  constructor(
    private readonly prim: SuitePrimitives,
    private readonly lkdf: LabeledKdf,
    private readonly role: 'sender' | 'receiver',
    private readonly key: Uint8Array,
    private readonly baseNonce: Uint8Array,
    private readonly exporterSecret: Uint8Array,
  ) {}

  private check(role: 'sender' | 'receiver' | undefined): void {
    if (this.destroyed) throw new CryptoError('hpke-context-destroyed', 'HPKE context used after destroy()');
    if (role !== undefined && role !== this.role) {
      throw new CryptoError('hpke-wrong-role', `${role === 'sender' ? 'seal' : 'open'} called on a ${this.role} context`);
    }
    if (this.seq >= Number.MAX_SAFE_INTEGER) throw new CryptoError('hpke-sequence-overflow', 'sequence number limit reached');
  }

  /** ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
  private nonce(): Uint8Array {
    const n = this.baseNonce.slice();
    const s = i2osp(this.seq, n.length);
    for (let i = 0; i < n.length; i++) n[i]! ^= s[i]!;
    return n;
  }

  async seal(aad: Uint8Array, plaintext: Uint8Array): Promise<Uint8Array> {
    assertBytes(aad, 'aad');
    assertBytes(plaintext, 'plaintext');
    this.check('sender');
    const ct = await this.prim.aead.seal(this.key, this.nonce(), aad, plaintext);
    this.seq++;
    return ct;
  }

  async open(aad: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
    assertBytes(aad, 'aad');
    assertBytes(ciphertext, 'ciphertext');
    this.check('receiver');
    const pt = await this.prim.aead.open(this.key, this.nonce(), aad, ciphertext);
    this.seq++;
    return pt;
  }

  /** Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L). */
  export(exporterContext: Uint8Array, length: number): Promise<Uint8Array> {
    assertBytes(exporterContext, 'exporterContext');
    assertInt(length, 'length', 0, 255 * this.prim.kdf.Nh);
    this.check(undefined);
    return this.lkdf.expand(this.exporterSecret, 'sec', exporterContext, length);
  }

  destroy(): void {
    this.destroyed = true;
    wipe(this.key, this.baseNonce, this.exporterSecret);
  }
}

/** Builds the Hpke object of one suite on a backend's primitives. */
export function createHpke(prim: SuitePrimitives, params: SuiteParams): Hpke {
  const kem: DhKem = new DhKem(prim, params.kemId);
  // suite_id = concat("HPKE", I2OSP(kem_id, 2), I2OSP(kdf_id, 2), I2OSP(aead_id, 2))
  const lkdf = new LabeledKdf(prim, concat(ENC.encode('HPKE'), i2osp(params.kemId, 2), i2osp(params.kdfId, 2), i2osp(params.aeadId, 2)));
  const { Npk, Nsk } = prim.dh;
  // pkR = pk(skR) is needed by every Decap (kem_context); a node's HPKE key decrypts many times.
  const receiverPublicKeys = new PrivateKeyCache<Uint8Array>();

  function modeOf(options: HpkeSetupOptions | undefined, side: 'sender' | 'receiver'): number {
    const psk = options?.psk;
    const auth = side === 'sender' ? options?.senderPrivateKey : options?.senderPublicKey;
    if (psk !== undefined) {
      assertBytes(psk.key, 'options.psk.key');
      assertBytes(psk.id, 'options.psk.id');
      // VerifyPSKInputs (RFC 9180 §5.1): both non-empty in psk modes.
      if (psk.key.length === 0 || psk.id.length === 0) {
        throw new CryptoError('hpke-bad-mode', 'psk key and id must both be non-empty');
      }
    }
    if (auth !== undefined) {
      if (side === 'sender') kem.checkPrivateKey(auth, 'options.senderPrivateKey');
      else kem.checkPublicKey(auth, 'options.senderPublicKey');
    }
    if (psk !== undefined) return auth !== undefined ? MODE.auth_psk : MODE.psk;
    return auth !== undefined ? MODE.auth : MODE.base;
  }

  /** KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) (RFC 9180 §5.1). Wipes sharedSecret. */
  async function keySchedule(role: 'sender' | 'receiver', mode: number, sharedSecret: Uint8Array, info: Uint8Array, options?: HpkeSetupOptions): Promise<Context> {
    const psk = options?.psk?.key ?? EMPTY;
    const pskId = options?.psk?.id ?? EMPTY;
    let secret: Uint8Array | undefined;
    try {
      const pskIdHash = await lkdf.extract(EMPTY, 'psk_id_hash', pskId);
      const infoHash = await lkdf.extract(EMPTY, 'info_hash', info);
      const ksc = concat(Uint8Array.of(mode), pskIdHash, infoHash);
      secret = await lkdf.extract(sharedSecret, 'secret', psk);
      const key = await lkdf.expand(secret, 'key', ksc, prim.aead.Nk);
      const baseNonce = await lkdf.expand(secret, 'base_nonce', ksc, prim.aead.Nn);
      const exporterSecret = await lkdf.expand(secret, 'exp', ksc, prim.kdf.Nh);
      return new Context(prim, lkdf, role, key, baseNonce, exporterSecret);
    } finally {
      wipe(sharedSecret, secret);
    }
  }

  async function setupSender(publicKey: Uint8Array, info: Uint8Array, options?: HpkeSetupOptions): Promise<{ enc: Uint8Array; context: Context }> {
    kem.checkPublicKey(publicKey, 'publicKey');
    assertBytes(info, 'info');
    const mode = modeOf(options, 'sender');
    if (options?.ephemeralIkm !== undefined) assertBytes(options.ephemeralIkm, 'options.ephemeralIkm');
    let skS: Uint8Array | undefined;
    let pkS: Uint8Array | undefined;
    if (options?.senderPrivateKey !== undefined) {
      skS = options.senderPrivateKey;
      pkS = await prim.dh.publicKeyFromPrivate(skS);
    }
    const { sharedSecret, enc } = await kem.encap(publicKey, skS, pkS, options?.ephemeralIkm);
    return { enc, context: await keySchedule('sender', mode, sharedSecret, info, options) };
  }

  async function setupReceiver(privateKey: Uint8Array, enc: Uint8Array, info: Uint8Array, options?: HpkeSetupOptions): Promise<Context> {
    kem.checkPrivateKey(privateKey, 'privateKey');
    kem.checkPublicKey(enc, 'kemOutput');
    assertBytes(info, 'info');
    const mode = modeOf(options, 'receiver');
    const pkR = await receiverPublicKeys.get(privateKey, (sk) => prim.dh.publicKeyFromPrivate(sk));
    const sharedSecret = await kem.decap(enc, privateKey, pkR, options?.senderPublicKey);
    return keySchedule('receiver', mode, sharedSecret, info, options);
  }

  return {
    kemId: params.kemId,
    kdfId: params.kdfId,
    aeadId: params.aeadId,
    Npk,
    Nsk,
    Nenc: Npk,

    generateKeyPair: () => prim.dh.generateKeyPair(),

    async deriveKeyPair(ikm) {
      assertBytes(ikm, 'ikm');
      return kem.deriveKeyPair(ikm);
    },

    async publicKeyFromPrivate(privateKey) {
      kem.checkPrivateKey(privateKey, 'privateKey');
      return prim.dh.publicKeyFromPrivate(privateKey);
    },

    async seal(publicKey, info, aad, plaintext) {
      assertBytes(aad, 'aad');
      assertBytes(plaintext, 'plaintext');
      const { enc, context } = await setupSender(publicKey, info);
      try {
        return { kemOutput: enc, ciphertext: await context.seal(aad, plaintext) };
      } finally {
        context.destroy();
      }
    },

    async open(privateKey, kemOutput, info, aad, ciphertext) {
      assertBytes(aad, 'aad');
      assertBytes(ciphertext, 'ciphertext');
      let context: Context | undefined;
      try {
        context = await setupReceiver(privateKey, kemOutput, info);
        return await context.open(aad, ciphertext);
      } catch (cause) {
        if (cause instanceof TypeError || cause instanceof RangeError) throw cause;
        if (cause instanceof CryptoError && cause.code === 'invalid-private-key') throw cause;
        throw new CryptoError('hpke-open-failed', 'HPKE open failed', { cause });
      } finally {
        context?.destroy();
      }
    },

    async exportSender(publicKey, info, exporterContext, length) {
      const { enc, context } = await setupSender(publicKey, info);
      try {
        return { kemOutput: enc, secret: await context.export(exporterContext, length) };
      } finally {
        context.destroy();
      }
    },

    async exportReceiver(privateKey, kemOutput, info, exporterContext, length) {
      const context = await setupReceiver(privateKey, kemOutput, info);
      try {
        return await context.export(exporterContext, length);
      } finally {
        context.destroy();
      }
    },

    setupSender,
    setupReceiver,
  };
}

