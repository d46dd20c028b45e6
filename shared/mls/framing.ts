// Message framing (RFC 9420 §6): signing FramedContentTBS, membership tags for PublicMessage,
// and PrivateMessage protection with the secret tree, sender-data encryption and reuse guard.
//
//  PrivateMessage:
//   +-------------------------------------------+
//   | group_id | epoch | content_type | auth_data |   public header (PrivateContentAAD)
//   +-------------------------------------------+
//   | encrypted_sender_data = AEAD(sender_data_key/nonce from ciphertext sample, SenderDataAAD,
//   |                              leaf_index | generation | reuse_guard)
//   | ciphertext = AEAD(ratchet key, ratchet nonce XOR reuse_guard, PrivateContentAAD,
//   |                   content | auth | zero padding)
//   +-------------------------------------------+
import { equal, wipe } from '../bytes/index.js';
import { CodecError, decode } from '../codec/index.js';
import { expandWithLabel, signWithLabel, verifyWithLabel, type CipherSuite } from '../crypto/index.js';
import { check, MlsError } from './errors.js';
import { randomBytes } from './random.js';
import { consumeKey, nextGeneration, type SecretTree } from './secretTree.js';
import {
  ContentType,
  encodeFramedContentTBS,
  SenderType,
  type FramedContent,
  type FramedContentAuthData,
  type FramedContentBody,
} from './wire/framedContent.js';
import type { GroupContext } from './wire/groupContext.js';
import {
  decodePrivateMessageContent,
  encodePrivateContentAAD,
  encodePrivateMessageContent,
  encodeSenderData,
  encodeSenderDataAAD,
  readSenderData,
  type PrivateMessage,
} from './wire/privateMessage.js';
import { encodeAuthenticatedContentTBM, type PublicMessage } from './wire/publicMessage.js';
import { WireFormat } from './wire/wireFormat.js';

/** signature = SignWithLabel(key, "FramedContentTBS", FramedContentTBS) (§6.1). */
export function signFramedContent(
  suite: CipherSuite,
  signaturePrivateKey: Uint8Array,
  wireFormat: number,
  content: FramedContent,
  context?: GroupContext,
): Promise<Uint8Array> {
  return signWithLabel(suite, signaturePrivateKey, 'FramedContentTBS', encodeFramedContentTBS(wireFormat, content, context));
}

export async function verifyFramedContent(
  suite: CipherSuite,
  signatureKey: Uint8Array,
  wireFormat: number,
  content: FramedContent,
  auth: FramedContentAuthData,
  context?: GroupContext,
): Promise<void> {
  const ok = await verifyWithLabel(suite, signatureKey, 'FramedContentTBS', encodeFramedContentTBS(wireFormat, content, context), auth.signature);
  check(ok, 'bad-signature', 'FramedContent signature does not verify (§6.1)');
}

/** membership_tag = MAC(membership_key, AuthenticatedContentTBM) (§6.2). */
export function membershipTag(
  suite: CipherSuite,
  membershipKey: Uint8Array,
  content: FramedContent,
  auth: FramedContentAuthData,
  context: GroupContext,
): Promise<Uint8Array> {
  return suite.hmac(membershipKey, encodeAuthenticatedContentTBM(content, auth, context));
}

/** Builds a PublicMessage (§6.2): signs, and adds the membership tag for member senders. */
export async function protectPublic(
  suite: CipherSuite,
  content: FramedContent,
  signaturePrivateKey: Uint8Array,
  context: GroupContext | undefined,
  membershipKey: Uint8Array | undefined,
  confirmationTag?: Uint8Array,
  signatureOverride?: Uint8Array,
): Promise<PublicMessage> {
  if (content.contentType === ContentType.application) {
    throw new MlsError('application-as-public', 'application data MUST NOT be sent as a PublicMessage (§6.2)');
  }
  const signature = signatureOverride ?? (await signFramedContent(suite, signaturePrivateKey, WireFormat.mls_public_message, content, context));
  const auth: FramedContentAuthData = confirmationTag ? { signature, confirmationTag } : { signature };
  if (content.sender.senderType === SenderType.member) {
    const tag = await membershipTag(suite, membershipKey!, content, auth, context!);
    return { content, auth, membershipTag: tag };
  }
  return { content, auth };
}

/** Checks the membership tag of a member's PublicMessage (§6.2). Signature checks are the caller's. */
export async function verifyMembershipTag(suite: CipherSuite, m: PublicMessage, membershipKey: Uint8Array, context: GroupContext): Promise<void> {
  check(m.membershipTag !== undefined, 'bad-membership-tag', 'member PublicMessage without membership tag');
  const want = await membershipTag(suite, membershipKey, m.content, m.auth, context);
  check(equal(want, m.membershipTag), 'bad-membership-tag', 'membership tag does not verify (§6.2)');
}

// ---- PrivateMessage (§6.3) ----

async function senderDataKeyNonce(suite: CipherSuite, senderDataSecret: Uint8Array, ciphertext: Uint8Array) {
  const sample = ciphertext.subarray(0, Math.min(suite.kdf.Nh, ciphertext.length));
  return {
    key: await expandWithLabel(suite, senderDataSecret, 'key', sample, suite.aead.Nk),
    nonce: await expandWithLabel(suite, senderDataSecret, 'nonce', sample, suite.aead.Nn),
  };
}
export { senderDataKeyNonce };

function applyReuseGuard(nonce: Uint8Array, guard: Uint8Array): Uint8Array {
  const out = nonce.slice();
  for (let i = 0; i < 4; i++) out[i]! ^= guard[i]!;
  return out;
}

/**
 * Encrypts content from the member at `leafIndex` (§6.3). The content must already be signed
 * (auth filled). Returns the message and the advanced secret tree.
 */
export async function protectPrivate(
  suite: CipherSuite,
  secretTree: SecretTree,
  senderDataSecret: Uint8Array,
  groupId: Uint8Array,
  epoch: bigint,
  leafIndex: number,
  authenticatedData: Uint8Array,
  body: FramedContentBody,
  auth: FramedContentAuthData,
  paddingLength = 0,
): Promise<{ message: PrivateMessage; secretTree: SecretTree }> {
  const type = body.contentType === ContentType.application ? 'application' : 'handshake';
  const generation = nextGeneration(secretTree, leafIndex, type);
  const { tree, keyNonce } = await consumeKey(suite, secretTree, leafIndex, type, generation);
  const reuseGuard = randomBytes(4);
  const plaintext = encodePrivateMessageContent({ ...body, auth }, paddingLength);
  const aad = encodePrivateContentAAD(groupId, epoch, body.contentType, authenticatedData);
  const nonce = applyReuseGuard(keyNonce.nonce, reuseGuard);
  const ciphertext = await suite.aead.seal(keyNonce.key, nonce, aad, plaintext);
  wipe(keyNonce.key, keyNonce.nonce, nonce, plaintext);
  const sd = await senderDataKeyNonce(suite, senderDataSecret, ciphertext);
  const encryptedSenderData = await suite.aead.seal(
    sd.key,
    sd.nonce,
    encodeSenderDataAAD(groupId, epoch, body.contentType),
    encodeSenderData({ leafIndex, generation, reuseGuard }),
  );
  wipe(sd.key, sd.nonce);
  return {
    message: { groupId, epoch, contentType: body.contentType, authenticatedData, encryptedSenderData, ciphertext },
    secretTree: tree,
  };
}

/**
 * Decrypts a PrivateMessage (§6.3.2). Returns the FramedContent, auth data and the advanced
 * secret tree; the caller verifies the signature (it needs the sender's leaf).
 */
export async function unprotectPrivate(
  suite: CipherSuite,
  secretTree: SecretTree,
  senderDataSecret: Uint8Array,
  m: PrivateMessage,
): Promise<{ content: FramedContent; auth: FramedContentAuthData; secretTree: SecretTree }> {
  const sd = await senderDataKeyNonce(suite, senderDataSecret, m.ciphertext);
  let senderDataBytes: Uint8Array;
  try {
    senderDataBytes = await suite.aead.open(sd.key, sd.nonce, encodeSenderDataAAD(m.groupId, m.epoch, m.contentType), m.encryptedSenderData);
  } catch {
    throw new MlsError('sender-data-decrypt', 'sender data does not decrypt (§6.3.2)');
  } finally {
    wipe(sd.key, sd.nonce);
  }
  const senderData = decode(senderDataBytes, readSenderData, 'SenderData');
  check(senderData.leafIndex < secretTree.leafCount, 'unknown-sender', `sender leaf ${senderData.leafIndex} is outside the tree`);
  const type = m.contentType === ContentType.application ? 'application' : 'handshake';
  const { tree, keyNonce } = await consumeKey(suite, secretTree, senderData.leafIndex, type, senderData.generation);
  const nonce = applyReuseGuard(keyNonce.nonce, senderData.reuseGuard);
  let plaintext: Uint8Array;
  try {
    plaintext = await suite.aead.open(keyNonce.key, nonce, encodePrivateContentAAD(m.groupId, m.epoch, m.contentType, m.authenticatedData), m.ciphertext);
  } catch {
    throw new MlsError('content-decrypt', 'PrivateMessage content does not decrypt (§6.3.1)');
  } finally {
    wipe(keyNonce.key, keyNonce.nonce, nonce);
  }
  let inner;
  try {
    inner = decodePrivateMessageContent(plaintext, m.contentType);
  } catch (e) {
    if (e instanceof CodecError) throw new MlsError('malformed-content', `PrivateMessageContent: ${e.message}`);
    throw e;
  } finally {
    wipe(plaintext);
  }
  const { auth, ...body } = inner;
  const content = {
    groupId: m.groupId,
    epoch: m.epoch,
    sender: { senderType: SenderType.member, leafIndex: senderData.leafIndex },
    authenticatedData: m.authenticatedData,
    ...body,
  } as FramedContent;
  return { content, auth, secretTree: tree };
}
