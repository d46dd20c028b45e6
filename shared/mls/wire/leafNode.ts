// LeafNode and LeafNodeTBS (RFC 9420 §7.2).
//   struct {
//     HPKEPublicKey encryption_key;
//     SignaturePublicKey signature_key;
//     Credential credential;
//     Capabilities capabilities;
//     LeafNodeSource leaf_node_source;
//     select (LeafNode.leaf_node_source) {
//       case key_package: Lifetime lifetime;
//       case update:      struct{};
//       case commit:      opaque parent_hash<V>;
//     };
//     Extension extensions<V>;
//     /* SignWithLabel(., "LeafNodeTBS", LeafNodeTBS) */
//     opaque signature<V>;
//   } LeafNode;
//   LeafNodeTBS = the fields above without signature, followed by
//     select (leaf_node_source) { case key_package: struct{};
//       case update, commit: opaque group_id<V>; uint32 leaf_index; };
import { encode, type Reader, type Writer } from '../../codec/index.js';
import { readCapabilities, writeCapabilities, type Capabilities } from './capabilities.js';
import { readCredential, writeCredential, type Credential } from './credential.js';
import { readExtensions, writeExtensions, type Extension } from './extension.js';
import { readLifetime, writeLifetime, type Lifetime } from './lifetime.js';
import { expectOneOf } from './util.js';
import { shareLeafNode } from '../intern.js';

/** enum { reserved(0), key_package(1), update(2), commit(3), (255) } LeafNodeSource; */
export const LeafNodeSource = { key_package: 1, update: 2, commit: 3 } as const;
export type LeafNodeSourceValue = (typeof LeafNodeSource)[keyof typeof LeafNodeSource];

export interface LeafNode {
  encryptionKey: Uint8Array; // encryption_key
  signatureKey: Uint8Array; // signature_key
  credential: Credential;
  capabilities: Capabilities;
  leafNodeSource: LeafNodeSourceValue;
  lifetime?: Lifetime; // key_package only
  parentHash?: Uint8Array; // commit only
  extensions: Extension[];
  signature: Uint8Array;
}

function writeLeafNodeBody(w: Writer, n: LeafNode): void {
  w.varBytes(n.encryptionKey);
  w.varBytes(n.signatureKey);
  writeCredential(w, n.credential);
  writeCapabilities(w, n.capabilities);
  w.u8(n.leafNodeSource);
  if (n.leafNodeSource === LeafNodeSource.key_package) writeLifetime(w, n.lifetime!);
  else if (n.leafNodeSource === LeafNodeSource.commit) w.varBytes(n.parentHash!);
  writeExtensions(w, n.extensions);
}

export function writeLeafNode(w: Writer, n: LeafNode): void {
  writeLeafNodeBody(w, n);
  w.varBytes(n.signature);
}

export function readLeafNode(r: Reader): LeafNode {
  const start = r.position;
  const encryptionKey = r.varBytes('encryption_key');
  const signatureKey = r.varBytes('signature_key');
  const credential = readCredential(r);
  const capabilities = readCapabilities(r);
  const leafNodeSource = expectOneOf(r.u8('leaf_node_source'), LeafNodeSource, 'leaf_node_source');
  const node: LeafNode = {
    encryptionKey,
    signatureKey,
    credential,
    capabilities,
    leafNodeSource,
    extensions: [],
    signature: new Uint8Array(0),
  };
  if (leafNodeSource === LeafNodeSource.key_package) node.lifetime = readLifetime(r);
  else if (leafNodeSource === LeafNodeSource.commit) node.parentHash = r.varBytes('parent_hash');
  node.extensions = readExtensions(r);
  node.signature = r.varBytes('signature');
  return shareLeafNode(node, r.since(start));
}

/** LeafNodeTBS bytes; groupId/leafIndex are required for update and commit sources. */
export function encodeLeafNodeTBS(n: LeafNode, groupId?: Uint8Array, leafIndex?: number): Uint8Array {
  return encode((w) => {
    writeLeafNodeBody(w, n);
    if (n.leafNodeSource !== LeafNodeSource.key_package) {
      if (groupId === undefined || leafIndex === undefined) {
        throw new TypeError('LeafNodeTBS for update/commit needs groupId and leafIndex');
      }
      w.varBytes(groupId);
      w.u32(leafIndex);
    }
  });
}
