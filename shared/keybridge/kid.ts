// KID layout for MLS-based SFrame, RFC 9605 §5.2:
//
//     64-S-E bits   S bits   E bits
//    <-----------> <------> <------>
//   +-------------+--------+-------+
//   | Context ID  | Index  | Epoch |
//   +-------------+--------+-------+
//
//   KID = (context << (S + E)) + (sender_index << E) + (epoch % (1 << E))
//
// S is the smallest value with group_size <= (1 << S) (group_size: the epoch's tree size in leaves).

import { assertBigInt, assertInt } from '../bytes/index.js';

export const MAX_EPOCH_BITS = 16;
/** Largest tree (leaf count) the bridge accepts: keeps S <= 31 so indices stay plain numbers. */
export const MAX_TREE_SIZE = 2 ** 31;

/** S: the smallest value such that treeSize <= 2^S. */
export function senderIndexBits(treeSize: number): number {
  assertInt(treeSize, 'treeSize', 1, MAX_TREE_SIZE);
  let s = 0;
  while (2 ** s < treeSize) s++;
  return s;
}

/** Largest context value that fits the remaining 64 - S - E bits. */
export function maxContext(S: number, E: number): bigint {
  return (1n << BigInt(64 - S - E)) - 1n;
}

export function composeKid(context: bigint, senderIndex: number, epoch: bigint, S: number, E: number): bigint {
  assertInt(E, 'epochBits', 1, MAX_EPOCH_BITS);
  assertInt(S, 'S', 0, 31);
  assertInt(senderIndex, 'senderIndex', 0, 2 ** S - 1);
  assertBigInt(epoch, 'epoch');
  assertBigInt(context, 'context', 0n, maxContext(S, E));
  const e = BigInt(E);
  return (context << (BigInt(S) + e)) + (BigInt(senderIndex) << e) + (epoch & ((1n << e) - 1n));
}

export interface KidParts {
  context: bigint;
  senderIndex: number;
  /** The epoch's low E bits. */
  epochBits: number;
}

export function parseKid(kid: bigint, S: number, E: number): KidParts {
  const e = BigInt(E);
  return {
    context: kid >> (BigInt(S) + e),
    senderIndex: Number((kid >> e) & ((1n << BigInt(S)) - 1n)),
    epochBits: Number(kid & ((1n << e) - 1n)),
  };
}
