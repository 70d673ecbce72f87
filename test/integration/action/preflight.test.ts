// The Action on a pull request without a baseline compares with the merge-base, base next to head:
// a proxy-start on a fixed port fails the step at once with the fix, before anything is built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import {
  buildActionBundle,
  explain,
  mysqlInputs,
  quickSelectSuite,
  repoRoot,
  runAction,
} from '../../helpers/action.ts';

let server: LocalServer;
let tmp: string;
let bundle: string;
let workspace: string;

before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'action-preflight-'));
  workspace = path.join(tmp, 'repo');
  execFileSync('git', ['clone', '--quiet', '--shared', repoRoot, workspace]);
  bundle = await buildActionBundle(path.join(tmp, 'dist', 'index.js'));
  server = await startLocalServer();
});

after(async () => {
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('a fixed-port proxy-start on a pull request without a baseline fails in seconds with the fix', async () => {
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', workspace, ...args], { encoding: 'utf8' }).trim();
  const repository = { name: 'proxy', full_name: 'acme/proxy', owner: { login: 'acme' } };
  const eventPath = path.join(tmp, 'event.json');
  await writeFile(
    eventPath,
    JSON.stringify({
      action: 'opened',
      number: 7,
      pull_request: {
        number: 7,
        head: { sha: git('rev-parse', 'HEAD'), ref: 'feature', repo: repository },
        base: { sha: git('rev-parse', 'HEAD~1'), ref: 'main', repo: repository },
      },
      repository,
    }),
  );
  // A suite with no committed baseline: the Action compares with the merge-base.
  const suiteFile = path.join(tmp, 'suite.json');
  await writeFile(suiteFile, JSON.stringify(quickSelectSuite('preflight', 2, 1)));
  const started = Date.now();
  const run = await runAction({
    bundle,
    tmp,
    name: 'preflight',
    eventName: 'pull_request',
    eventPath,
    workspace,
    inputs: {
      ...mysqlInputs(server),
      // The performance-testing guide's (docs/PERF.md) athena-rs, as a newcomer first writes it: its config says 3307.
      'proxy-build': 'cargo build --release',
      'proxy-start': './target/release/athena',
      'proxy-port': '3307',
      suite: suiteFile,
      'comment-on-pr': 'never',
    },
    env: {
      GITHUB_REPOSITORY: 'acme/proxy',
      GITHUB_SHA: git('rev-parse', 'HEAD'),
      GITHUB_API_URL: 'http://127.0.0.1:9',
    },
  });
  const ms = Date.now() - started;
  assert.notEqual(run.exitCode, 0, explain(run));
  assert.ok(ms < 10_000, `took ${ms} ms`);
  const log = run.stdout + run.stderr;
  assert.match(log, /proxy-start listens on a fixed port \(3307, the proxy-port\)/, explain(run));
  assert.match(log, /Make it listen on \$ATHENA_BENCH_PROXY_PORT/);
  assert.doesNotMatch(log, /building arm/, 'refused before any build');
  assert.equal(existsSync(path.join(workspace, 'target')), false);
});
