// external_senders extension (RFC 9420 §12.1.8.1).
//   struct { SignaturePublicKey signature_key; Credential credential; } ExternalSender;
//   ExternalSender external_senders<V>;
import { decode, encode, type Reader, type Writer } from '../../codec/index.js';
import { readCredential, writeCredential, type Credential } from './credential.js';

export interface ExternalSender {
  signatureKey: Uint8Array;
  credential: Credential;
}

export function writeExternalSender(w: Writer, s: ExternalSender): void {
  w.varBytes(s.signatureKey);
  writeCredential(w, s.credential);
}
export function readExternalSender(r: Reader): ExternalSender {
  return { signatureKey: r.varBytes('signature_key'), credential: readCredential(r) };
}
export function encodeExternalSenders(list: readonly ExternalSender[]): Uint8Array {
  return encode((w) => w.varVector(list, writeExternalSender));
}
export function decodeExternalSenders(bytes: Uint8Array): ExternalSender[] {
  return decode(bytes, (r) => r.varVector(readExternalSender, 'external_senders'), 'external_senders');
}
