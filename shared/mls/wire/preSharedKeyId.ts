// PreSharedKeyID and PSKLabel (RFC 9420 §8.4).
//   enum { reserved(0), external(1), resumption(2), (255) } PSKType;
//   enum { reserved(0), application(1), reinit(2), branch(3), (255) } ResumptionPSKUsage;
//   struct {
//     PSKType psktype;
//     select (PreSharedKeyID.psktype) {
//       case external:   opaque psk_id<V>;
//       case resumption: ResumptionPSKUsage usage; opaque psk_group_id<V>; uint64 psk_epoch;
//     };
//     opaque psk_nonce<V>;
//   } PreSharedKeyID;
//   struct { PreSharedKeyID id; uint16 index; uint16 count; } PSKLabel;
import { encode, type Reader, type Writer } from '../../codec/index.js';
import { expectOneOf } from './util.js';

export const PSKType = { external: 1, resumption: 2 } as const;
export const ResumptionPSKUsage = { application: 1, reinit: 2, branch: 3 } as const;

export type PreSharedKeyID =
  | { pskType: typeof PSKType.external; pskId: Uint8Array; pskNonce: Uint8Array }
  | {
      pskType: typeof PSKType.resumption;
      usage: number;
      pskGroupId: Uint8Array;
      pskEpoch: bigint;
      pskNonce: Uint8Array;
    };

export function writePreSharedKeyID(w: Writer, p: PreSharedKeyID): void {
  w.u8(p.pskType);
  if (p.pskType === PSKType.external) w.varBytes(p.pskId);
  else {
    w.u8(p.usage);
    w.varBytes(p.pskGroupId);
    w.u64(p.pskEpoch);
  }
  w.varBytes(p.pskNonce);
}

export function readPreSharedKeyID(r: Reader): PreSharedKeyID {
  const pskType = expectOneOf(r.u8('psktype'), PSKType, 'psktype');
  if (pskType === PSKType.external) {
    const pskId = r.varBytes('psk_id');
    return { pskType, pskId, pskNonce: r.varBytes('psk_nonce') };
  }
  const usage = expectOneOf(r.u8('usage'), ResumptionPSKUsage, 'usage');
  const pskGroupId = r.varBytes('psk_group_id');
  const pskEpoch = r.u64('psk_epoch');
  return { pskType, usage, pskGroupId, pskEpoch, pskNonce: r.varBytes('psk_nonce') };
}

export function encodePSKLabel(id: PreSharedKeyID, index: number, count: number): Uint8Array {
  return encode((w) => {
    writePreSharedKeyID(w, id);
    w.u16(index);
    w.u16(count);
  });
}
