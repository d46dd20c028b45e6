// EncryptedGroupSecrets and Welcome (RFC 9420 §12.4.3.1).
//   struct { opaque new_member<V>; HPKECiphertext encrypted_group_secrets; } EncryptedGroupSecrets;
//   struct { CipherSuite cipher_suite; EncryptedGroupSecrets secrets<V>; opaque encrypted_group_info<V>; } Welcome;
import type { Reader, Writer } from '../../codec/index.js';
import { readHPKECiphertext, writeHPKECiphertext, type HPKECiphertext } from './updatePath.js';

export interface EncryptedGroupSecrets {
  newMember: Uint8Array; // KeyPackageRef
  encryptedGroupSecrets: HPKECiphertext;
}
export interface Welcome {
  cipherSuite: number;
  secrets: EncryptedGroupSecrets[];
  encryptedGroupInfo: Uint8Array;
}

export function writeWelcome(w: Writer, m: Welcome): void {
  w.u16(m.cipherSuite);
  w.varVector(m.secrets, (x, s) => {
    x.varBytes(s.newMember);
    writeHPKECiphertext(x, s.encryptedGroupSecrets);
  });
  w.varBytes(m.encryptedGroupInfo);
}
export function readWelcome(r: Reader): Welcome {
  const cipherSuite = r.u16('cipher_suite');
  const secrets = r.varVector(
    (s) => ({ newMember: s.varBytes('new_member'), encryptedGroupSecrets: readHPKECiphertext(s) }),
    'secrets',
  );
  return { cipherSuite, secrets, encryptedGroupInfo: r.varBytes('encrypted_group_info') };
}
