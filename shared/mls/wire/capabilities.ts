// Capabilities (RFC 9420 §7.2).
//   struct {
//     ProtocolVersion versions<V>;
//     CipherSuite     cipher_suites<V>;
//     ExtensionType   extensions<V>;
//     ProposalType    proposals<V>;
//     CredentialType  credentials<V>;
//   } Capabilities;
import type { Reader, Writer } from '../../codec/index.js';
import { readU16List, writeU16List } from './util.js';

export interface Capabilities {
  versions: number[];
  cipherSuites: number[];
  extensions: number[];
  proposals: number[];
  credentials: number[];
}

export function writeCapabilities(w: Writer, c: Capabilities): void {
  writeU16List(w, c.versions);
  writeU16List(w, c.cipherSuites);
  writeU16List(w, c.extensions);
  writeU16List(w, c.proposals);
  writeU16List(w, c.credentials);
}

export function readCapabilities(r: Reader): Capabilities {
  return {
    versions: readU16List(r, 'versions'),
    cipherSuites: readU16List(r, 'cipher_suites'),
    extensions: readU16List(r, 'extensions'),
    proposals: readU16List(r, 'proposals'),
    credentials: readU16List(r, 'credentials'),
  };
}
