// The server as an MLS external sender (RFC 9420 §12.1.8.1): one Ed25519 signature key
// (cipher suite 1, MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519) per process. Group creators
// list its public key in the external_senders extension; the server then signs Remove
// proposals for members that left. It can propose, never commit, and holds no group secret.
import { ed25519 } from '@noble/curves/ed25519.js';
import { utf8, wipe } from '../../shared/bytes/index.js';
import { externalRemoveProposal } from './remove-proposal.js';

export const SERVER_IDENTITY = 'sealed-call-server';
export const EXTERNAL_SENDER_SUITE = 1;
/** Position of the server in external_senders (the creator lists it first). */
export const EXTERNAL_SENDER_INDEX = 0;

export type RemoveProposalFn = (o: {
  groupId: Uint8Array;
  epoch: bigint;
  removedLeaf: number;
  senderIndex: number;
  signaturePrivateKey: Uint8Array;
  suite?: 1;
}) => Promise<Uint8Array>;


export class ExternalSender {
  readonly publicKey: Uint8Array;
  readonly identity: Uint8Array = utf8(SERVER_IDENTITY);
  readonly #privateKey: Uint8Array;
  #makeRemove: RemoveProposalFn | undefined;

  /** makeRemove: the shared/mls createExternalRemoveProposal (default: remove-proposal.ts). */
  constructor(o: { privateKey?: Uint8Array; makeRemove?: RemoveProposalFn } = {}) {
    const privateKey = o.privateKey;
    this.#makeRemove = o.makeRemove;
    const keys = privateKey ? { secretKey: privateKey, publicKey: ed25519.getPublicKey(privateKey) } : ed25519.keygen();
    this.#privateKey = keys.secretKey;
    this.publicKey = keys.publicKey;
  }

  /** RFC 9420 §12.1.3 Remove, sent as an external-sender PublicMessage (remove-proposal.ts frames and signs it). */
  async removeProposal(groupId: Uint8Array, epoch: bigint, removedLeaf: number): Promise<Uint8Array> {
    if (!this.#makeRemove) {
      this.#makeRemove = async (p) => externalRemoveProposal(p);
    }
    return this.#makeRemove({
      groupId,
      epoch,
      removedLeaf,
      senderIndex: EXTERNAL_SENDER_INDEX,
      signaturePrivateKey: this.#privateKey,
      suite: EXTERNAL_SENDER_SUITE,
    });
  }

  close(): void {
    wipe(this.#privateKey);
  }
}
