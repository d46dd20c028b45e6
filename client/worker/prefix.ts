// How many leading bytes of an encoded frame stay in the clear (SFrame metadata, authenticated as AAD).
// The SFU and the receiver's RTP depacketizer read these bytes; everything after them is SFrame ciphertext.
//
//   +------------------+-----------------------------------------------+
//   | clear prefix     | SFrame header | encrypted frame body | tag    |
//   +------------------+-----------------------------------------------+
//   '--- metadata ---'  '--------------- RFC 9605 §4.2 ----------------'
//
// VP8 (RFC 6386 §9.1, RFC 7741 §4.3): the 3-byte frame tag's first byte carries the keyframe bit (P);
// keyframes add the start code and dimensions, 10 bytes in all. We keep 1 byte on delta frames and
// 10 on keyframes, so depacketizers and mediasoup's simulcast switch see the keyframe bit and the size.
// VP9 and Opus: nothing needs to be read, the whole frame is encrypted.
// H.264 (Annex B byte stream): the NAL unit headers up to and including the first VCL NAL header stay
// clear (SPS/PPS/SEI before it stay readable, which is what SFUs need to detect keyframes).

export type CodecFamily = 'vp8' | 'vp9' | 'h264' | 'av1' | 'opus' | 'other';

export function codecFamily(mimeType: string, kind: 'audio' | 'video'): CodecFamily {
  const m = mimeType.toLowerCase();
  if (m.endsWith('/vp8')) return 'vp8';
  if (m.endsWith('/vp9')) return 'vp9';
  if (m.endsWith('/h264')) return 'h264';
  if (m.endsWith('/av1')) return 'av1';
  if (m.endsWith('/opus')) return 'opus';
  if (m === '') return kind === 'audio' ? 'opus' : 'vp8';
  return 'other';
}

export const VP8_KEYFRAME_CLEAR_BYTES = 10;
export const VP8_DELTA_CLEAR_BYTES = 1;

/**
 * Clear-prefix length for `frame` in codec `family`. Deterministic from the clear bytes alone, so the
 * receiver computes the same value from the received (protected) frame as the sender did.
 */
export function clearPrefixLength(family: CodecFamily, frame: Uint8Array): number {
  switch (family) {
    case 'vp8': {
      if (frame.length === 0) return 0;
      // RFC 6386 §9.1: bit 0 of the first byte is the inverse keyframe flag (0 = keyframe).
      const keyframe = (frame[0]! & 0x01) === 0;
      const n = keyframe ? VP8_KEYFRAME_CLEAR_BYTES : VP8_DELTA_CLEAR_BYTES;
      return Math.min(n, frame.length);
    }
    case 'h264':
      return h264ClearLength(frame);
    default:
      return 0;
  }
}

/** True when the frame's clear bytes say it is a keyframe (VP8 P bit / H.264 IDR). */
export function isKeyframe(family: CodecFamily, frame: Uint8Array): boolean {
  if (family === 'vp8') return frame.length > 0 && (frame[0]! & 0x01) === 0;
  if (family === 'h264') {
    for (const nal of h264Nals(frame)) if ((frame[nal]! & 0x1f) === 5) return true;
  }
  return false;
}

/** Offsets of the NAL header byte of each NAL unit in an Annex B byte stream (after 00 00 01). */
function* h264Nals(frame: Uint8Array): Generator<number> {
  for (let i = 0; i + 3 < frame.length; i++) {
    if (frame[i] === 0 && frame[i + 1] === 0 && frame[i + 2] === 1) {
      yield i + 3;
      i += 2;
    }
  }
}

function h264ClearLength(frame: Uint8Array): number {
  let last = 0;
  for (const nal of h264Nals(frame)) {
    last = nal + 1;
    const type = frame[nal]! & 0x1f;
    // H.264 §7.4.1.2: types 1..5 are VCL NAL units (coded slices); stop after the first one's header.
    if (type >= 1 && type <= 5) return last;
  }
  return last;
}
