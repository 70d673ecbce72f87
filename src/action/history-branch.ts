import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfrastructureError } from '../util/errors.ts';
import { parseHistory, appendPoints, historyFileName } from '../history/store.ts';
import { HISTORY_SCHEMA_VERSION, type HistoryFile, type HistoryPoint } from '../history/schema.ts';
import type { Exec } from '../util/exec.ts';

/**
 * The history kept in the repository itself, on a data branch holding one file per suite. An
 * append is a commit built with git plumbing (no checkout, no work tree touched): fetch the branch,
 * add the points to the suite's file, commit on top, push without force. A push rejected because
 * another run pushed first is retried from the fetch, and appending is idempotent, so concurrent
 * runs never lose a point and never duplicate one.
 */

export interface DataBranchOptions {
  exec: Exec;
  /** A clone of the repository whose remote holds the data branch. */
  repoRoot: string;
  remote: string;
  branch: string;
  suite: string;
  points: HistoryPoint[];
  retention: number;
  message: string;
  attempts: number;
  sleep: (ms: number) => Promise<void>;
  log: (line: string) => void;
  /**
   * The token fetch and push authenticate with when the clone keeps no credentials of its own
   * (actions/checkout with persist-credentials: false): given to git for those two commands only,
   * through the environment, never written to .git/config where later steps could read it.
   */
  token?: string;
  /** Called after the commit is made and before it is pushed (tests use it to push first). */
  beforePush?: () => Promise<void>;
}

export interface DataBranchOutcome {
  /** The suite's history before this run's points, as last fetched. */
  before: HistoryFile;
  after: HistoryFile;
  /** False when every point was already on the branch (nothing pushed). */
  added: boolean;
  commit: string | null;
  attempts: number;
}

const IDENTITY = [
  '-c',
  'user.name=github-actions[bot]',
  '-c',
  'user.email=41898282+github-actions[bot]@users.noreply.github.com',
];

type Git = ReturnType<typeof scratchGit>;

interface GitCall {
  stdin?: string;
  /** Uses the scratch index. */
  index?: boolean;
  /** Talks to the remote: gets the token's header, when there is one to give. */
  remote?: boolean;
}

/** git in the repository, with a scratch index of its own (no work tree or index touched). */
function scratchGit(o: DataBranchOptions, scratch: string) {
  const indexEnv = { GIT_INDEX_FILE: path.join(scratch, 'index') };
  let remoteEnv: Record<string, string> | null = null;
  const run = async (args: string[], extra: GitCall = {}) => {
    const env = {
      ...(extra.index ? indexEnv : {}),
      ...(extra.remote ? (remoteEnv ??= await remoteAuthEnv(o)) : {}),
    };
    const result = await o.exec('git', ['-C', o.repoRoot, ...IDENTITY, ...args], {
      timeoutMs: 120_000,
      // A long history is megabytes; exec keeps only the tail of a bigger output by default.
      maxOutputChars: 256 * 1024 * 1024,
      ...(Object.keys(env).length > 0 ? { env: { ...process.env, ...env } } : {}),
      ...(extra.stdin !== undefined ? { stdin: extra.stdin } : {}),
    });
    return { ok: result.exitCode === 0, out: result.stdout.trim(), err: result.stderr.trim() };
  };
  const must = async (args: string[], extra: GitCall = {}) => {
    const r = await run(args, extra);
    if (!r.ok)
      throw new InfrastructureError(`git ${args[0]} failed: ${r.err.split('\n').slice(-3).join(' ')}`);
    return r.out;
  };
  return { run, must };
}

/** A token may cross the network only encrypted, or stay on this machine. */
function sendsTokenSafely(remoteUrl: string): boolean {
  if (/^https:\/\//i.test(remoteUrl)) return true;
  return /^http:\/\/(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?\//i.test(remoteUrl);
}

/**
 * The token as an HTTP header for the remote's URL, in git's environment-only config
 * (GIT_CONFIG_COUNT, git >= 2.31). None when there is no token, the remote is not https (or http
 * to a loopback address), or the clone already sends a header of its own (two Authorization
 * headers are refused by GitHub).
 */
export async function remoteAuthEnv(o: DataBranchOptions): Promise<Record<string, string>> {
  if (!o.token) return {};
  const url = await o.exec('git', ['-C', o.repoRoot, 'remote', 'get-url', o.remote], { timeoutMs: 30_000 });
  const remoteUrl = url.stdout.trim();
  if (url.exitCode !== 0 || !sendsTokenSafely(remoteUrl)) return {};
  const configured = await o.exec(
    'git',
    ['-C', o.repoRoot, 'config', '--get-regexp', '^http\\..*\\.extraheader$'],
    { timeoutMs: 30_000 },
  );
  if (configured.exitCode === 0 && configured.stdout.trim() !== '') return {};
  const origin = new URL(remoteUrl).origin;
  const basic = Buffer.from(`x-access-token:${o.token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraheader`,
    GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${basic}`,
  };
}

export async function appendToDataBranch(o: DataBranchOptions): Promise<DataBranchOutcome> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'history-index-'));
  const git = scratchGit(o, scratch);
  try {
    for (let attempt = 1; ; attempt++) {
      const { parent, before } = await fetchHistory(o, git);
      const outcome = appendPoints(before, o.points, o.retention);
      if (!outcome.added) return { before, after: before, added: false, commit: parent, attempts: attempt };
      const commit = await commitHistory(o, git, parent, outcome.history);
      await o.beforePush?.();
      const pushed = await git.run(['push', '--quiet', o.remote, `${commit}:refs/heads/${o.branch}`], {
        remote: true,
      });
      if (pushed.ok) return { before, after: outcome.history, added: true, commit, attempts: attempt };
      await retryAfterRejection(o, pushed.err, attempt);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The branch's head (null when it does not exist yet) and the suite's history there. */
async function fetchHistory(
  o: DataBranchOptions,
  git: Git,
): Promise<{ parent: string | null; before: HistoryFile }> {
  const trackingRef = `refs/athena-bench/data/${o.branch}`;
  const file = historyFileName(o.suite);
  const fetched = await git.run(['fetch', '--no-tags', o.remote, `+refs/heads/${o.branch}:${trackingRef}`], {
    remote: true,
  });
  if (!fetched.ok && !/couldn't find remote ref|could not find remote ref/i.test(fetched.err)) {
    throw new InfrastructureError(`git fetch of ${o.branch} failed: ${fetched.err}`);
  }
  const parent = fetched.ok ? await git.must(['rev-parse', trackingRef]) : null;
  const shown = parent ? await git.run(['show', `${parent}:${file}`]) : { ok: false, out: '' };
  const before: HistoryFile = shown.ok
    ? parseHistory(shown.out, `${o.branch}/${file}`)
    : { schemaVersion: HISTORY_SCHEMA_VERSION, kind: 'athena-bench-history', suite: o.suite, points: [] };
  return { parent, before };
}

/** A commit on top of parent with the suite's file replaced, made with plumbing only. */
async function commitHistory(
  o: DataBranchOptions,
  git: Git,
  parent: string | null,
  history: HistoryFile,
): Promise<string> {
  const blob = await git.must(['hash-object', '-w', '--stdin'], {
    stdin: `${JSON.stringify(history, null, 1)}\n`,
  });
  await git.must(parent ? ['read-tree', parent] : ['read-tree', '--empty'], { index: true });
  await git.must(['update-index', '--add', '--cacheinfo', `100644,${blob},${historyFileName(o.suite)}`], {
    index: true,
  });
  const tree = await git.must(['write-tree'], { index: true });
  return git.must(['commit-tree', tree, ...(parent ? ['-p', parent] : []), '-m', o.message]);
}

/** A push another run beat is retried after a backoff; any other failure, or too many, throws. */
async function retryAfterRejection(o: DataBranchOptions, err: string, attempt: number): Promise<void> {
  const rejected = /rejected|non-fast-forward|fetch first|failed to update ref|cannot lock ref/i.test(err);
  if (!rejected || attempt >= o.attempts) {
    throw new InfrastructureError(
      `git push to ${o.branch} failed${rejected ? ` ${attempt} times (other runs kept pushing first)` : ''}: ${err}`,
    );
  }
  const wait = Math.min(8000, 250 * 2 ** (attempt - 1) + Math.floor(Math.random() * 250));
  o.log(`The data branch ${o.branch} moved meanwhile (push rejected); retrying in ${wait} ms.`);
  await o.sleep(wait);
}
