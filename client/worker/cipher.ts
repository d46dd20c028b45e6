// The worker's view of the key bridge: one interface, so the per-frame code does not depend on how
// the bridge is built. Keys live only in this worker; the page posts each epoch's base key and forgets it.

export type UnprotectFailure =
  /** No key for this KID, even after holding the frame (unknown epoch or sender). */
  | 'no-key'
  /** The counter was seen already (RFC 9605 §9.3 replay protection). */
  | 'replay'
  /** Tag mismatch or malformed SFrame: tampered, truncated or not SFrame at all. */
  | 'auth';

export type UnprotectResult =
  | { ok: true; plaintext: Uint8Array; kid: bigint; epoch: bigint; held: boolean }
  | { ok: false; reason: UnprotectFailure; kid: bigint | null; held: boolean; detail: string };

export type ProtectResult = { data: Uint8Array; kid: bigint; epoch: bigint };

export interface FrameCipher {
  /** The current sending epoch, or null before the first key. */
  currentEpoch(): bigint | null;
  installEpoch(epoch: bigint, baseKey: Uint8Array, treeSize: number, ownLeafIndex: number): Promise<void>;
  /** Returns SFrame header || ciphertext, or null when no key is installed yet (the caller drops the frame). */
  protect(streamContext: number, plaintext: Uint8Array, metadata: Uint8Array): Promise<ProtectResult | null>;
  unprotect(data: Uint8Array, metadata: Uint8Array): Promise<UnprotectResult>;
  /** Does this worker hold keys for the epoch `kid` names right now? (False: the frame would be held or dropped.) */
  isLiveKid(kid: bigint): boolean;
  close(): void;
}
