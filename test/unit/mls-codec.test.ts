// Wire structs (shared/mls/wire): every struct in messages.json round-trips, and every truncation
// and every trailing byte is rejected with CodecError (never another error, never a silent accept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { equal, fromHex } from '../../shared/bytes/index.js';
import { CodecError, decode, encode, type Reader, type Writer } from '../../shared/codec/index.js';
import { readMLSMessage, writeMLSMessage } from '../../shared/mls/wire/mlsMessage.js';
import { readRatchetTree, writeRatchetTree } from '../../shared/mls/wire/node.js';
import { readGroupSecrets, writeGroupSecrets } from '../../shared/mls/wire/groupSecrets.js';
import { readCommit, writeCommit } from '../../shared/mls/wire/commit.js';
import * as P from '../../shared/mls/wire/proposal.js';
import { vectorsDir } from '../vectors/mls.js';

type Codec = [(r: Reader) => unknown, (w: Writer, v: any) => void];
const FIELDS: Record<string, Codec> = {
  mls_welcome: [readMLSMessage, writeMLSMessage],
  mls_group_info: [readMLSMessage, writeMLSMessage],
  mls_key_package: [readMLSMessage, writeMLSMessage],
  ratchet_tree: [readRatchetTree, writeRatchetTree],
  group_secrets: [readGroupSecrets, writeGroupSecrets],
  add_proposal: [P.readAdd, P.writeAdd],
  update_proposal: [P.readUpdate, P.writeUpdate],
  remove_proposal: [P.readRemove, P.writeRemove],
  pre_shared_key_proposal: [P.readPreSharedKey, P.writePreSharedKey],
  re_init_proposal: [P.readReInit, P.writeReInit],
  external_init_proposal: [P.readExternalInit, P.writeExternalInit],
  group_context_extensions_proposal: [P.readGroupContextExtensions, P.writeGroupContextExtensions],
  commit: [readCommit, writeCommit],
  public_message_application: [readMLSMessage, writeMLSMessage],
  public_message_proposal: [readMLSMessage, writeMLSMessage],
  public_message_commit: [readMLSMessage, writeMLSMessage],
  private_message: [readMLSMessage, writeMLSMessage],
};

const cases = JSON.parse(readFileSync(join(vectorsDir(), 'messages.json'), 'utf8')) as Record<string, string>[];

test('round trip, truncation and trailing bytes for every wire struct', () => {
  let checked = 0;
  for (const c of cases.slice(0, 6)) {
    for (const [field, [read, write]] of Object.entries(FIELDS)) {
      const bytes = fromHex(c[field]!);
      const v = decode(bytes, read, field);
      assert.ok(equal(encode((w) => write(w, v)), bytes), `${field} re-encodes`);
      // Every strict prefix fails with CodecError (stride keeps big messages fast).
      const stride = Math.max(1, Math.floor(bytes.length / 300));
      for (let n = 0; n < bytes.length; n += stride) {
        assert.throws(() => decode(bytes.subarray(0, n), read, field), (e: unknown) => e instanceof CodecError, `${field} truncated to ${n}`);
        checked++;
      }
      const longer = new Uint8Array(bytes.length + 1);
      longer.set(bytes);
      assert.throws(() => decode(longer, read, field), (e: unknown) => e instanceof CodecError && e.code === 'trailing', `${field} + 1 byte`);
    }
  }
  assert.ok(checked > 1000);
});

test('unknown code points are rejected', () => {
  const c = cases[0]!;
  const msg = fromHex(c.mls_key_package!);
  const badVersion = msg.slice();
  badVersion[1] = 2;
  assert.throws(() => decode(badVersion, readMLSMessage), (e: unknown) => e instanceof CodecError && e.code === 'invalid-value');
  const badWire = msg.slice();
  badWire[3] = 9;
  assert.throws(() => decode(badWire, readMLSMessage), (e: unknown) => e instanceof CodecError && e.code === 'invalid-value');
  // proposal type 0x0063 (unknown)
  assert.throws(() => decode(new Uint8Array([0, 0x63, 0, 0, 0, 1]), P.readProposal), (e: unknown) => e instanceof CodecError && e.code === 'invalid-value');
  // ratchet tree ending in a blank node
  assert.throws(() => decode(new Uint8Array([1, 0]), readRatchetTree), (e: unknown) => e instanceof CodecError);
});
