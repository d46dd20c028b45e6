// required_capabilities extension (RFC 9420 §11.1).
//   struct {
//     ExtensionType extension_types<V>;
//     ProposalType proposal_types<V>;
//     CredentialType credential_types<V>;
//   } RequiredCapabilities;
import { decode, encode } from '../../codec/index.js';
import { readU16List, writeU16List } from './util.js';

export interface RequiredCapabilities {
  extensionTypes: number[];
  proposalTypes: number[];
  credentialTypes: number[];
}

export function encodeRequiredCapabilities(c: RequiredCapabilities): Uint8Array {
  return encode((w) => {
    writeU16List(w, c.extensionTypes);
    writeU16List(w, c.proposalTypes);
    writeU16List(w, c.credentialTypes);
  });
}
export function decodeRequiredCapabilities(bytes: Uint8Array): RequiredCapabilities {
  return decode(
    bytes,
    (r) => ({
      extensionTypes: readU16List(r, 'extension_types'),
      proposalTypes: readU16List(r, 'proposal_types'),
      credentialTypes: readU16List(r, 'credential_types'),
    }),
    'required_capabilities',
  );
}
