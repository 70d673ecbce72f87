import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCallgrind } from './callgrind.ts';
import { PerfMap } from './perfMap.ts';
import { comparableName, functionDeltas, functionsPerQuery, writeSymbolizedDump } from './profile.ts';

const DUMP = [
  '# callgrind format',
  'version: 1',
  'events: Ir',
  'summary: 1500',
  '',
  'ob=???',
  'fn=0x0000000000001008',
  '0 1000',
  'cob=/usr/bin/node',
  'cfn=uv__write',
  'calls=1 0',
  '0 300',
  '',
  'ob=/usr/bin/node',
  'fn=uv__write',
  '0 500',
  '',
].join('\n');

test('JIT addresses become JavaScript names in the profile and in the per-query table', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'work-profile-'));
  try {
    const source = path.join(dir, 'callgrind.7.out.1');
    writeFileSync(source, DUMP);
    const map = PerfMap.parse('1000 40 JS:*forward clientSession.ts:1:1\n');
    const target = path.join(dir, 'named.callgrind.out');
    writeSymbolizedDump(source, target, map);
    const named = readFileSync(target, 'utf8');
    assert.match(named, /^fn=JS:\*forward clientSession\.ts:1:1 \[0x0000000000001008\]$/m);
    assert.equal(parseCallgrind(named).totalIr, 1500);

    const perQuery = functionsPerQuery([{ file: source, pid: 7 }], 10, new Map([[7, map]]));
    assert.deepEqual(perQuery, [
      { name: 'JS forward (clientSession.ts)', object: '???', irPerQuery: 100 },
      { name: 'uv__write', object: '/usr/bin/node', irPerQuery: 50 },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JIT names compare across builds: tier, checkout path and line are dropped', () => {
  assert.equal(
    comparableName('JS:*forward file:///tmp/athena-bench-worktree-x/proxy/dist/athena.js:23034:10'),
    'JS forward (athena.js)',
  );
  assert.equal(
    comparableName('JS:~ node:internal/main/run_main_module:1:1'),
    'JS (anonymous) (run_main_module)',
  );
  assert.equal(comparableName('Builtin:ArrayPrototypePush'), 'Builtin:ArrayPrototypePush');
  assert.equal(comparableName('uv__io_poll'), 'uv__io_poll');
});

test('function deltas: the largest change first, functions new on one side included', () => {
  const base = [
    { name: 'a', object: 'x', irPerQuery: 100 },
    { name: 'b', object: 'x', irPerQuery: 50 },
  ];
  const head = [
    { name: 'a', object: 'x', irPerQuery: 101 },
    { name: 'spin', object: '???', irPerQuery: 400 },
  ];
  const deltas = functionDeltas(base, head);
  assert.deepEqual(
    deltas.map((d) => [d.name, d.delta]),
    [
      ['spin', 400],
      ['b', -50],
      ['a', 1],
    ],
  );
});
