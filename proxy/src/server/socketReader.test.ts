import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { adoptWithReader, SocketReader } from './socketReader.ts';

/** A server whose accepted sockets are adopted with a reader; its chunks are copied into `seen`. */
async function adoptingServer(keep: (chunk: Buffer) => boolean) {
  const seen: Array<{ bytes: string; buffer: ArrayBufferLike }> = [];
  const adopted: net.Socket[] = [];
  const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
    const reader = new SocketReader(64);
    reader.onChunk = (chunk) => {
      seen.push({ bytes: chunk.toString('latin1'), buffer: chunk.buffer });
      return keep(chunk);
    };
    const socket = adoptWithReader(accepted, reader);
    assert.ok(socket, 'the accepted socket is adopted');
    adopted.push(socket);
    socket.on('data', () => assert.fail('no stream reads once adopted'));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  const client = net.connect(port, '127.0.0.1');
  await once(client, 'connect');
  return { server, client, seen, adopted };
}

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), 'condition reached in time');
}

async function sendInTurns(client: net.Socket, seen: unknown[], messages: string[]): Promise<void> {
  for (const message of messages) {
    const before = seen.length;
    client.write(message);
    await waitFor(() => seen.length > before);
  }
}

test('an adopted socket reads every chunk into the same buffer while the consumer keeps none', async () => {
  const { server, client, seen, adopted } = await adoptingServer(() => false);
  await sendInTurns(client, seen, ['first', 'second!', 'third']);
  assert.deepEqual(
    seen.map((s) => s.bytes),
    ['first', 'second!', 'third'],
  );
  assert.ok(seen.every((s) => s.buffer === seen[0]!.buffer));
  client.destroy();
  for (const socket of adopted) socket.destroy();
  await new Promise((resolve) => server.close(resolve)); // the adopted sockets are not counted
});

test('a chunk the consumer keeps is never overwritten: the next read goes into a fresh buffer', async () => {
  const kept: Buffer[] = [];
  const { server, client, seen, adopted } = await adoptingServer((chunk) => {
    kept.push(chunk);
    return true;
  });
  await sendInTurns(client, seen, ['aaaa', 'bbbb']);
  assert.deepEqual(
    kept.map((c) => c.toString('latin1')),
    ['aaaa', 'bbbb'],
  );
  assert.notEqual(seen[0]!.buffer, seen[1]!.buffer);
  client.destroy();
  for (const socket of adopted) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

test('a socket without a TCP handle is left alone', () => {
  const socket = new net.Socket();
  assert.equal(adoptWithReader(socket, new SocketReader(64)), null);
  assert.equal(socket.destroyed, false);
  socket.destroy();
});

test('reads of the same length get the same view, a read of another length a new one', () => {
  const views: Buffer[] = [];
  const reader = new SocketReader(64);
  reader.onChunk = (chunk) => {
    views.push(chunk);
    return false;
  };
  reader.onread.buffer().write('abcd', 'latin1');
  reader.onread.callback(4);
  reader.onread.callback(4);
  reader.onread.callback(2);
  assert.equal(views[0], views[1]);
  assert.notEqual(views[1], views[2]);
  assert.equal(views[2]!.toString('latin1'), 'ab');
});
