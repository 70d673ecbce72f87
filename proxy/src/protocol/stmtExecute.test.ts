import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_PACKET_PAYLOAD } from './constants.ts';
import { framePacket } from './packets.ts';
import { copyParamTypes, newParamsBound, withParamTypes } from './stmtExecute.ts';

const LONGLONG = [0x08, 0x00];
const VAR_STRING = [0xfd, 0x00];

/** A COM_STMT_EXECUTE packet (seq 0): fixed part, NULL bitmap, flag, types when given, then `values`. */
function execute(params: number, types: number[] | null, values: Buffer): Buffer {
  const fixed = Buffer.from([0x17, 7, 0, 0, 0, 0x00, 1, 0, 0, 0]);
  const bitmap = Buffer.alloc((params + 7) >> 3);
  const flag = Buffer.from([types === null ? 0 : 1]);
  const parts: Buffer[] = [fixed, bitmap, flag];
  if (types !== null) parts.push(Buffer.from(types));
  parts.push(values);
  return framePacket(Buffer.concat(parts), 0);
}

test('the flag and the types are found after a NULL bitmap of (n + 7) / 8 bytes', () => {
  const values = Buffer.from('0800000000000000', 'hex');
  for (const params of [1, 7, 8, 9, 17]) {
    const types = Array.from({ length: params }, (_, i) => (i % 2 === 0 ? LONGLONG : VAR_STRING)).flat();
    const typed = execute(params, types, values);
    assert.equal(newParamsBound(typed, params), 1, `${params} params`);
    assert.deepEqual([...copyParamTypes(typed, params)!], types);
    const untyped = execute(params, null, values);
    assert.equal(newParamsBound(untyped, params), 0);
    assert.equal(copyParamTypes(untyped, params), null);
  }
});

test('no parameters, or a packet too short to hold the fields, reads as nothing to do', () => {
  const noParams = framePacket(Buffer.from([0x17, 7, 0, 0, 0, 0x00, 1, 0, 0, 0]), 0);
  assert.equal(newParamsBound(noParams, 0), -1);
  assert.equal(copyParamTypes(noParams, 0), null);
  const typed = execute(2, [...LONGLONG, ...LONGLONG], Buffer.alloc(16));
  const flagAt = 4 + 10 + 1;
  for (let cut = 0; cut <= flagAt; cut++) assert.equal(newParamsBound(typed.subarray(0, cut), 2), -1);
  // The flag is there but the types are cut short: they cannot be kept.
  for (let cut = flagAt + 1; cut < flagAt + 5; cut++) {
    assert.equal(copyParamTypes(typed.subarray(0, cut), 2), null, `cut at ${cut}`);
  }
});

test('the copied types do not change when the packet buffer is reused', () => {
  const packet = execute(1, LONGLONG, Buffer.alloc(8));
  const types = copyParamTypes(packet, 1)!;
  packet.fill(0xaa);
  assert.deepEqual([...types], LONGLONG);
});

test('withParamTypes gives exactly the execute the client would have sent with the types', () => {
  const values = Buffer.concat([Buffer.from('2a00000000000000', 'hex'), Buffer.from([3, 0x61, 0x62, 0x63])]);
  const types = [...LONGLONG, ...VAR_STRING];
  const rewritten = withParamTypes(execute(2, null, values), 2, Buffer.from(types));
  assert.deepEqual(rewritten, execute(2, types, values));
  assert.equal(newParamsBound(rewritten, 2), 1);
});

test('a command of 16 MB or more is framed anew across packets with the types spliced in', () => {
  const values = Buffer.alloc(MAX_PACKET_PAYLOAD + 100, 0x5a);
  const untyped = execute(1, null, values);
  assert.ok(untyped.length > 4 + MAX_PACKET_PAYLOAD, 'the command spans two packets');
  const rewritten = withParamTypes(untyped, 1, Buffer.from(VAR_STRING));
  assert.deepEqual(rewritten, execute(1, VAR_STRING, values));
  assert.equal(rewritten.readUIntLE(0, 3), MAX_PACKET_PAYLOAD);
  assert.equal(rewritten[3], 0);
  assert.equal(rewritten[4 + MAX_PACKET_PAYLOAD + 3], 1, 'the second packet has sequence id 1');
});
