import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PacketFramer } from './framer.ts';

function packet(seq: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUIntLE(payload.length, 0, 3);
  header[3] = seq;
  return Buffer.concat([header, payload]);
}

function collect(): { framer: PacketFramer; packets: Buffer[] } {
  const packets: Buffer[] = [];
  // Copy: a test must not depend on views staying valid after push() returns.
  const framer = new PacketFramer((p) => packets.push(Buffer.from(p)));
  return { framer, packets };
}

const samples = [
  packet(0, Buffer.from([0x03, ...Buffer.from('SELECT 1')])),
  packet(1, Buffer.alloc(0)),
  packet(2, randomBytes(300)),
  packet(3, Buffer.from([0xfe, 0, 0, 2, 0])),
];
const stream = Buffer.concat(samples);

test('many packets in one chunk come out whole, in order', () => {
  const { framer, packets } = collect();
  framer.push(stream);
  assert.deepEqual(packets, samples);
  assert.equal(framer.hasPartial, false);
});

test('a stream split at every byte boundary yields the same packets', () => {
  for (let cut = 1; cut < stream.length; cut++) {
    const { framer, packets } = collect();
    framer.push(stream.subarray(0, cut));
    framer.push(stream.subarray(cut));
    assert.deepEqual(packets, samples, `split at ${cut}`);
  }
});

test('a stream fed one byte at a time yields the same packets', () => {
  const { framer, packets } = collect();
  for (let i = 0; i < stream.length; i++) framer.push(stream.subarray(i, i + 1));
  assert.deepEqual(packets, samples);
  assert.equal(framer.hasPartial, false);
});

test('packets in a single chunk are views of that chunk, not copies', () => {
  const views: Buffer[] = [];
  const framer = new PacketFramer((p) => views.push(p));
  framer.push(stream);
  assert.equal(views[0]!.buffer, stream.buffer);
});

test('a chunk that is exactly one packet is handed out itself', () => {
  const seen: Buffer[] = [];
  const framer = new PacketFramer((p) => seen.push(p));
  const one = samples[0]!;
  framer.push(one);
  assert.equal(seen[0], one);
});

test('a packet larger than the chunks is assembled once', () => {
  const big = packet(0, randomBytes(200_000));
  const { framer, packets } = collect();
  for (let i = 0; i < big.length; i += 65536) framer.push(big.subarray(i, i + 65536));
  assert.equal(packets.length, 1);
  assert.deepEqual(packets[0], big);
});
