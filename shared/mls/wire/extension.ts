// Extension (RFC 9420 §13.4).
//   struct { ExtensionType extension_type; opaque extension_data<V>; } Extension;
import type { Reader, Writer } from '../../codec/index.js';

/** ExtensionType code points (RFC 9420 §17.3). */
export const ExtensionType = {
  application_id: 1,
  ratchet_tree: 2,
  required_capabilities: 3,
  external_pub: 4,
  external_senders: 5,
} as const;

export interface Extension {
  extensionType: number; // extension_type (uint16)
  extensionData: Uint8Array; // extension_data<V>
}

export function writeExtension(w: Writer, e: Extension): void {
  w.u16(e.extensionType);
  w.varBytes(e.extensionData);
}

export function readExtension(r: Reader): Extension {
  return { extensionType: r.u16('extension_type'), extensionData: r.varBytes('extension_data') };
}

export function writeExtensions(w: Writer, list: readonly Extension[]): void {
  w.varVector(list, writeExtension);
}

/** Extension extensions<V> (duplicates are a validation error, checked by the protocol layer). */
export function readExtensions(r: Reader): Extension[] {
  return r.varVector(readExtension, 'extensions');
}

export function findExtension(list: readonly Extension[], type: number): Extension | undefined {
  return list.find((e) => e.extensionType === type);
}
