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

test('a split packet costs the bytes that arrived, not the size its header declares', () => {
  const { framer, packets } = collect();
  const declared = packet(5, randomBytes(1000)).subarray(0, 4);
  declared.writeUIntLE(0xffffff, 0, 3);
  framer.push(Buffer.concat([declared, Buffer.alloc(10)]));
  assert.ok(framer.bufferedBytes <= 64 * 1024, `${framer.bufferedBytes} bytes buffered for 10 received`);
  for (let i = 0; i < 10; i++) framer.push(Buffer.alloc(1000));
  assert.ok(framer.bufferedBytes <= 64 * 1024, `${framer.bufferedBytes} bytes buffered for 10 KB received`);
  assert.equal(packets.length, 0);
});

test('a packet growing through odd-sized chunks comes out whole', () => {
  const big = packet(7, randomBytes(300_001));
  for (const step of [1, 977, 16_385, 70_000]) {
    const { framer, packets } = collect();
    for (let i = 0; i < big.length; i += step) framer.push(big.subarray(i, i + step));
    assert.deepEqual(packets, [big], `chunks of ${step}`);
    assert.equal(framer.bufferedBytes, 0);
  }
});

test('a header over maxPayload stops the framer, at every split of the stream', () => {
  const tooBig = packet(9, Buffer.alloc(301));
  const all = Buffer.concat([...samples, tooBig, samples[0]!]);
  for (let cut = 1; cut < all.length; cut++) {
    const seen: Array<[number, number]> = [];
    const packets: Buffer[] = [];
    const framer = new PacketFramer(
      (p) => packets.push(Buffer.from(p)),
      (declared, seq) => seen.push([declared, seq]),
    );
    framer.maxPayload = 300;
    framer.push(all.subarray(0, cut));
    framer.push(all.subarray(cut));
    framer.push(samples[1]!);
    assert.deepEqual(packets, samples, `split at ${cut}`);
    assert.deepEqual(seen, [[301, 9]], `split at ${cut}`);
  }
});

test('detach() inside the handler hands over the rest of the chunk, at every split', () => {
  const request = packet(1, Buffer.alloc(32, 0x11));
  const after = Buffer.from('\x16\x03\x01 not packets any more');
  const all = Buffer.concat([request, after]);
  for (let cut = 1; cut <= all.length; cut++) {
    const seen: Buffer[] = [];
    const rests: Buffer[] = [];
    const framer = new PacketFramer((p) => {
      seen.push(Buffer.from(p));
      framer.detach((rest) => rests.push(Buffer.from(rest)));
    });
    framer.push(all.subarray(0, cut));
    // Once detached the framer ignores what comes next (the session reads it through TLS instead).
    framer.push(all.subarray(cut));
    assert.deepEqual(seen, [request], `split at ${cut}`);
    const expected = cut < request.length ? after : after.subarray(0, cut - request.length);
    assert.deepEqual(rests, [expected], `split at ${cut}`);
  }
});

test('every buffer a split packet needs is reserved first, its growth included; a refusal stops the framer', () => {
  const big = packet(7, randomBytes(100_000));
  const asked: Array<[number, number]> = [];
  const { framer, packets } = collect();
  framer.reserve = (bytes, seq) => {
    asked.push([bytes, seq]);
    return true;
  };
  for (let at = 0; at < big.length; at += 1000) framer.push(big.subarray(at, at + 1000));
  assert.deepEqual(packets, [big]);
  assert.ok(asked.every(([, seq]) => seq === 7));
  // 16 KiB, then doubled to 32 and 64 KiB, then the packet's own size: what the buffer holds.
  assert.deepEqual(
    asked.map(([bytes]) => bytes),
    [16_384, 16_384, 32_768, big.length - 65_536],
  );
  assert.equal(
    asked.reduce((sum, [bytes]) => sum + bytes, 0),
    big.length,
  );

  const refused = collect();
  let budget = 40_000;
  refused.framer.reserve = (bytes) => {
    if (bytes > budget) return false;
    budget -= bytes;
    return true;
  };
  for (let at = 0; at < big.length; at += 1000) refused.framer.push(big.subarray(at, at + 1000));
  assert.deepEqual(refused.packets, [], 'nothing is handed out once the reservation refused');
  assert.equal(refused.framer.bufferedBytes, 0, 'the partial buffer is dropped');
  refused.framer.push(samples[0]!);
  assert.deepEqual(refused.packets, [], 'the framer stays stopped');
});

test('small packets in one chunk never ask for a reservation', () => {
  const { framer, packets } = collect();
  framer.reserve = () => assert.fail('asked to reserve for a packet that needed no buffer');
  framer.push(stream);
  assert.equal(packets.length, samples.length);
});
