// shared/protocol: every message validated before use; errors name the field and carry a stable code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, ErrorCode, PROTOCOL_VERSION, REQUEST_TYPES, parseClientMessage, parseServerMessage } from '../../shared/protocol/index.js';

const opts = { maxMlsBytes: 1000 };
const parse = (o: unknown) => parseClientMessage(typeof o === 'string' ? o : JSON.stringify(o), opts);
const req = (type: string, body: Record<string, unknown> = {}) => ({ v: PROTOCOL_VERSION, id: 7, type, ...body });

test('valid requests of every kind parse into typed messages', () => {
  const samples: Record<string, Record<string, unknown>> = {
    join: { room: 'room-1', name: 'Alice' },
    leave: {},
    createGroup: { groupInfo: 'AAEC', leafIndex: 0 },
    commit: { commit: 'AAEC', groupInfo: 'AAEC', leafIndex: 3, removed: [1, 2] },
    proposal: { message: 'AAEC' },
    rejectCommit: { seq: 4, reason: 'invalid' },
    getGroupInfo: {},
    ping: {},
    getRouterRtpCapabilities: {},
    createWebRtcTransport: { direction: 'send' },
    connectTransport: { transportId: 'abc-1', dtlsParameters: { role: 'client', fingerprints: [] } },
    produce: { transportId: 't', kind: 'video', rtpParameters: { codecs: [] } },
    consume: { transportId: 't', producerId: 'p', rtpCapabilities: { codecs: [] } },
    resumeConsumer: { consumerId: 'c' },
    pauseConsumer: { consumerId: 'c' },
    setPreferredLayers: { consumerId: 'c', spatialLayer: 1, temporalLayer: 2 },
    requestKeyFrame: { consumerId: 'c' },
    closeProducer: { producerId: 'p' },
    pauseProducer: { producerId: 'p' },
    resumeProducer: { producerId: 'p' },
    closeTransport: { transportId: 't' },
    createPlainTransport: { comedia: true },
    connectPlainTransport: { transportId: 't', ip: '127.0.0.1', port: 5000 },
  };
  assert.deepEqual(Object.keys(samples).sort(), [...REQUEST_TYPES].sort(), 'a sample for every request type');
  for (const [type, body] of Object.entries(samples)) {
    const r = parse(req(type, body));
    assert.ok(r.ok, `${type}: ${!r.ok && r.error}`);
    assert.equal(r.message.type, type);
    assert.equal(r.message.id, 7);
  }
});

test('malformed input gets a stable error code naming the problem, with the id when readable', () => {
  const cases: Array<[unknown, string, number | null]> = [
    ['not json', ErrorCode.badRequest, null],
    ['[1,2]', ErrorCode.badRequest, null],
    ['null', ErrorCode.badRequest, null],
    [{ v: 2, id: 1, type: 'ping' }, ErrorCode.unsupportedVersion, 1],
    [{ v: 1, type: 'ping' }, ErrorCode.badRequest, null],
    [{ v: 1, id: -1, type: 'ping' }, ErrorCode.badRequest, null],
    [{ v: 1, id: 1.5, type: 'ping' }, ErrorCode.badRequest, null],
    [{ v: 1, id: 2 ** 40, type: 'ping' }, ErrorCode.badRequest, null],
    [{ v: 1, id: 3, type: 5 }, ErrorCode.badRequest, 3],
    [{ v: 1, id: 3, type: 'explode' }, ErrorCode.unknownType, 3],
    [{ v: 1, id: 3, type: '__proto__' }, ErrorCode.unknownType, 3],
    [req('join', { room: 'a b', name: 'x' }), ErrorCode.badRequest, 7],
    [req('join', { room: 'a'.repeat(65), name: 'x' }), ErrorCode.badRequest, 7],
    [req('join', { room: 'a', name: '' }), ErrorCode.badRequest, 7],
    [req('join', { room: 'a', name: 'x\u0000y' }), ErrorCode.badRequest, 7],
    [req('join', { room: 'a', name: 42 }), ErrorCode.badRequest, 7],
    [req('join', { room: 'a', name: 'x', resume: 'yes' }), ErrorCode.badRequest, 7],
    [req('commit', { commit: 'AAE', groupInfo: 'AAEC', leafIndex: 0 }), ErrorCode.badRequest, 7],
    [req('commit', { commit: 'AA!C', groupInfo: 'AAEC', leafIndex: 0 }), ErrorCode.badRequest, 7],
    [req('commit', { commit: 'A'.repeat(2000), groupInfo: 'AAEC', leafIndex: 0 }), ErrorCode.tooLarge, 7],
    [req('commit', { commit: 'AAEC', groupInfo: 'AAEC', leafIndex: -1 }), ErrorCode.badRequest, 7],
    [req('commit', { commit: 'AAEC', groupInfo: 'AAEC', leafIndex: 0, removed: [1, 'x'] }), ErrorCode.badRequest, 7],
    [req('commit', { commit: 'AAEC', groupInfo: 'AAEC', leafIndex: 0, removed: {} }), ErrorCode.badRequest, 7],
    [req('commit', { commit: ['AAEC'], groupInfo: 'AAEC', leafIndex: 0 }), ErrorCode.badRequest, 7],
    [req('proposal', {}), ErrorCode.badRequest, 7],
    [req('rejectCommit', { seq: 0, reason: 'x' }), ErrorCode.badRequest, 7],
    [req('createWebRtcTransport', { direction: 'sideways' }), ErrorCode.badRequest, 7],
    [req('connectTransport', { transportId: 't', dtlsParameters: [] }), ErrorCode.badRequest, 7],
    [req('produce', { transportId: 't', kind: 'smell', rtpParameters: {} }), ErrorCode.badRequest, 7],
    [req('setPreferredLayers', { consumerId: 'c', spatialLayer: 99 }), ErrorCode.badRequest, 7],
    [req('connectPlainTransport', { transportId: 't', ip: 'evil.example', port: 1 }), ErrorCode.badRequest, 7],
    [req('connectPlainTransport', { transportId: 't', ip: '127.0.0.1', port: 70000 }), ErrorCode.badRequest, 7],
    [req('closeProducer', { producerId: '../../etc' }), ErrorCode.badRequest, 7],
    [req('pauseProducer', {}), ErrorCode.badRequest, 7],
  ];
  for (const [input, code, id] of cases) {
    const r = parse(input);
    assert.equal(r.ok, false, `rejected: ${JSON.stringify(input).slice(0, 80)}`);
    if (r.ok) continue;
    assert.equal(r.code, code, `${JSON.stringify(input).slice(0, 80)}: ${r.error}`);
    assert.equal(r.id, id);
    assert.ok(ERROR_CODES.includes(r.code));
  }
});

test('opaque JSON: depth bounded, prototype keys refused', () => {
  let deep: unknown = {};
  for (let i = 0; i < 40; i++) deep = { a: deep };
  const r1 = parse(req('connectTransport', { transportId: 't', dtlsParameters: deep }));
  assert.ok(!r1.ok && /deeper/.test(r1.error));
  const r2 = parseClientMessage('{"v":1,"id":1,"type":"connectTransport","transportId":"t","dtlsParameters":{"__proto__":{"x":1}}}', opts);
  assert.ok(!r2.ok && /forbidden key/.test(r2.error));
});

test('unknown extra fields are dropped from the typed message', () => {
  const r = parse(req('leave', { evil: true }));
  assert.ok(r.ok);
  assert.equal('evil' in r.message, false);
});

test('parseServerMessage accepts responses, errors and notifications and refuses junk', () => {
  assert.ok(parseServerMessage(JSON.stringify({ v: 1, type: 'response', id: 1, result: {} })));
  assert.ok(parseServerMessage(JSON.stringify({ v: 1, type: 'error', id: null, code: 'bad-request', message: 'x' })));
  assert.ok(parseServerMessage(JSON.stringify({ v: 1, type: 'handshake', seq: 1, epoch: '1', kind: 'commit', from: 'member', message: 'AA==' })));
  assert.equal(parseServerMessage(JSON.stringify({ v: 1, type: 'handshake', seq: 1 })), undefined);
  assert.equal(parseServerMessage('{'), undefined);
  assert.equal(parseServerMessage(JSON.stringify({ v: 9, type: 'response', id: 1, result: {} })), undefined);
  // Member-list changes: entries are checked, since the client applies them to the list it keeps.
  const members = (changed: unknown, left: unknown) => parseServerMessage(JSON.stringify({ v: 1, type: 'members', changed, left }));
  assert.ok(members([{ memberId: 'm1', name: 'Ann', leafIndex: 0 }, { memberId: 'm2', name: 'Bo', leafIndex: null }], ['m3']));
  assert.ok(members([], []));
  assert.equal(members(undefined, []), undefined);
  assert.equal(members({ memberId: 'm1' }, []), undefined);
  assert.equal(members([{ memberId: 'm1', name: 'Ann', leafIndex: -1 }], []), undefined);
  assert.equal(members([{ memberId: 'm1', name: 'Ann', leafIndex: 1.5 }], []), undefined);
  assert.equal(members([{ memberId: 7, name: 'Ann', leafIndex: 0 }], []), undefined);
  assert.equal(members([{ memberId: 'm1', leafIndex: 0 }], []), undefined);
  assert.equal(members([], [1]), undefined);
  assert.equal(members([], 'm1'), undefined);
});
