// Credential (RFC 9420 §5.3).
//   struct { opaque cert_data<V>; } Certificate;
//   struct {
//     CredentialType credential_type;
//     select (Credential.credential_type) {
//       case basic: opaque identity<V>;
//       case x509:  Certificate certificates<V>;
//     };
//   } Credential;
import { CodecError, type Reader, type Writer } from '../../codec/index.js';

/** enum { reserved(0), basic(1), x509(2), (65535) } CredentialType; */
export const CredentialType = { basic: 1, x509: 2 } as const;

export type Credential =
  | { credentialType: typeof CredentialType.basic; identity: Uint8Array }
  | { credentialType: typeof CredentialType.x509; certificates: Uint8Array[] };

export function writeCredential(w: Writer, c: Credential): void {
  w.u16(c.credentialType); // credential_type
  if (c.credentialType === CredentialType.basic) w.varBytes(c.identity); // identity
  else w.varVector(c.certificates, (x, cert) => x.varBytes(cert)); // certificates (x509 kept opaque)
}

export function readCredential(r: Reader): Credential {
  const credentialType = r.u16('credential_type');
  if (credentialType === CredentialType.basic) return { credentialType, identity: r.varBytes('identity') };
  if (credentialType === CredentialType.x509) {
    return { credentialType, certificates: r.varVector((s) => s.varBytes('cert_data'), 'certificates') };
  }
  throw new CodecError('invalid-value', `credential_type ${credentialType} is not supported`);
}
