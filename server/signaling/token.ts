// Join tokens: when JOIN_TOKEN_SECRET is set, `join` needs a token minted for the room and name:
//   token = "v1." + expiry (unix seconds) + "." + base64url(HMAC-SHA256(secret, input))
//   input = "sealed-call join v1" 0x0a room 0x0a identity 0x0a expiry
// (the newline separators cannot occur in room names or display names).
import { createHmac, timingSafeEqual } from 'node:crypto';

const LABEL = 'sealed-call join v1';

function mac(secret: string, room: string, identity: string, expiry: number): Buffer {
  return createHmac('sha256', secret).update(`${LABEL}\n${room}\n${identity}\n${expiry}`, 'utf8').digest();
}

export function mintJoinToken(secret: string, room: string, identity: string, expiry: number): string {
  if (!Number.isInteger(expiry) || expiry <= 0) throw new RangeError('expiry must be a positive integer (unix seconds)');
  return `v1.${expiry}.${mac(secret, room, identity, expiry).toString('base64url')}`;
}

export type TokenCheck = { ok: true } | { ok: false; reason: string };

export function verifyJoinToken(secret: string, token: string | undefined, room: string, identity: string, nowMs = Date.now()): TokenCheck {
  if (token === undefined) return { ok: false, reason: 'this server requires a join token' };
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1' || !/^[0-9]{1,12}$/.test(parts[1]!)) return { ok: false, reason: 'the join token is malformed' };
  const expiry = Number(parts[1]);
  const given = Buffer.from(parts[2]!, 'base64url');
  const expected = mac(secret, room, identity, expiry);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'the join token does not match this room and name' };
  }
  if (expiry * 1000 <= nowMs) return { ok: false, reason: 'the join token has expired' };
  return { ok: true };
}
