// HPKECiphertext, UpdatePathNode, UpdatePath (RFC 9420 §7.6).
//   struct { opaque kem_output<V>; opaque ciphertext<V>; } HPKECiphertext;
//   struct { HPKEPublicKey encryption_key; HPKECiphertext encrypted_path_secret<V>; } UpdatePathNode;
//   struct { LeafNode leaf_node; UpdatePathNode nodes<V>; } UpdatePath;
import type { Reader, Writer } from '../../codec/index.js';
import { readLeafNode, writeLeafNode, type LeafNode } from './leafNode.js';

export interface HPKECiphertext {
  kemOutput: Uint8Array;
  ciphertext: Uint8Array;
}
export interface UpdatePathNode {
  encryptionKey: Uint8Array;
  encryptedPathSecret: HPKECiphertext[];
}
export interface UpdatePath {
  leafNode: LeafNode;
  nodes: UpdatePathNode[];
}

export function writeHPKECiphertext(w: Writer, c: HPKECiphertext): void {
  w.varBytes(c.kemOutput);
  w.varBytes(c.ciphertext);
}
export function readHPKECiphertext(r: Reader): HPKECiphertext {
  return { kemOutput: r.varBytes('kem_output'), ciphertext: r.varBytes('ciphertext') };
}

export function writeUpdatePath(w: Writer, p: UpdatePath): void {
  writeLeafNode(w, p.leafNode);
  w.varVector(p.nodes, (x, n) => {
    x.varBytes(n.encryptionKey);
    x.varVector(n.encryptedPathSecret, writeHPKECiphertext);
  });
}
export function readUpdatePath(r: Reader): UpdatePath {
  const leafNode = readLeafNode(r);
  const nodes = r.varVector(
    (s) => ({
      encryptionKey: s.varBytes('encryption_key'),
      encryptedPathSecret: s.varVector(readHPKECiphertext, 'encrypted_path_secret'),
    }),
    'nodes',
  );
  return { leafNode, nodes };
}
