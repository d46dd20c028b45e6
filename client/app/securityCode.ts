// The security code: 5 groups of 5 digits derived from the MLS epoch authenticator (RFC 9420 §8.7).
// Members with equal codes share the same epoch and group view; a split view shows different codes.
//
// code = SHA-256("sealed-call security code v1" || epoch_authenticator); each group is
// (40-bit big-endian chunk i of the hash) mod 100000, zero padded. The modulo bias is below 2^-23.

const LABEL = new TextEncoder().encode('sealed-call security code v1');
export const SECURITY_CODE_GROUPS = 5;

export async function securityCode(epochAuthenticator: Uint8Array): Promise<string> {
  if (!(epochAuthenticator instanceof Uint8Array)) throw new TypeError('epochAuthenticator must be a Uint8Array');
  if (epochAuthenticator.length < 16) throw new RangeError('epochAuthenticator must be at least 16 bytes');
  const input = new Uint8Array(LABEL.length + epochAuthenticator.length);
  input.set(LABEL, 0);
  input.set(epochAuthenticator, LABEL.length);
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', input));
  const groups: string[] = [];
  for (let g = 0; g < SECURITY_CODE_GROUPS; g++) {
    let v = 0;
    for (let i = 0; i < 5; i++) v = v * 256 + hash[g * 5 + i]!;
    groups.push(String(v % 100000).padStart(5, '0'));
  }
  return groups.join(' ');
}
