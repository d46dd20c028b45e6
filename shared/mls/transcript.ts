// Transcript hashes (RFC 9420 §8.2).
//   struct { WireFormat wire_format; FramedContent content; /* with content_type = commit */ opaque signature<V>; } ConfirmedTranscriptHashInput;
//   struct { MAC confirmation_tag; } InterimTranscriptHashInput;
//   confirmed_transcript_hash_[n] = Hash(interim_transcript_hash_[n-1] || ConfirmedTranscriptHashInput_[n]);
//   interim_transcript_hash_[n]   = Hash(confirmed_transcript_hash_[n] || InterimTranscriptHashInput_[n]);
import { concat } from '../bytes/index.js';
import { encode } from '../codec/index.js';
import type { CipherSuite } from '../crypto/index.js';
import { writeFramedContent, type FramedContent } from './wire/framedContent.js';

export async function confirmedTranscriptHash(
  suite: CipherSuite,
  interimBefore: Uint8Array,
  wireFormat: number,
  content: FramedContent,
  signature: Uint8Array,
): Promise<Uint8Array> {
  const input = encode((w) => {
    w.u16(wireFormat);
    writeFramedContent(w, content);
    w.varBytes(signature);
  });
  return suite.hash.digest(concat(interimBefore, input));
}

export async function interimTranscriptHash(suite: CipherSuite, confirmed: Uint8Array, confirmationTag: Uint8Array): Promise<Uint8Array> {
  return suite.hash.digest(concat(confirmed, encode((w) => w.varBytes(confirmationTag))));
}
