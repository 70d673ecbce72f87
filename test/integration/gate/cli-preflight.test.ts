// `athena-bench run --base-ref` with a proxy that cannot run beside its base is refused before
// anything starts: exit 2 in seconds with the fix, not EADDRINUSE, retries and exit 3 minutes later.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function run(args: string[]): { code: number | null; stderr: string; ms: number } {
  const started = Date.now();
  const result = spawnSync(process.execPath, [path.join(repoRoot, 'dist/cli.js'), 'run', ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stderr: result.stderr, ms: Date.now() - started };
}

function commitAll(dir: string): void {
  const git = (...args: string[]): void => {
    const result = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
  };
  git('init', '-q');
  git('add', '.');
  git('-c', 'user.name=test', '-c', 'user.email=test@example.com', 'commit', '-qm', 'a proxy');
}

test('a fixed-port proxy in base-vs-head mode exits 2 in seconds with the fix printed', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athena-bench-preflight-'));
  try {
    writeFileSync(
      path.join(dir, 'fixed-port-proxy.mjs'),
      "import net from 'node:net';\nnet.createServer((c) => c.end()).listen(3307, '127.0.0.1');\n",
    );
    // A checkout of its own, as a user's proxy repository is: --base-ref resolves in it.
    commitAll(dir);
    const out = path.join(dir, 'out');
    const { code, stderr, ms } = run([
      '--base-ref',
      'HEAD',
      '--proxy-start',
      'node fixed-port-proxy.mjs',
      '--proxy-port',
      '3307',
      '--proxy-cwd',
      dir,
      '--out',
      out,
    ]);
    assert.equal(code, 2, stderr);
    assert.ok(ms < 10_000, `took ${ms} ms`);
    assert.match(stderr, /fixed port \(3307 in `fixed-port-proxy\.mjs`\)/);
    assert.match(stderr, /Make it listen on \$ATHENA_BENCH_PROXY_PORT/);
    assert.equal(existsSync(path.join(out, 'results.json')), false, 'refused before the run started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a proxy started from an uncommitted build output with no build command exits 2 naming it', () => {
  const { code, stderr, ms } = run([
    '--base-ref',
    'HEAD',
    '--proxy-start',
    'node proxy/dist/athena.js --port "$ATHENA_BENCH_PROXY_PORT"',
    '--proxy-port',
    '3307',
  ]);
  assert.equal(code, 2, stderr);
  assert.ok(ms < 10_000, `took ${ms} ms`);
  assert.match(stderr, /`proxy\/dist\/athena\.js`.*not committed.*--proxy-build/s);
});
