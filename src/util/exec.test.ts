import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { realExec, tailLines } from './exec.ts';
import { InfrastructureError } from './errors.ts';

/** Running (not gone and not a zombie waiting for a reaper that is not ours). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

test('collects stdout, stderr and the exit code without a shell', async () => {
  const result = await realExec(process.execPath, [
    '-e',
    'process.stdout.write("a $HOME;\\n"); process.stderr.write("err"); process.exit(3)',
  ]);
  assert.equal(result.exitCode, 3);
  assert.equal(result.signal, null);
  // "$HOME" is printed literally: no shell expanded it.
  assert.equal(result.stdout, 'a $HOME;\n');
  assert.equal(result.stderr, 'err');
  assert.ok(result.durationMs > 0);
  assert.equal(result.timedOut, undefined);
});

test('line callbacks get every line, split across chunks, and the final partial line', async () => {
  const lines: string[] = [];
  const errLines: string[] = [];
  const script = `
    const w = (s) => new Promise((r) => process.stdout.write(s, r));
    (async () => { await w('one\\ntw'); await new Promise(r => setTimeout(r, 50)); await w('o\\r\\nthree');
      process.stderr.write('e1\\ne2\\n'); })();`;
  const result = await realExec(process.execPath, ['-e', script], {
    onStdoutLine: (l) => lines.push(l),
    onStderrLine: (l) => errLines.push(l),
  });
  assert.equal(result.exitCode, 0);
  assert.deepEqual(lines, ['one', 'two', 'three']);
  assert.deepEqual(errLines, ['e1', 'e2']);
});

test('passes stdin, env and cwd', async () => {
  const result = await realExec(
    process.execPath,
    [
      '-e',
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(s, process.env.X_TEST, process.cwd()))',
    ],
    { stdin: 'hello', env: { ...process.env, X_TEST: 'xyz' }, cwd: '/tmp' },
  );
  assert.equal(result.stdout.trim(), 'hello xyz /tmp');
});

test('a timeout kills the whole process group, grandchildren included', async () => {
  // sh starts a background sleep (a grandchild) and then waits: both must die.
  const result = await realExec('sh', ['-c', 'sleep 30 & echo $!; wait'], {
    timeoutMs: 3000, // long enough for sh to start and print the pid under load
    killGraceMs: 500,
  });
  assert.equal(result.timedOut, true);
  assert.ok(result.durationMs < 15_000, `took ${result.durationMs} ms`);
  const grandchild = Number(result.stdout.trim());
  assert.ok(grandchild > 0);
  // Give the kernel a moment to reap it.
  for (let i = 0; i < 50 && isAlive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(isAlive(grandchild), false, 'the grandchild sleep survived the timeout');
});

test('SIGKILL follows when the child ignores SIGTERM', async () => {
  // Abort only once the child has installed its SIGTERM handler (node starts slowly under load).
  const controller = new AbortController();
  const result = await realExec(
    process.execPath,
    ['-e', 'process.on("SIGTERM",()=>{}); console.log("ready"); setInterval(()=>{}, 1000)'],
    { signal: controller.signal, killGraceMs: 200, onStdoutLine: (l) => l === 'ready' && controller.abort() },
  );
  assert.equal(result.aborted, true);
  assert.equal(result.signal, 'SIGKILL');
});

test('an abort signal kills the child and flags the result', async () => {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 100);
  const result = await realExec('sleep', ['30'], { signal: controller.signal });
  assert.equal(result.aborted, true);
  assert.equal(result.signal, 'SIGTERM');
  const again = await realExec('sleep', ['30'], { signal: controller.signal });
  assert.equal(again.aborted, true);
  assert.equal(again.exitCode, null);
});

test('a missing binary rejects with an InfrastructureError naming it', async () => {
  await assert.rejects(
    realExec('/nonexistent/athena-bench-no-such-binary', []),
    (error: unknown) =>
      error instanceof InfrastructureError &&
      /athena-bench-no-such-binary/.test(error.message) &&
      /ENOENT/.test(error.message),
  );
});

test('tailLines keeps the last lines', () => {
  assert.equal(tailLines('a\nb\nc\n', 2), 'b\nc');
});
