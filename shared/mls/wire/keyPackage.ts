// KeyPackage and KeyPackageTBS (RFC 9420 §10).
//   struct {
//     ProtocolVersion version;
//     CipherSuite cipher_suite;
//     HPKEPublicKey init_key;
//     LeafNode leaf_node;
//     Extension extensions<V>;
//     /* SignWithLabel(., "KeyPackageTBS", KeyPackageTBS) */
//     opaque signature<V>;
//   } KeyPackage;
import { encode, type Reader, type Writer } from '../../codec/index.js';
import { readExtensions, writeExtensions, type Extension } from './extension.js';
import { readLeafNode, writeLeafNode, type LeafNode } from './leafNode.js';

export interface KeyPackage {
  version: number;
  cipherSuite: number;
  initKey: Uint8Array;
  leafNode: LeafNode;
  extensions: Extension[];
  signature: Uint8Array;
}

function writeBody(w: Writer, k: KeyPackage): void {
  w.u16(k.version);
  w.u16(k.cipherSuite);
  w.varBytes(k.initKey);
  writeLeafNode(w, k.leafNode);
  writeExtensions(w, k.extensions);
}

export function writeKeyPackage(w: Writer, k: KeyPackage): void {
  writeBody(w, k);
  w.varBytes(k.signature);
}

export function readKeyPackage(r: Reader): KeyPackage {
  return {
    version: r.u16('version'),
    cipherSuite: r.u16('cipher_suite'),
    initKey: r.varBytes('init_key'),
    leafNode: readLeafNode(r),
    extensions: readExtensions(r),
    signature: r.varBytes('signature'),
  };
}

export function encodeKeyPackageTBS(k: KeyPackage): Uint8Array {
  return encode((w) => writeBody(w, k));
}
export function encodeKeyPackage(k: KeyPackage): Uint8Array {
  return encode((w) => writeKeyPackage(w, k));
}
