// Signaling protocol constants: version, error codes, close codes and the default limits the
// validator applies. One definition for the server, the page and Node participants.

/** Every message carries `v: PROTOCOL_VERSION`; a different value gets `unsupported-version`. */
export const PROTOCOL_VERSION = 1;

/**
 * Stable error codes (the `code` of an `error` message). Clients branch on these strings;
 * never rename one, only add.
 */
export const ErrorCode = {
  /** The message is not valid JSON, lacks a field, or a field has the wrong type or size. */
  badRequest: 'bad-request',
  /** `v` is not PROTOCOL_VERSION. */
  unsupportedVersion: 'unsupported-version',
  /** `type` is not a request the server knows. */
  unknownType: 'unknown-type',
  /** The text frame exceeds the server's maxMessageBytes (larger frames close the socket, 1009). */
  tooLarge: 'too-large',
  /** The request needs a joined room (send `join` first). */
  notJoined: 'not-joined',
  /** `join` on a connection that is already in a room. */
  alreadyJoined: 'already-joined',
  /** The room has maxMembersPerRoom connections. */
  roomFull: 'room-full',
  /** The process has maxRooms rooms. */
  tooManyRooms: 'too-many-rooms',
  /** The join token is missing, malformed, expired or does not match room and name. */
  unauthorized: 'unauthorized',
  /** A handshake message for an epoch other than the room's current one; `epoch` says which is current. */
  staleEpoch: 'stale-epoch',
  /** The room has no MLS group yet (the first member must `createGroup`). */
  noGroup: 'no-group',
  /** `createGroup` for a room whose group already exists (`epoch`/`groupInfo` are attached). */
  groupExists: 'group-exists',
  /** A member-only operation from a connection that holds no leaf in the group. */
  notMember: 'not-member',
  /** The MLS bytes do not parse as the expected MLSMessage (public framing). */
  badMessage: 'bad-message',
  /** The MLS message names another group. */
  wrongGroup: 'wrong-group',
  /** The operation is never allowed to this sender (e.g. an external-sender proposal from a client). */
  forbidden: 'forbidden',
  /** A referenced object (transport, producer, consumer, seq) does not exist. */
  notFound: 'not-found',
  /** The claimed leaf index conflicts with the sender or another member. */
  conflict: 'conflict',
  /** Resume failed (grace period over, unknown member or log no longer covers the gap): join afresh. */
  resumeFailed: 'resume-failed',
  /** The media server rejected the request (bad RTP parameters, capabilities, ...). */
  mediaError: 'media-error',
  /** Anything else; the server logged it. */
  internal: 'internal',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
export const ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);

/**
 * WebSocket close codes the server uses (RFC 6455 §7.4; 4000-4999 are private use).
 *   1001 going away          the server shuts down
 *   1009 message too big     a frame larger than the hard frame cap (ws closes it)
 *   4000 binary frame        the protocol is JSON text frames only
 *   4001 flood               more than the per-connection message rate allows
 *   4002 heartbeat timeout   no pong within heartbeatTimeoutMs (the socket is terminated; a
 *                            client sees 1006 since nothing can be sent to a dead peer)
 *   4003 evicted             the member sent a commit the other members rejected (rolled back)
 *   4004 resumed elsewhere   a newer connection resumed this member's session
 */
export const CloseCode = {
  goingAway: 1001,
  messageTooBig: 1009,
  binaryFrame: 4000,
  flood: 4001,
  heartbeatTimeout: 4002,
  evicted: 4003,
  resumedElsewhere: 4004,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Field limits the validator applies (independent of the server's configurable limits). */
export const FieldLimits = {
  /** Room names: 1-64 characters of [A-Za-z0-9._-]. */
  roomName: 64,
  /** Display name (also the MLS identity): 1-64 UTF-16 code units, no control characters. */
  displayName: 64,
  /** Join tokens. */
  token: 512,
  /** Request ids are integers in [0, 2^31 - 1]. */
  maxId: 0x7fffffff,
  /** Opaque ids (transports, producers, ...). */
  objectId: 64,
  /** Nested depth of opaque JSON objects (RTP parameters, capabilities). */
  jsonDepth: 16,
  /** Free-text reasons. */
  reason: 200,
  /** Leaf indices (MLS limits trees to 2^32 leaves; we cap lower). */
  maxLeafIndex: 0xffffff,
  /** removed[] in a commit. */
  maxRemoved: 1024,
} as const;
