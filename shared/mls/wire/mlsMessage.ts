// MLSMessage (RFC 9420 §6).
//   struct {
//     ProtocolVersion version = mls10;
//     WireFormat wire_format;
//     select (MLSMessage.wire_format) {
//       case mls_public_message: PublicMessage public_message;
//       case mls_private_message: PrivateMessage private_message;
//       case mls_welcome: Welcome welcome;
//       case mls_group_info: GroupInfo group_info;
//       case mls_key_package: KeyPackage key_package;
//     };
//   } MLSMessage;
import { CodecError, decode, encode, type Reader, type Writer } from '../../codec/index.js';
import { readGroupInfo, writeGroupInfo, type GroupInfo } from './groupInfo.js';
import { readKeyPackage, writeKeyPackage, type KeyPackage } from './keyPackage.js';
import { readPrivateMessage, writePrivateMessage, type PrivateMessage } from './privateMessage.js';
import { ProtocolVersion } from './protocolVersion.js';
import { readPublicMessage, writePublicMessage, type PublicMessage } from './publicMessage.js';
import { readWelcome, writeWelcome, type Welcome } from './welcome.js';
import { WireFormat } from './wireFormat.js';

export type MLSMessage = { version: number } & (
  | { wireFormat: typeof WireFormat.mls_public_message; publicMessage: PublicMessage }
  | { wireFormat: typeof WireFormat.mls_private_message; privateMessage: PrivateMessage }
  | { wireFormat: typeof WireFormat.mls_welcome; welcome: Welcome }
  | { wireFormat: typeof WireFormat.mls_group_info; groupInfo: GroupInfo }
  | { wireFormat: typeof WireFormat.mls_key_package; keyPackage: KeyPackage }
);

export function writeMLSMessage(w: Writer, m: MLSMessage): void {
  w.u16(m.version);
  w.u16(m.wireFormat);
  switch (m.wireFormat) {
    case WireFormat.mls_public_message:
      return writePublicMessage(w, m.publicMessage);
    case WireFormat.mls_private_message:
      return writePrivateMessage(w, m.privateMessage);
    case WireFormat.mls_welcome:
      return writeWelcome(w, m.welcome);
    case WireFormat.mls_group_info:
      return writeGroupInfo(w, m.groupInfo);
    case WireFormat.mls_key_package:
      return writeKeyPackage(w, m.keyPackage);
  }
}

export function readMLSMessage(r: Reader): MLSMessage {
  const version = r.u16('version');
  if (version !== ProtocolVersion.mls10) throw new CodecError('invalid-value', `version ${version} is not mls10`);
  const wireFormat = r.u16('wire_format');
  switch (wireFormat) {
    case WireFormat.mls_public_message:
      return { version, wireFormat, publicMessage: readPublicMessage(r) };
    case WireFormat.mls_private_message:
      return { version, wireFormat, privateMessage: readPrivateMessage(r) };
    case WireFormat.mls_welcome:
      return { version, wireFormat, welcome: readWelcome(r) };
    case WireFormat.mls_group_info:
      return { version, wireFormat, groupInfo: readGroupInfo(r) };
    case WireFormat.mls_key_package:
      return { version, wireFormat, keyPackage: readKeyPackage(r) };
    default:
      throw new CodecError('invalid-value', `wire_format ${wireFormat}`);
  }
}

export function encodeMLSMessage(m: MLSMessage): Uint8Array {
  return encode((w) => writeMLSMessage(w, m));
}
export function decodeMLSMessage(bytes: Uint8Array): MLSMessage {
  return decode(bytes, readMLSMessage, 'MLSMessage');
}
