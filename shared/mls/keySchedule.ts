// The key schedule (RFC 9420 §8): joiner, welcome and epoch secrets, every secret derived from the
// epoch secret, the exporter (§8.5), external init key pair (§8.3) and PSK secret (§8.4).
//
//                    init_secret_[n-1]
//                          |
//   commit_secret --> KDF.Extract
//                          |
//                  ExpandWithLabel(., "joiner", GroupContext_[n], KDF.Nh)
//                          |
//                    joiner_secret
//                          |
//      psk_secret --> KDF.Extract
//                          |
//                          +--> DeriveSecret(., "welcome") = welcome_secret
//                          |
//                  ExpandWithLabel(., "epoch", GroupContext_[n], KDF.Nh)
//                          |
//                     epoch_secret --> DeriveSecret(., <label>) = <secret>
import { utf8, wipe } from '../bytes/index.js';
import { deriveSecret, expandWithLabel, type CipherSuite } from '../crypto/index.js';
import { encodePSKLabel, type PreSharedKeyID } from './wire/preSharedKeyId.js';

/** Secrets of one epoch that the group keeps (§8 table). */
export interface EpochSecrets {
  senderDataSecret: Uint8Array;
  encryptionSecret: Uint8Array;
  exporterSecret: Uint8Array;
  epochAuthenticator: Uint8Array;
  externalSecret: Uint8Array;
  confirmationKey: Uint8Array;
  membershipKey: Uint8Array;
  resumptionPsk: Uint8Array;
  initSecret: Uint8Array;
}

export function zeros(n: number): Uint8Array {
  return new Uint8Array(n);
}

/** joiner_secret from the previous init_secret, commit_secret and the new GroupContext. */
export async function deriveJoinerSecret(suite: CipherSuite, initSecret: Uint8Array, commitSecret: Uint8Array, groupContext: Uint8Array): Promise<Uint8Array> {
  const prk = await suite.kdf.extract(initSecret, commitSecret);
  const joiner = await expandWithLabel(suite, prk, 'joiner', groupContext, suite.kdf.Nh);
  wipe(prk);
  return joiner;
}

/** From joiner_secret and psk_secret: welcome_secret and the epoch secrets. */
export async function deriveEpoch(
  suite: CipherSuite,
  joinerSecret: Uint8Array,
  pskSecret: Uint8Array,
  groupContext: Uint8Array,
): Promise<{ welcomeSecret: Uint8Array; secrets: EpochSecrets }> {
  const prk = await suite.kdf.extract(joinerSecret, pskSecret);
  const welcomeSecret = await deriveSecret(suite, prk, 'welcome');
  const epochSecret = await expandWithLabel(suite, prk, 'epoch', groupContext, suite.kdf.Nh);
  wipe(prk);
  const secrets = await deriveEpochSecrets(suite, epochSecret);
  wipe(epochSecret);
  return { welcomeSecret, secrets };
}

export async function deriveEpochSecrets(suite: CipherSuite, epochSecret: Uint8Array): Promise<EpochSecrets> {
  const d = (label: string) => deriveSecret(suite, epochSecret, label);
  return {
    senderDataSecret: await d('sender data'),
    encryptionSecret: await d('encryption'),
    exporterSecret: await d('exporter'),
    epochAuthenticator: await d('authentication'),
    externalSecret: await d('external'),
    confirmationKey: await d('confirm'),
    membershipKey: await d('membership'),
    resumptionPsk: await d('resumption'),
    initSecret: await d('init'),
  };
}

/** Welcome key and nonce (§12.4.3.1). */
export async function welcomeKeyNonce(suite: CipherSuite, welcomeSecret: Uint8Array): Promise<{ key: Uint8Array; nonce: Uint8Array }> {
  const e = new Uint8Array(0);
  return {
    key: await expandWithLabel(suite, welcomeSecret, 'key', e, suite.aead.Nk),
    nonce: await expandWithLabel(suite, welcomeSecret, 'nonce', e, suite.aead.Nn),
  };
}

/** MLS-Exporter(Label, Context, Length) (§8.5). */
export async function mlsExporter(suite: CipherSuite, exporterSecret: Uint8Array, label: string, context: Uint8Array, length: number): Promise<Uint8Array> {
  const derived = await deriveSecret(suite, exporterSecret, label);
  const out = await expandWithLabel(suite, derived, 'exported', await suite.hash.digest(context), length);
  wipe(derived);
  return out;
}

/** external_pub / external private key: KEM.DeriveKeyPair(external_secret) (§8.3). */
export function externalKeyPair(suite: CipherSuite, externalSecret: Uint8Array) {
  return suite.hpke.deriveKeyPair(externalSecret);
}

export const EXTERNAL_INIT_LABEL = utf8('MLS 1.0 external init secret');

/**
 * psk_secret from the PSKs in order (§8.4):
 *   psk_extracted_[i] = KDF.Extract(0, psk_[i])
 *   psk_input_[i] = ExpandWithLabel(psk_extracted_[i], "derived psk", PSKLabel, KDF.Nh)
 *   psk_secret_[i] = KDF.Extract(psk_input_[i-1], psk_secret_[i-1]);  psk_secret_[0] = 0
 */
export async function pskSecret(suite: CipherSuite, psks: readonly { id: PreSharedKeyID; psk: Uint8Array }[]): Promise<Uint8Array> {
  const Nh = suite.kdf.Nh;
  let secret = zeros(Nh);
  for (let i = 0; i < psks.length; i++) {
    const { id, psk } = psks[i]!;
    const extracted = await suite.kdf.extract(zeros(Nh), psk);
    const input = await expandWithLabel(suite, extracted, 'derived psk', encodePSKLabel(id, i, psks.length), Nh);
    const next = await suite.kdf.extract(input, secret);
    wipe(extracted, input, secret);
    secret = next;
  }
  return secret;
}
