import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgress, formatDuration } from './progress.ts';

function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, columns: 200, write: (t: string) => chunks.push(t) }, chunks };
}

const info = { workload: 'oltp_rw', arm: 'proxy', round: 2, rounds: 3, durationSec: 30, remainingSec: 100 };

test('plain lines when stderr is not a terminal: start and finish only', () => {
  const { stream, chunks } = capture(false);
  const progress = createProgress(stream);
  progress.runStarted(info);
  progress.runProgress({ elapsedSec: 10, tps: 100, qps: 2000 });
  progress.runFinished('1234 TPS');
  assert.deepEqual(chunks, [
    'oltp_rw · proxy · round 2/3: running 30s, ~1m40s left in total\n',
    'oltp_rw · proxy · round 2/3: 1234 TPS\n',
  ]);
});

test('one live line rewritten in place on a terminal, with the current TPS', () => {
  const { stream, chunks } = capture(true);
  let t = 0;
  const progress = createProgress(stream, () => t);
  progress.runStarted(info);
  progress.runProgress({ elapsedSec: 10, tps: 512.4, qps: 10248 });
  t = 30_000;
  progress.runFinished('done');
  assert.ok(chunks.every((c) => c === '\n' || c.startsWith('\r\x1b[2K')));
  assert.match(chunks[1]!, /round 2\/3 {2}10s\/30s {2}~1m30s left {2}512 TPS {2}10248 QPS/);
  assert.match(chunks[2]!, /30s {2}done/);
  assert.equal(chunks.at(-1), '\n');
});

test('formatDuration', () => {
  assert.equal(formatDuration(59.6), '1m');
  assert.equal(formatDuration(125), '2m05s');
  assert.equal(formatDuration(-3), '0s');
});
