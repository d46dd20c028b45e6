// Mints a join token for a server started with JOIN_TOKEN_SECRET.
//   JOIN_TOKEN_SECRET=... npx tsx server/mint-token.ts --room <room> --name <display name> [--ttl <seconds>]
// Prints the token; pass it in the page (?token=...) or in `join.token`.
import { mintJoinToken } from './signaling/token.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const secret = process.env.JOIN_TOKEN_SECRET;
const room = arg('room');
const name = arg('name') ?? arg('identity');
const ttl = Number(arg('ttl') ?? 3600);
if (!secret || !room || !name || !Number.isInteger(ttl) || ttl <= 0) {
  console.error('usage: JOIN_TOKEN_SECRET=<secret> npx tsx server/mint-token.ts --room <room> --name <display name> [--ttl <seconds, default 3600>]');
  process.exit(1);
}
console.log(mintJoinToken(secret, room, name, Math.floor(Date.now() / 1000) + ttl));
