// Flags of `athena-bench`: help, version and usage errors (exit 2) before anything is started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RUN_FLAG_TYPES, RUN_HELP, parseRunFlags, runCommand } from '../../../src/cli/run.ts';
import { MYSQL_READY_TIMEOUT_SEC } from '../../../src/mysql/waitForServer.ts';
import { TOOL_VERSION } from '../../../src/engine/version.ts';
import { UsageError } from '../../../src/util/errors.ts';
import { realExec } from '../../../src/util/exec.ts';
import { baselineCommand, compareCommand } from '../../../src/cli/verdict.ts';
import { repoRoot, runCli } from '../../helpers/cli.ts';

test('--help on every command, --version, and an unknown command', async () => {
  const [top, unknown] = await Promise.all([runCli(['--help']), runCli(['frobnicate'])]);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Commands:\n {2}run/);
  assert.match(top.stdout, /compare .*\n.*--history FILE.*--history-store DIR/);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  // The subcommands' help in-process (the same functions the CLI dispatches to).
  const out: string[] = [];
  const io = {
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => void out.push(s),
    env: {},
    cwd: repoRoot,
  };
  assert.equal(
    await runCommand(['--help'], { ...io, stderr: { write: () => true }, exec: realExec, repoRoot }),
    0,
  );
  assert.equal(await baselineCommand(['--help'], io), 0);
  assert.equal(await compareCommand(['--help'], io), 0);
  assert.match(out.join(''), /--proxy-start CMD[\s\S]*athena-bench baseline[\s\S]*athena-bench compare/);
  assert.match(TOOL_VERSION, /^\d+\.\d+\.\d+/);
});

test('usage errors exit 2 and name the flag', async () => {
  const noPort = await runCli(['run', '--proxy-start', 'haproxy -f x.cfg']);
  assert.equal(noPort.code, 2);
  assert.match(noPort.stderr, /--proxy-port: required with --proxy-start/);
  const io = {
    stdout: () => undefined,
    stderr: { write: () => true },
    env: {},
    cwd: repoRoot,
    exec: realExec,
    repoRoot,
  };
  await assert.rejects(
    runCommand(['--suite', 'no-such-suite.yaml'], io),
    (e: Error) => e instanceof UsageError,
  );
  await assert.rejects(
    runCommand(['--mysql', 'postgres://x@y/z'], io),
    (e: Error) => e instanceof UsageError && /--mysql: expected the mysql:\/\/ scheme/.test(e.message),
  );
});

test('parseRunFlags validates every value with the flag in the message', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--rounds', 'abc'], /--rounds: expected a round count/],
    [['--rounds', '0'], /--rounds: expected a round count >= 1/],
    [['--duration', '-1'], /--duration/],
    [['--proxy-start', 'x', '--proxy-port', '70000'], /--proxy-port: expected a TCP port <= 65535/],
    [
      ['--proxy-start', 'x', '--proxy-port', '3307', '--proxy-metrics-url', 'ftp://x'],
      /--proxy-metrics-url: expected an http:\/\/ URL/,
    ],
    [['--proxy-port', '3307'], /--proxy-port: only meaningful with --proxy-start/],
    [['--reference', 'nginx'], /--reference: expected haproxy, node-pipe, athena-tls/],
    [['--baseline', 'b.json', '--no-baseline'], /--no-baseline: contradicts --baseline/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [
      ['--proxy-env', 'CARGO_HOME,INPUT_GITHUB_TOKEN'],
      /--proxy-env: never passed: INPUT_\*, ACTIONS_\* and GITHUB_TOKEN/,
    ],
    [['--proxy-env', '$(id)'], /--proxy-env: expected environment variable names/],
    [['--shard', '3/2'], /--shard: expected the shard index <= the shard count/],
    [['--shard', '0/2'], /--shard: expected a shard index >= 1/],
    [['--shard', '1/65'], /--shard: expected at most 64 shards/],
    [['--shard', 'half'], /--shard: expected i\/n, e\.g\. 2\/4/],
    [
      ['--threshold', 'tps=5'],
      /^athena-bench run: --threshold: "tps=5" — expected tps=N% such as tps=5% \(see/,
    ],
    [['--threshold', 'fast=5%'], /--threshold: "fast=5%" — unknown metric "fast"/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseRunFlags(argv),
      (e: Error) => e instanceof UsageError && message.test(e.message),
      argv.join(' '),
    );
  }
  const ok = parseRunFlags(['--suite', 'quick', '--rounds', '3', '--duration', '1.5', '--no-traffic-check']);
  assert.equal(ok.rounds, 3);
  assert.deepEqual(parseRunFlags(['--proxy-env', 'CARGO_HOME,RUSTFLAGS'])['proxy-env'], [
    'CARGO_HOME',
    'RUSTFLAGS',
  ]);
  assert.equal(ok.duration, 1.5);
  assert.equal(ok['no-traffic-check'], true);
  assert.equal(ok.suite, 'quick');
  assert.deepEqual(parseRunFlags(['--shard', '2/4']).shard, { index: 2, count: 4 });
  assert.deepEqual(parseRunFlags(['--threshold', 'tps=5%,p95=10%']).threshold, {
    tps: 5,
    latency_p95_ms: 10,
  });
});

/** The README's `athena-bench run` flags table: flag -> default. */
function readmeRunFlags(): Map<string, string> {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf('### `athena-bench run` flags\n');
  assert.ok(at >= 0, 'README has a "### `athena-bench run` flags" table');
  const rows = new Map<string, string>();
  for (const line of readme.slice(at).split('\n').slice(2)) {
    if (!line.startsWith('|')) {
      if (rows.size > 0) break;
      continue;
    }
    const [flag, defaultValue] = line
      .split('|')
      .slice(1, 3)
      .map((c) => c.trim());
    const name = /^`--([a-z-]+)`$/.exec(flag ?? '')?.[1];
    if (name) rows.set(name, defaultValue ?? '');
  }
  return rows;
}

test('run --help, its flags and the README table list exactly the same flags', () => {
  const flags = Object.keys(RUN_FLAG_TYPES).sort();
  const documented = readmeRunFlags();
  assert.deepEqual([...documented.keys()].sort(), flags);
  for (const flag of flags)
    assert.match(RUN_HELP, new RegExp(`^ {2}(-[a-z], )?--${flag}\\b`, 'm'), `--${flag} in run --help`);
  const helped = [...RUN_HELP.matchAll(/^ {2}(?:-[a-z], )?--([a-z-]+)/gm)].map((m) => m[1]!);
  assert.deepEqual([...new Set(helped)].sort(), flags, 'run --help documents no flag that does not exist');
  const readyDefault = `(default ${MYSQL_READY_TIMEOUT_SEC})`;
  assert.ok(RUN_HELP.includes(readyDefault), readyDefault);
  assert.equal(documented.get('mysql-ready-timeout'), `\`${MYSQL_READY_TIMEOUT_SEC}\``);
});
