import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhaseRecorder } from './phases.ts';
import { PhaseSchema } from '../results/schema.ts';

function fakeClock(startMs: number): { now: () => number; advance: (ms: number) => void } {
  let ms = startMs;
  return { now: () => ms, advance: (by) => (ms += by) };
}

test('each phase records its start and wall time from the injected clock', async () => {
  const clock = fakeClock(Date.UTC(2026, 0, 1));
  const recorder = new PhaseRecorder(clock.now);
  const value = await recorder.time('proxy build', () => {
    clock.advance(1500);
    return 42;
  });
  await recorder.time('prepare', async () => clock.advance(250), { workload: 'oltp', arm: 'proxy' });
  assert.equal(value, 42);
  assert.deepEqual(recorder.phases(), [
    { name: 'proxy build', startedAt: '2026-01-01T00:00:00.000Z', seconds: 1.5 },
    { name: 'prepare', workload: 'oltp', arm: 'proxy', startedAt: '2026-01-01T00:00:01.500Z', seconds: 0.25 },
  ]);
  for (const phase of recorder.phases()) PhaseSchema.parse(phase);
});

test('a phase that throws is still recorded and the error propagates', async () => {
  const clock = fakeClock(0);
  const recorder = new PhaseRecorder(clock.now);
  await assert.rejects(
    recorder.time('MySQL start', () => {
      clock.advance(3000);
      throw new Error('no server');
    }),
    /no server/,
  );
  assert.deepEqual(
    recorder.phases().map((p) => [p.name, p.seconds]),
    [['MySQL start', 3]],
  );
});

test('nested phases are listed in the order they started', async () => {
  const clock = fakeClock(0);
  const recorder = new PhaseRecorder(clock.now);
  await recorder.time('workload', async () => {
    clock.advance(10);
    await recorder.time('warmup', () => clock.advance(20));
  });
  assert.deepEqual(
    recorder.phases().map((p) => p.name),
    ['workload', 'warmup'],
  );
});
