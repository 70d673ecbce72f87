import { test } from 'node:test';
import assert from 'node:assert/strict';
import { framePacket, okPacket, writeLenenc } from '../protocol/packets.ts';
import { ResetReplyReader } from './backendConnection.ts';

const columnDefinition = Buffer.concat([writeLenenc(3), Buffer.from('def'), Buffer.alloc(20)]);
const eof = Buffer.from([0xfe, 0, 0, 2, 0]);

/** The replies a server sends to COM_RESET_CONNECTION + SELECT DATABASE(), as whole packets. */
function replies(row: Buffer, deprecateEof: boolean): Buffer[] {
  const packets = [okPacket(1, 2), framePacket(Buffer.from([1]), 1), framePacket(columnDefinition, 2)];
  if (!deprecateEof) packets.push(framePacket(eof, 3));
  packets.push(framePacket(row, 4), deprecateEof ? okPacket(5, 2, 0xfe) : framePacket(eof, 5));
  return packets;
}

function read(packets: Buffer[], deprecateEof: boolean): ResetReplyReader {
  const reader = new ResetReplyReader(deprecateEof);
  packets.forEach((packet, i) => assert.equal(reader.onPacket(packet), i === packets.length - 1));
  return reader;
}

for (const deprecateEof of [false, true]) {
  test(`the schema the server reports after a reset (DEPRECATE_EOF ${deprecateEof ? 'on' : 'off'})`, () => {
    const name = 'schéma';
    const named = read(
      replies(Buffer.concat([writeLenenc(Buffer.byteLength(name)), Buffer.from(name)]), deprecateEof),
      deprecateEof,
    );
    assert.equal(named.schema, name);
    assert.equal(named.failed, false);
    assert.equal(read(replies(Buffer.from([0xfb]), deprecateEof), deprecateEof).schema, null);
    const long = 'd'.repeat(300); // a 3-byte length
    assert.equal(
      read(replies(Buffer.concat([writeLenenc(300), Buffer.from(long)]), deprecateEof), deprecateEof).schema,
      long,
    );
  });
}

test('an ERR to the reset fails it at once', () => {
  const reader = new ResetReplyReader(false);
  assert.equal(
    reader.onPacket(framePacket(Buffer.from([0xff, 0x10, 0x04, 0x23, ...Buffer.from('HY000oops')]), 1)),
    true,
  );
  assert.equal(reader.failed, true);
});
