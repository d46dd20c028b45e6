// external_pub extension (RFC 9420 §12.4.3.2): struct { HPKEPublicKey external_pub; } ExternalPub;
import { decode, encode } from '../../codec/index.js';

export function encodeExternalPub(externalPub: Uint8Array): Uint8Array {
  return encode((w) => w.varBytes(externalPub));
}
export function decodeExternalPub(bytes: Uint8Array): Uint8Array {
  return decode(bytes, (r) => r.varBytes('external_pub'), 'external_pub');
}
