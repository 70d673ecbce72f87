import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readActionConfig, type InputSource } from './inputs.ts';
import { UsageError } from '../util/errors.ts';
import { MYSQL_READY_TIMEOUT_SEC } from '../mysql/waitForServer.ts';

/** An input source backed by a map, recording the order of every call. */
function source(inputs: Record<string, string>): InputSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    getInput(name) {
      calls.push(`get:${name}`);
      return inputs[name] ?? '';
    },
    setSecret(secret) {
      calls.push(`secret:${secret}`);
    },
  };
}

test('empty inputs give the documented defaults', () => {
  const config = readActionConfig(source({}));
  assert.deepEqual(config.mysql, {
    host: '127.0.0.1',
    port: 3306,
    user: 'root',
    password: '',
    database: 'test',
  });
  assert.equal(config.mysqlReadyTimeoutSec, MYSQL_READY_TIMEOUT_SEC);
  assert.deepEqual(config.proxy, { build: null, start: null, port: 3307, metricsUrl: null, passEnv: [] });
  assert.equal(config.mode, 'compare');
  assert.deepEqual(config.suite, { source: 'default', overrides: { thresholds: {} } });
  assert.equal(config.baseline, null);
  assert.equal(config.baseRef, null);
  assert.equal(config.budgetMinutes, null);
  assert.equal(config.failOnRegression, true);
  assert.equal(config.failOnInconclusive, false);
  assert.equal(config.commentOnPr, 'on-change');
  assert.equal(config.resultsDir, '.athena-bench/results');
  assert.equal(config.shard, null);
  assert.equal(config.githubToken, '');
});

test('given inputs are parsed into typed values', () => {
  const config = readActionConfig(
    source({
      'mysql-port': '13306',
      'mysql-password': 's3cret!',
      'proxy-start': './target/release/athena',
      'proxy-build': 'cargo build --release',
      'proxy-metrics-url': 'http://127.0.0.1:9090/metrics',
      'proxy-env': 'CARGO_HOME, RUSTFLAGS',
      'budget-minutes': '4.5',
      'fail-on-regression': 'False',
      'fail-on-inconclusive': 'TRUE',
      'comment-on-pr': 'always',
      mode: 'update-baseline',
      'base-ref': 'origin/main',
      'github-token': 'ghs_abc',
    }),
  );
  assert.equal(config.mysql.port, 13306);
  assert.equal(config.mysql.password, 's3cret!');
  assert.equal(config.proxy.start, './target/release/athena');
  assert.equal(config.proxy.build, 'cargo build --release');
  assert.equal(config.proxy.metricsUrl, 'http://127.0.0.1:9090/metrics');
  assert.deepEqual(config.proxy.passEnv, ['CARGO_HOME', 'RUSTFLAGS']);
  assert.equal(config.budgetMinutes, 4.5);
  assert.equal(config.failOnRegression, false);
  assert.equal(config.failOnInconclusive, true);
  assert.equal(config.commentOnPr, 'always');
  assert.equal(config.mode, 'update-baseline');
  assert.equal(config.baseRef, 'origin/main');
  assert.equal(config.githubToken, 'ghs_abc');
  assert.deepEqual(readActionConfig(source({ shard: '2/3' })).shard, { index: 2, count: 3 });
});

test('invalid inputs fail with the input name, what was expected and what was given', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ 'mysql-port': 'abc' }, /^input mysql-port: expected an integer 1-65535, got 'abc'$/],
    [{ measure: 'sometimes' }, /^input measure: expected one of both, work, time, got 'sometimes'$/],
    [{ 'mysql-port': '70000' }, /^input mysql-port: expected an integer 1-65535, got '70000'$/],
    [{ 'proxy-port': '-1' }, /^input proxy-port: expected an integer 1-65535, got '-1'$/],
    [{ 'mysql-ready-timeout': '1m' }, /^input mysql-ready-timeout: expected a whole number of seconds/],
    [
      { mode: 'gate' },
      /^input mode: expected one of compare, update-baseline, comment, history, merge, calibrate, got 'gate'$/,
    ],
    [
      { shard: '3/2' },
      /^input shard: expected i\/n, e\.g\. 2\/4 \(shard i of n, 1 <= i <= n <= 64\), got '3\/2'$/,
    ],
    [{ shard: '1/65' }, /^input shard: expected i\/n/],
    [
      { shard: '1/2', mode: 'merge' },
      /^input shard: only with mode compare \(a shard job\), not mode merge$/,
    ],
    [
      { 'comment-on-pr': 'yes' },
      /^input comment-on-pr: expected one of always, on-change, never, got 'yes'$/,
    ],
    [{ 'fail-on-regression': 'yes' }, /^input fail-on-regression: expected true or false, got 'yes'$/],
    [{ 'budget-minutes': '0' }, /^input budget-minutes: expected a positive number of minutes, got '0'$/],
    [{ 'proxy-metrics-url': 'localhost:4307' }, /^input proxy-metrics-url: expected an http\(s\) URL/],
    [{ 'proxy-env': 'CARGO_HOME,GITHUB_TOKEN' }, /^input proxy-env: expected comma-separated .*never INPUT_/],
    [{ 'proxy-env': 'A B' }, /^input proxy-env: expected comma-separated environment variable names/],
    [{ threshold: 'tps=5' }, /^input threshold: "tps=5" — expected tps=N% such as tps=5%$/],
    [{ threshold: 'tps' }, /^input threshold: "tps" — expected METRIC=N% such as tps=5%$/],
    [
      { threshold: 'speed=5%' },
      /^input threshold: "speed=5%" — unknown metric "speed" \(expected one of tps, /,
    ],
    [{ rounds: '0' }, /^input rounds: expected a whole number of rounds 1-200, got '0'$/],
    [{ rounds: '201' }, /^input rounds: expected a whole number of rounds 1-200, got '201'$/],
    [{ duration: '-1' }, /^input duration: expected a positive number of seconds, got '-1'$/],
    [
      { 'suite-file': 'quick' },
      /^input suite-file: expected a \.json, \.yaml or \.yml suite file path, got 'quick'$/,
    ],
    [
      { suite: 'quick', 'suite-file': 'perf/suite.yaml' },
      /^input suite-file: set either suite or suite-file, not both \(suite is 'quick', suite-file 'perf\/suite\.yaml'\)$/,
    ],
  ];
  for (const [inputs, message] of cases) {
    assert.throws(
      () => readActionConfig(source(inputs)),
      (error: unknown) => error instanceof UsageError && message.test(error.message),
      JSON.stringify(inputs),
    );
  }
});

test('suite-file, threshold, rounds and duration make the suite request every mode loads', () => {
  const config = readActionConfig(
    source({ 'suite-file': 'perf/suite.yaml', threshold: 'tps=5%, p95=10%', rounds: '7', duration: '2.5' }),
  );
  assert.deepEqual(config.suite, {
    source: 'perf/suite.yaml',
    overrides: { thresholds: { tps: 5, latency_p95_ms: 10 }, rounds: 7, durationSec: 2.5 },
  });
  assert.equal(readActionConfig(source({ suite: 'quick' })).suite.source, 'quick');
});

test('secrets are masked before any other input is read, and never echoed in errors', () => {
  const src = source({ 'mysql-password': 'pw-123', 'github-token': 'ghs_tok', 'mysql-port': 'x' });
  assert.throws(() => readActionConfig(src), /mysql-port/);
  const firstPlainRead = src.calls.findIndex((c) => c.startsWith('get:') && !/password|token/.test(c));
  const secretCalls = src.calls.map((c, i) => [c, i] as const).filter(([c]) => c.startsWith('secret:'));
  assert.deepEqual(
    secretCalls.map(([c]) => c),
    ['secret:pw-123', 'secret:ghs_tok'],
  );
  for (const [, index] of secretCalls) assert.ok(index < firstPlainRead, src.calls.join(' '));
});

test('an unexpanded token expression means no token', () => {
  assert.equal(readActionConfig(source({ 'github-token': '${{ github.token }}' })).githubToken, '');
});

test('webhook-url: https anywhere, http only to loopback, masked and never shown in an error', () => {
  const read = (url: string) => readActionConfig(source({ 'webhook-url': url }));
  assert.equal(read('').webhookUrl, null);
  for (const url of [
    'https://hooks.slack.example/services/T0/B0/x',
    'http://127.0.0.1:8080/hook',
    'http://[::1]:9/hook',
    'http://localhost/hook',
  ]) {
    assert.equal(read(url).webhookUrl, url);
  }
  for (const url of ['http://hooks.example/T0/secret-path', 'ftp://127.0.0.1/x', 'hooks.example/x']) {
    assert.throws(
      () => read(url),
      (error: unknown) =>
        error instanceof UsageError &&
        /^input webhook-url: expected an https:\/\/ URL .*, got \(hidden\)$/.test(error.message) &&
        !error.message.includes(url),
      url,
    );
  }
  const src = source({ 'webhook-url': 'https://hooks.example/secret-path' });
  readActionConfig(src);
  assert.ok(src.calls.includes('secret:https://hooks.example/secret-path'), src.calls.join(' '));
});
