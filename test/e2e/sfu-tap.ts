// What the SFU forwards: a mediasoup DirectTransport consumer attached in-process to a producer of the room's
// router receives the same RTP packets any receiver gets. We parse each packet's payload (RFC 3550 header,
// RFC 7741 VP8 payload descriptor) and check that after the clear codec prefix comes an SFrame header
// (RFC 9605 §4.3) with a KID of the expected epoch, followed by ciphertext + 16-byte tag.
import type { types } from 'mediasoup';
import { decodeHeader } from '../../shared/sframe/header.js';

export interface TapReport {
  packets: number;
  /** Packets that start a frame (for VP8: S=1, PID=0; for Opus: every packet). */
  frameStarts: number;
  /** Frame starts whose payload (after the clear prefix) parses as SFrame with the expected epoch bits. */
  sframeOk: number;
  bad: string[];
  kids: Set<string>;
}

/** RFC 3550 §5.1 fixed header + CSRCs + header extension (RFC 8285); returns the payload (padding removed). */
export function rtpPayload(pkt: Uint8Array): Uint8Array {
  if (pkt.length < 12 || pkt[0]! >> 6 !== 2) throw new Error('not RTP v2');
  const cc = pkt[0]! & 0x0f;
  const hasExt = (pkt[0]! & 0x10) !== 0;
  const padding = (pkt[0]! & 0x20) !== 0;
  let off = 12 + 4 * cc;
  if (hasExt) {
    const len = (pkt[off + 2]! << 8) | pkt[off + 3]!;
    off += 4 + 4 * len;
  }
  let end = pkt.length;
  if (padding) end -= pkt[pkt.length - 1]!;
  return pkt.subarray(off, end);
}

/** RFC 7741 §4.2 VP8 payload descriptor: returns { start, offset } (start = S bit set and PID 0). */
export function vp8Descriptor(p: Uint8Array): { start: boolean; offset: number } {
  const b0 = p[0]!;
  const x = (b0 & 0x80) !== 0;
  const s = (b0 & 0x10) !== 0;
  const pid = b0 & 0x07;
  let off = 1;
  if (x) {
    const b1 = p[off++]!;
    const i = (b1 & 0x80) !== 0;
    const l = (b1 & 0x40) !== 0;
    const t = (b1 & 0x20) !== 0;
    const k = (b1 & 0x10) !== 0;
    if (i) off += (p[off]! & 0x80) !== 0 ? 2 : 1;
    if (l) off += 1;
    if (t || k) off += 1;
  }
  return { start: s && pid === 0, offset: off };
}

export async function tapProducer(
  router: types.Router,
  producerId: string,
  kind: 'audio' | 'video',
  epochBits: { epoch: bigint; bits: number },
  durationMs: number,
): Promise<TapReport> {
  const transport = await router.createDirectTransport();
  const report: TapReport = { packets: 0, frameStarts: 0, sframeOk: 0, bad: [], kids: new Set() };
  const mask = (1n << BigInt(epochBits.bits)) - 1n;
  const okEpochs = new Set([epochBits.epoch & mask, (epochBits.epoch - 1n) & mask]);
  try {
    const consumer = await transport.consume({ producerId, rtpCapabilities: router.rtpCapabilities, paused: false });
    consumer.on('rtp', (buf: Buffer) => {
      report.packets++;
      try {
        const payload = rtpPayload(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength));
        let body: Uint8Array;
        if (kind === 'audio') {
          body = payload; // Opus: the whole frame is SFrame (no clear prefix)
        } else {
          const d = vp8Descriptor(payload);
          if (!d.start) return;
          const vp8 = payload.subarray(d.offset);
          const clear = (vp8[0]! & 0x01) === 0 ? 10 : 1; // keyframe: 10 clear bytes, delta: 1
          body = vp8.subarray(clear);
        }
        report.frameStarts++;
        const h = decodeHeader(body);
        if (!okEpochs.has(h.kid & mask)) {
          if (report.bad.length < 5) report.bad.push(`KID ${h.kid} has epoch bits ${h.kid & mask}, expected ${epochBits.epoch & mask}`);
          return;
        }
        if (kind === 'audio' && body.length < h.length + 16) {
          if (report.bad.length < 5) report.bad.push(`frame too short for an AEAD tag (${body.length} bytes)`);
          return;
        }
        report.kids.add(h.kid.toString());
        report.sframeOk++;
      } catch (e) {
        if (report.bad.length < 5) report.bad.push(String(e));
      }
    });
    if (kind === 'video') await consumer.requestKeyFrame().catch(() => undefined);
    await new Promise((r) => setTimeout(r, durationMs));
    consumer.close();
  } finally {
    transport.close();
  }
  return report;
}
