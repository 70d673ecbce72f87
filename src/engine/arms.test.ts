import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { realExec } from '../util/exec.ts';
import { envPasswordVariable } from '../../proxy/src/contract.ts';
import { athenaTlsArm, baseRefArm, defaultProxyArm, haproxyConfig, type ArmContext } from './arms.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mysql = { host: '127.0.0.1', port: 33060, user: 'bench-user', password: 's3cret-pw', database: 'test' };

test("Athena's arm: generated config with the performance-testing guide's keys, passwords only in the environment", () => {
  const arm = defaultProxyArm(mysql, '/repo', {
    port: 4000,
    metricsPort: 4001,
    configPath: '/out/athena.toml',
  });
  assert.equal(arm.start, 'node proxy/dist/athena.js --config /out/athena.toml');
  assert.equal(arm.build, 'node scripts/build.mjs --proxy-only');
  assert.equal(arm.metricsUrl, 'http://127.0.0.1:4001/metrics');
  assert.equal(arm.trafficCheck, true);
  const config = JSON.parse(JSON.stringify(parseToml(arm.files![0]!.contents))) as Record<string, unknown>;
  assert.deepEqual(config.server, { listen_addr: '127.0.0.1', listen_port: 4000, metrics_port: 4001 });
  assert.deepEqual(config.backend, { host: '127.0.0.1', port: 33060, user: 'bench-user' });
  assert.deepEqual(config.users, [{ name: 'bench-user' }]);
  assert.ok(!arm.files![0]!.contents.includes('s3cret-pw'));
  assert.deepEqual(arm.env, {
    ATHENA_BACKEND_PASSWORD: 's3cret-pw',
    ATHENA_USER_BENCH_USER_PASSWORD: 's3cret-pw',
  });
  assert.equal(envPasswordVariable('USER', 'app.ro'), 'ATHENA_USER_APP_RO_PASSWORD');
  // Without ports: the performance-testing guide's (docs/PERF.md).
  assert.equal(defaultProxyArm(mysql, '/repo').port, 3307);
});

test('haproxy config: TCP mode, one frontend, MySQL as the one backend server', () => {
  const cfg = haproxyConfig(mysql, 5000);
  assert.match(cfg, /mode tcp/);
  assert.match(cfg, /bind 127\.0\.0\.1:5000/);
  assert.match(cfg, /server mysql 127\.0\.0\.1:33060/);
  assert.match(haproxyConfig({ ...mysql, host: '::1' }, 5000), /server mysql \[::1\]:33060/);
});

test('the base-ref arm builds from a git worktree that is removed at cleanup', async () => {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'arms-test-'));
  const cleanups: Array<() => Promise<void>> = [];
  let port = 41000;
  const ctx: ArmContext = {
    mysql,
    outDir,
    exec: realExec,
    allocatePort: async () => port++,
    addCleanup: (_what, fn) => void cleanups.push(fn),
  };
  try {
    const spec = await baseRefArm(repoRoot, 'HEAD')(ctx);
    assert.equal(spec.name, 'base');
    assert.equal(spec.role, 'base');
    assert.match(spec.commit!, /^[0-9a-f]{40}$/);
    assert.ok(existsSync(path.join(spec.cwd, 'scripts', 'build.mjs')), 'the worktree holds the repo');
    assert.ok(existsSync(path.join(spec.cwd, 'node_modules')), 'node_modules shared');
    assert.notEqual(spec.port, 3307);
    assert.match(spec.start, /athena-base\.toml/);
    const worktrees = (await realExec('git', ['worktree', 'list'], { cwd: repoRoot })).stdout;
    assert.ok(worktrees.includes(spec.cwd));
    for (const fn of cleanups.reverse()) await fn();
    assert.ok(!existsSync(spec.cwd));
    assert.ok(!(await realExec('git', ['worktree', 'list'], { cwd: repoRoot })).stdout.includes(spec.cwd));
    await assert.rejects(
      baseRefArm(repoRoot, 'no-such-ref-xyz')(ctx),
      /base-ref no-such-ref-xyz: not a commit/,
    );
  } finally {
    for (const fn of cleanups) await fn().catch(() => undefined);
    rmSync(outDir, { recursive: true, force: true });
  }
});

test('a base arm in a subdirectory: its own commands, node_modules linked at the root and at the proxy', async () => {
  const checkout = mkdtempSync(path.join(os.tmpdir(), 'arms-sub-'));
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'arms-test-'));
  const cleanups: Array<() => Promise<void>> = [];
  const git = (...args: string[]) => realExec('git', ['-C', checkout, ...args]);
  try {
    mkdirSync(path.join(checkout, 'svc', 'node_modules'), { recursive: true });
    mkdirSync(path.join(checkout, 'node_modules'));
    writeFileSync(path.join(checkout, 'svc', 'start.sh'), 'exit 0\n');
    writeFileSync(path.join(checkout, '.gitignore'), 'node_modules\n');
    await git('init', '-q');
    await git('add', '.');
    await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'one');
    const ctx: ArmContext = {
      mysql,
      outDir,
      exec: realExec,
      allocatePort: async () => 41500,
      addCleanup: (_what, fn) => void cleanups.push(fn),
    };
    const spec = await baseRefArm(checkout, 'HEAD', {
      relativeCwd: 'svc',
      build: 'make',
      start: 'sh start.sh',
    })(ctx);
    assert.equal(spec.start, 'sh start.sh');
    assert.equal(spec.build, 'make');
    assert.equal(spec.port, 41500);
    assert.equal(path.basename(spec.cwd), 'svc');
    assert.ok(existsSync(path.join(spec.cwd, 'start.sh')));
    assert.ok(existsSync(path.join(spec.cwd, 'node_modules')), 'the proxy directory shares its node_modules');
    assert.ok(existsSync(path.join(spec.cwd, '..', 'node_modules')), 'the root shares its node_modules');
  } finally {
    for (const fn of cleanups) await fn().catch(() => undefined);
    rmSync(checkout, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
});

test("the TLS arm's key is made outside the run's directory, removed at the end, and refused inside it", async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'arms-tls-out-'));
  const cleanups: Array<() => Promise<void>> = [];
  let port = 41000;
  const ctx = (outDir: string): ArmContext => ({
    mysql,
    outDir,
    exec: realExec,
    allocatePort: async () => (port += 1),
    addCleanup: (_what, fn) => void cleanups.push(fn),
  });
  try {
    const spec = await athenaTlsArm(repoRoot)(ctx(out));
    const keyFile = /^tls_key_file = "(.+)"$/m.exec(spec.recordedConfig ?? '')?.[1];
    assert.ok(keyFile && existsSync(keyFile), spec.recordedConfig);
    const clientDir = spec.clientTls!.filesDir;
    for (const file of [keyFile, clientDir]) {
      assert.ok(path.relative(out, file).startsWith('..'), `${file} is outside ${out}`);
    }
    assert.ok(existsSync(path.join(clientDir, 'client-key.pem')));
    for (const fn of cleanups.splice(0)) await fn();
    assert.ok(!existsSync(keyFile) && !existsSync(clientDir), 'removed by the cleanup');

    // A results directory holding the temporary directory would upload the key: refused.
    await assert.rejects(athenaTlsArm(repoRoot)(ctx(os.tmpdir())), /inside the results directory/);
  } finally {
    for (const fn of cleanups) await fn();
    rmSync(out, { recursive: true, force: true });
  }
});
