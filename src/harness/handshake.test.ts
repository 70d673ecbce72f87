import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { parseFirstPacket, probeMysqlHandshake } from './handshake.ts';

function packet(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  return Buffer.concat([header, payload]);
}

async function serve(
  onConnection: (socket: net.Socket) => void,
): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('parses a v10 handshake and an ERR packet', () => {
  const hs = parseFirstPacket(
    Buffer.concat([Buffer.from([10]), Buffer.from('10.11.19-MariaDB\0'), Buffer.alloc(20)]),
  );
  assert.deepEqual(hs, { ok: true, kind: 'handshake', serverVersion: '10.11.19-MariaDB' });
  const err = Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('#08004Too many connections')]);
  assert.deepEqual(parseFirstPacket(err), { ok: true, kind: 'error', message: '1040 Too many connections' });
  assert.equal(parseFirstPacket(Buffer.from('HTTP/1.1 400')).ok, false);
});

test('probe reads a handshake split over several TCP writes', async () => {
  const bytes = packet(Buffer.concat([Buffer.from([10]), Buffer.from('8.0.36\0'), Buffer.alloc(30)]));
  const server = await serve((socket) => {
    socket.write(bytes.subarray(0, 2));
    setTimeout(() => socket.end(bytes.subarray(2)), 20);
  });
  try {
    assert.deepEqual(await probeMysqlHandshake('127.0.0.1', server.port), {
      ok: true,
      kind: 'handshake',
      serverVersion: '8.0.36',
    });
  } finally {
    await server.close();
  }
});

test('probe fails on a listener that accepts but says nothing, or closes at once', async () => {
  const silent = await serve(() => undefined);
  const closing = await serve((socket) => socket.destroy());
  try {
    const a = await probeMysqlHandshake('127.0.0.1', silent.port, 200);
    assert.equal(a.ok, false);
    const b = await probeMysqlHandshake('127.0.0.1', closing.port, 1000);
    assert.equal(b.ok, false);
  } finally {
    await silent.close();
    await closing.close();
  }
});
