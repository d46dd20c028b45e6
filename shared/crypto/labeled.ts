// RFC 9420 labeled operations: ExpandWithLabel / DeriveSecret (§8), DeriveTreeSecret (§9),
// RefHash and references (§5.2), SignWithLabel / VerifyWithLabel (§5.1.2),
// EncryptWithLabel / DecryptWithLabel (§5.1.3). Labels are given without the "MLS 1.0 " prefix,
// except refHash whose label is used verbatim (RFC 9420 §5.2 passes the full string).

import { assertBytes, assertInt, utf8 } from '../bytes/index.js';
import { Writer } from '../codec/index.js';
import type { CipherSuite } from './types.js';

const MLS_PREFIX = 'MLS 1.0 ';

function checkLabel(label: unknown): asserts label is string {
  if (typeof label !== 'string') throw new TypeError(`label must be a string, got ${typeof label}`);
}

const labelCache = new Map<string, Uint8Array>();
/** "MLS 1.0 " + label, UTF-8 (cached: labels are a small fixed set). */
function mlsLabel(label: string): Uint8Array {
  let l = labelCache.get(label);
  if (l === undefined) {
    l = utf8(MLS_PREFIX + label);
    if (labelCache.size < 256) labelCache.set(label, l);
  }
  return l;
}

/**
 * ExpandWithLabel(Secret, Label, Context, Length) = KDF.Expand(Secret, KDFLabel, Length)
 *   struct { uint16 length; opaque label<V> = "MLS 1.0 " + Label; opaque context<V>; } KDFLabel;
 */
export async function expandWithLabel(suite: CipherSuite, secret: Uint8Array, label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
  assertBytes(secret, 'secret');
  checkLabel(label);
  assertBytes(context, 'context');
  assertInt(length, 'length', 0, 0xffff);
  const kdfLabel = new Writer(16 + label.length + context.length).u16(length).varBytes(mlsLabel(label)).varBytes(context).finish();
  return suite.kdf.expand(secret, kdfLabel, length);
}

/** DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", KDF.Nh) (RFC 9420 §8). */
export async function deriveSecret(suite: CipherSuite, secret: Uint8Array, label: string): Promise<Uint8Array> {
  return expandWithLabel(suite, secret, label, new Uint8Array(0), suite.kdf.Nh);
}

/** DeriveTreeSecret(Secret, Label, Generation, Length) = ExpandWithLabel(Secret, Label, uint32 Generation, Length) (RFC 9420 §9). */
export async function deriveTreeSecret(suite: CipherSuite, secret: Uint8Array, label: string, generation: number, length: number): Promise<Uint8Array> {
  assertInt(generation, 'generation', 0, 0xffffffff);
  return expandWithLabel(suite, secret, label, new Writer(4).u32(generation).finish(), length);
}

/**
 * RefHash(label, value) = Hash(RefHashInput) (RFC 9420 §5.2)
 *   struct { opaque label<V>; opaque value<V>; } RefHashInput;   label used verbatim.
 */
export async function refHash(suite: CipherSuite, label: string, value: Uint8Array): Promise<Uint8Array> {
  checkLabel(label);
  assertBytes(value, 'value');
  const input = new Writer(8 + label.length + value.length).varBytes(utf8(label)).varBytes(value).finish();
  return suite.hash.digest(input);
}

/** MakeKeyPackageRef(value) = RefHash("MLS 1.0 KeyPackage Reference", value); value = encoded KeyPackage. */
export async function makeKeyPackageRef(suite: CipherSuite, keyPackage: Uint8Array): Promise<Uint8Array> {
  return refHash(suite, 'MLS 1.0 KeyPackage Reference', keyPackage);
}

/** MakeProposalRef(value) = RefHash("MLS 1.0 Proposal Reference", value); value = encoded AuthenticatedContent. */
export async function makeProposalRef(suite: CipherSuite, authenticatedContent: Uint8Array): Promise<Uint8Array> {
  return refHash(suite, 'MLS 1.0 Proposal Reference', authenticatedContent);
}

/** struct { opaque label<V> = "MLS 1.0 " + Label; opaque content<V>; } SignContent; (RFC 9420 §5.1.2) */
function signContent(label: string, content: Uint8Array): Uint8Array {
  const l = mlsLabel(label);
  return new Writer(8 + l.length + content.length).varBytes(l).varBytes(content).finish();
}

/** SignWithLabel(SignatureKey, Label, Content) = Signature.Sign(SignatureKey, SignContent). */
export async function signWithLabel(suite: CipherSuite, privateKey: Uint8Array, label: string, content: Uint8Array): Promise<Uint8Array> {
  checkLabel(label);
  assertBytes(content, 'content');
  return suite.signature.sign(privateKey, signContent(label, content));
}

/** VerifyWithLabel(VerificationKey, Label, Content, SignatureValue); false (never throws) for a bad signature. */
export async function verifyWithLabel(suite: CipherSuite, publicKey: Uint8Array, label: string, content: Uint8Array, signature: Uint8Array): Promise<boolean> {
  checkLabel(label);
  assertBytes(content, 'content');
  return suite.signature.verify(publicKey, signContent(label, content), signature);
}

/** struct { opaque label<V> = "MLS 1.0 " + Label; opaque context<V>; } EncryptContext; (RFC 9420 §5.1.3) */
function encryptContext(label: string, context: Uint8Array): Uint8Array {
  const l = mlsLabel(label);
  return new Writer(8 + l.length + context.length).varBytes(l).varBytes(context).finish();
}

const EMPTY = new Uint8Array(0);

/** EncryptWithLabel(PublicKey, Label, Context, Plaintext) = SealBase(PublicKey, EncryptContext, "", Plaintext). */
export async function encryptWithLabel(suite: CipherSuite, publicKey: Uint8Array, label: string, context: Uint8Array, plaintext: Uint8Array): Promise<{ kemOutput: Uint8Array; ciphertext: Uint8Array }> {
  checkLabel(label);
  assertBytes(context, 'context');
  return suite.hpke.seal(publicKey, encryptContext(label, context), EMPTY, plaintext);
}

/** DecryptWithLabel(PrivateKey, Label, Context, KEMOutput, Ciphertext) = OpenBase(KEMOutput, PrivateKey, EncryptContext, "", Ciphertext). */
export async function decryptWithLabel(suite: CipherSuite, privateKey: Uint8Array, label: string, context: Uint8Array, kemOutput: Uint8Array, ciphertext: Uint8Array): Promise<Uint8Array> {
  checkLabel(label);
  assertBytes(context, 'context');
  return suite.hpke.open(privateKey, kemOutput, encryptContext(label, context), EMPTY, ciphertext);
}
