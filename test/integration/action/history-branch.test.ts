// The data branch: appends as commits pushed to a real (local, bare) remote, retried on conflict.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  appendToDataBranch,
  remoteAuthEnv,
  type DataBranchOptions,
} from '../../../src/action/history-branch.ts';
import { parseHistory } from '../../../src/history/store.ts';
import { realExec } from '../../../src/util/exec.ts';
import { syntheticHistory } from '../../helpers/series.ts';

let dir: string;
let remote: string;
const clones: string[] = [];
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-C', cwd, ...args], { encoding: 'utf8' }).trim();

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'history-branch-'));
  remote = path.join(dir, 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', remote]);
  for (const name of ['a', 'b']) {
    const clone = path.join(dir, name);
    execFileSync('git', ['clone', '-q', remote, clone], { stdio: 'ignore' });
    clones.push(clone);
  }
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const points = syntheticHistory('default', { tps: [100, 101, 102, 103] }).points;

function options(
  clone: string,
  pointIndexes: number[],
  extra: Partial<DataBranchOptions> = {},
): DataBranchOptions {
  return {
    exec: realExec,
    repoRoot: clone,
    remote: 'origin',
    branch: 'athena-bench-data',
    suite: 'default',
    points: pointIndexes.map((i) => points[i]!),
    retention: 1000,
    message: 'athena-bench: history',
    attempts: 4,
    sleep: () => Promise.resolve(),
    log: () => undefined,
    ...extra,
  };
}

function branchHistory() {
  return parseHistory(git(remote, 'show', 'athena-bench-data:default.json'), 'default.json');
}

test('the first append creates the branch; the same point again pushes nothing', async () => {
  const first = await appendToDataBranch(options(clones[0]!, [0]));
  assert.equal(first.added, true);
  assert.equal(first.before.points.length, 0);
  assert.deepEqual(
    branchHistory().points.map((p) => p.commit),
    [points[0]!.commit],
  );
  const again = await appendToDataBranch(options(clones[1]!, [0]));
  assert.equal(again.added, false);
  assert.equal(git(remote, 'rev-list', '--count', 'athena-bench-data'), '1');
});

test('a push that loses the race is retried on top of the winner: no point lost, none doubled', async () => {
  const logged: string[] = [];
  const outcome = await appendToDataBranch(
    options(clones[0]!, [2], {
      log: (line) => void logged.push(line),
      // Another run pushes its point between this run's fetch and its push.
      beforePush: async () => {
        if (logged.length === 0) await appendToDataBranch(options(clones[1]!, [1]));
      },
    }),
  );
  assert.equal(outcome.attempts, 2);
  assert.match(logged.join('\n'), /moved meanwhile \(push rejected\); retrying/);
  assert.deepEqual(
    outcome.before.points.map((p) => p.commit),
    [points[0]!.commit, points[1]!.commit],
  );
  assert.deepEqual(
    branchHistory().points.map((p) => p.commit),
    [0, 1, 2].map((i) => points[i]!.commit),
  );
  // Three appends, three commits, each on top of the last (nothing forced).
  assert.equal(git(remote, 'rev-list', '--count', 'athena-bench-data'), '3');
});

test('a push rejected every time fails after the given attempts, naming the cause', async () => {
  let competitor = 3;
  await assert.rejects(
    appendToDataBranch(
      options(clones[0]!, [3], {
        attempts: 2,
        beforePush: async () => {
          // A fresh point each time, so the competitor really pushes.
          const p = {
            ...points[3]!,
            time: new Date(Date.parse(points[3]!.time) + competitor++ * 1000).toISOString(),
          };
          await appendToDataBranch({ ...options(clones[1]!, []), points: [p] });
        },
      }),
    ),
    /git push to athena-bench-data failed 2 times \(other runs kept pushing first\)/,
  );
});

test('a history file larger than exec keeps by default (8 MiB) is read whole and appended to', async () => {
  const metrics = Object.fromEntries(
    Array.from({ length: 100 }, (_, m) => [`m${m}`, Array.from({ length: 1000 }, (_, j) => 100 + (j % 7))]),
  );
  const big = syntheticHistory('big', metrics).points;
  const bigOptions = (pointsToAdd: typeof big) => ({
    ...options(clones[0]!, []),
    branch: 'big-data',
    suite: 'big',
    points: pointsToAdd,
  });
  await appendToDataBranch(bigOptions(big.slice(0, 999)));
  assert.ok(Number(git(remote, 'cat-file', '-s', 'big-data:big.json')) > 8 * 1024 * 1024);
  const last = await appendToDataBranch(bigOptions(big.slice(999)));
  assert.equal(last.before.points.length, 999);
  assert.equal(last.after.points.length, 1000);
});

/**
 * A smart-HTTP git remote on loopback (git http-backend as CGI) that answers 401 to any request
 * without `Authorization: Basic x-access-token:<token>`, as GitHub does for a clone whose checkout
 * kept no credentials.
 */
async function startHttpRemote(bare: string, token: string) {
  const expected = `basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  // The scheme is case-insensitive (RFC 9110); the credentials are not.
  const authorized = (header: string | undefined) =>
    header !== undefined && header.replace(/^basic /i, 'basic ') === expected;
  const seen: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    if (!authorized(req.headers.authorization)) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="test"' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: path.dirname(bare),
        GIT_HTTP_EXPORT_ALL: '1',
        REMOTE_USER: 'x-access-token',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: url.pathname,
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        ...(req.headers['content-encoding']
          ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] }
          : {}),
      },
    });
    req.pipe(cgi.stdin);
    const chunks: Buffer[] = [];
    cgi.stdout.on('data', (c: Buffer) => chunks.push(c));
    cgi.on('close', () => {
      const out = Buffer.concat(chunks);
      const split = out.indexOf('\r\n\r\n');
      const head = out.subarray(0, split).toString('latin1').split('\r\n');
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head) {
        const [name, ...rest] = line.split(':');
        if (/^status$/i.test(name!)) status = Number(rest.join(':').trim().split(' ')[0]);
        else headers[name!.toLowerCase()] = rest.join(':').trim();
      }
      res.writeHead(status, headers).end(out.subarray(split + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${path.basename(bare)}`;
  return { url, seen, authorized, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('a clone that kept no credentials fetches and pushes with the token, which stays out of .git/config', async () => {
  const bare = path.join(dir, 'http-remote.git');
  execFileSync('git', ['init', '-q', '--bare', bare]);
  const token = 'ghs_history_token';
  const http = await startHttpRemote(bare, token);
  try {
    const clone = path.join(dir, 'http-clone');
    execFileSync('git', ['init', '-q', clone]);
    git(clone, 'remote', 'add', 'origin', http.url);

    // Without a token the remote refuses the fetch: the push needs the token.
    await assert.rejects(appendToDataBranch(options(clone, [0])), /git fetch of athena-bench-data failed/);

    const outcome = await appendToDataBranch(options(clone, [0, 1], { token }));
    assert.equal(outcome.added, true);
    const pushed = parseHistory(git(bare, 'show', 'athena-bench-data:default.json'), 'default.json');
    assert.equal(pushed.points.length, 2);
    assert.ok(http.seen.some(http.authorized));
    const config = readFileSync(path.join(clone, '.git', 'config'), 'utf8');
    assert.ok(!config.includes(Buffer.from(`x-access-token:${token}`).toString('base64')), config);
    assert.ok(!/extraheader/i.test(config), config);
  } finally {
    await http.close();
  }
});

test('no token header for a remote that is not https, or a clone that sends its own', async () => {
  const clone = path.join(dir, 'auth-env');
  execFileSync('git', ['init', '-q', clone]);
  git(clone, 'remote', 'add', 'origin', 'https://github.com/acme/proxy.git');
  const env = await remoteAuthEnv(options(clone, [], { token: 'ghs_x' }));
  assert.deepEqual(env, {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.https://github.com/.extraheader',
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${Buffer.from('x-access-token:ghs_x').toString('base64')}`,
  });
  assert.deepEqual(await remoteAuthEnv(options(clone, [])), {}, 'no token, no header');
  // actions/checkout's own header (persist-credentials left on): a second one would be refused.
  git(clone, 'config', 'http.https://github.com/.extraheader', 'AUTHORIZATION: basic abc');
  assert.deepEqual(await remoteAuthEnv(options(clone, [], { token: 'ghs_x' })), {});
  git(clone, 'config', '--unset', 'http.https://github.com/.extraheader');
  for (const url of ['http://example.com/acme/proxy.git', 'git@github.com:acme/proxy.git', remote]) {
    git(clone, 'remote', 'set-url', 'origin', url);
    assert.deepEqual(await remoteAuthEnv(options(clone, [], { token: 'ghs_x' })), {}, url);
  }
});
