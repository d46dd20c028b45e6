// Caches of imported backend key objects (WebCrypto CryptoKey, node KeyObject), so a key used
// many times (a member's signature key, a node's HPKE key) is imported once.
//
// Private keys: keyed by the Uint8Array object itself (WeakMap, so entries die with the array);
// a copy of the bytes is kept and compared in constant time on every hit, so an array that was
// modified (e.g. wiped) after import never returns the stale key. No secret becomes a map key.
// Public keys: keyed by their hex string in a bounded LRU map.

import { equal, toHex } from '../bytes/index.js';

export const PUBLIC_KEY_CACHE_SIZE = 1024;

export class PrivateKeyCache<K> {
  private readonly map = new WeakMap<Uint8Array, { copy: Uint8Array; key: Promise<K> }>();

  get(bytes: Uint8Array, importKey: (bytes: Uint8Array) => Promise<K>): Promise<K> {
    const hit = this.map.get(bytes);
    if (hit !== undefined && equal(hit.copy, bytes)) return hit.key;
    const key = importKey(bytes);
    const entry = { copy: bytes.slice(), key };
    this.map.set(bytes, entry);
    key.catch(() => {
      if (this.map.get(bytes) === entry) this.map.delete(bytes);
    });
    return key;
  }
}

export class PublicKeyCache<K> {
  private readonly map = new Map<string, Promise<K>>();
  constructor(private readonly limit = PUBLIC_KEY_CACHE_SIZE) {}

  get(bytes: Uint8Array, importKey: (bytes: Uint8Array) => Promise<K>): Promise<K> {
    const id = toHex(bytes);
    const hit = this.map.get(id);
    if (hit !== undefined) {
      // Refresh LRU position.
      this.map.delete(id);
      this.map.set(id, hit);
      return hit;
    }
    const key = importKey(bytes.slice());
    this.map.set(id, key);
    key.catch(() => {
      if (this.map.get(id) === key) this.map.delete(id);
    });
    if (this.map.size > this.limit) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    return key;
  }
}
