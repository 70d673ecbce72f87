import type { MysqlConnection } from '../mysql/url.ts';
import type { Environment, Results } from '../results/schema.ts';
import type { Measure } from '../model/channel.ts';
import type { GitOps } from '../gate/git.ts';
import type { Suite } from '../suite/schema.ts';
import type { SuiteRequest } from '../suite/overrides.ts';
import type { Reference } from '../gate/reference.ts';
import type { Shard } from '../gate/shard.ts';
import type { Baseline } from '../verdict/baseline.ts';
import type { Verdict } from '../model/verdict.ts';
import type { ArtifactWorkload } from './artifact.ts';
import type { IssueCommentsApi } from './comment.ts';
import type { IssuesApi } from './history-alert.ts';
import type { DataBranchOptions, DataBranchOutcome } from './history-branch.ts';
import type { InputSource } from './inputs.ts';

/**
 * Everything the Action's logic needs from the outside world, injected: @actions/core-like
 * functions, the GitHub event and API, git, the benchmark engine and the verdicts. The real ones
 * are built in github-adapter.ts and engine-adapter.ts; tests pass doubles.
 */

export type { Verdict, GitOps };

export interface ActionCore extends InputSource {
  info(message: string): void;
  warning(message: string): void;
  /** An error annotation on the run. */
  error(message: string, properties?: { title?: string }): void;
  setFailed(message: string): void;
  setOutput(name: string, value: string): void;
  /** Appends markdown to the job summary (GITHUB_STEP_SUMMARY). */
  writeSummary(markdown: string): Promise<void>;
}

export interface PullRequestInfo {
  number: number;
  baseSha: string;
  headSha: string;
  /** owner/name of the head and base repositories: they differ for a fork. */
  headRepo: string;
  baseRepo: string;
}

export interface WorkflowRunInfo {
  headSha: string;
  /** Pull requests GitHub associates with the run (empty for fork pull requests). */
  pullRequestNumbers: number[];
  /** The run's page (its job summary has the full report). */
  htmlUrl: string | null;
}

export interface GitHubContext {
  eventName: string;
  /** owner/name */
  repository: string;
  sha: string;
  /** GITHUB_REF: refs/heads/<branch> on a push (mode history refuses that branch as its data branch). */
  ref?: string;
  /** Link to this workflow run, for the comment footer. */
  runUrl: string | null;
  pullRequest: PullRequestInfo | null;
  workflowRun: WorkflowRunInfo | null;
}

/** The GitHub API calls the Action makes, with the token from the inputs. */
export interface GitHubApi extends IssueCommentsApi {
  /** The head commit of a pull request (to check a workflow_run artifact belongs to it). */
  pullRequestHeadSha(pullNumber: number): Promise<string>;
}

/** How the run is judged; the engine also uses it to decide on adaptive extra rounds. */
export type ComparisonPlan = Reference;

export interface ProxyUnderTest {
  build: string | null;
  start: string | null;
  port: number;
  metricsUrl: string | null;
  /** Environment variables passed to build and start beyond the allow-list (src/util/childEnvironment.ts). */
  passEnv: readonly string[];
  cwd: string;
}

export interface BenchRequest {
  mysql: MysqlConnection & { database: string };
  suite: Suite;
  proxy: ProxyUnderTest;
  /** Base-vs-head: the checkout the base commit is built from, in a worktree the run adds and removes. */
  base: { checkout: string; commit: string } | null;
  budgetMinutes: number | null;
  measure: Measure;
  outDir: string;
  plan: ComparisonPlan;
  /** Run only this shard of the suite (src/gate/shard.ts). */
  shard?: Shard | null;
}

export interface BenchOutcome {
  results: Results;
  resultsPath: string;
  reportPath: string;
  /** The report, the verdict first when there is one. */
  reportMarkdown: string;
  /** The report without the verdict: below a verdict shown on its own (the job summary). */
  measurementMarkdown: string;
  /** The verdict (null for a measurement only, plan `none`). */
  comparison: ComparisonView | null;
}

/** The shards of a matrix to judge as one run (src/gate/merge.ts). */
export interface MergeRequest {
  /** One directory per shard, each with its results.json. */
  dirs: string[];
  outDir: string;
  /** What to judge against; null: what the shards were judged against (their base-vs-head arms, or nothing). */
  plan: ComparisonPlan | null;
  /** The default baseline, used only when the shards were judged against a baseline. */
  recordedBaseline: Extract<ComparisonPlan, { kind: 'baseline' }> | null;
}

/** mode calibrate: the proxy against an identical twin (src/gate/calibrate.ts). */
export type CalibrateRequest = Omit<BenchRequest, 'base' | 'plan' | 'shard'> & { targetPct: number };

export interface CalibrateOutcome extends Omit<BenchOutcome, 'comparison'> {
  /** The calibration table (markdown) and the A/A verdict. */
  text: string;
}

export interface Benchmarker {
  /** The suite (a file relative to cwd, or a built-in name) with its overrides applied. */
  loadSuite(request: SuiteRequest, cwd: string): Promise<Suite>;
  /** This runner's environment as a run would record it: whether a baseline applies here. */
  fingerprint(request: { suite: Suite; measure: Measure; mysqlVersion: string }): Promise<Environment>;
  run(request: BenchRequest): Promise<BenchOutcome>;
  merge(request: MergeRequest): Promise<BenchOutcome>;
  calibrate(request: CalibrateRequest): Promise<CalibrateOutcome>;
}

/** What the Action shows of a comparison. */
export interface ComparisonView {
  verdict: Verdict;
  /** What the run was judged against: a baseline, or a base arm of the same run. */
  comparedWith: 'baseline' | 'base-ref';
  summaryLine: string;
  markdown: string;
  warnings: string[];
  regressions: Array<{ workload: string; message: string }>;
  /** Each workload's verdict and gated metrics as numbers: the fork-safe artifact's content. */
  workloads: ArtifactWorkload[];
}

export interface Verdicts {
  /** Loads and validates a baseline file (UsageError naming the file and field). */
  loadBaseline(path: string): Promise<Baseline>;
  /** Writes the baseline made from results to path. */
  writeBaseline(results: Results, path: string, meta: { commit?: string; date: string }): Promise<void>;
}

/** What mode history needs besides the rest: the data branch and the issues API. */
export interface HistoryDeps {
  appendToDataBranch(options: Omit<DataBranchOptions, 'exec'>): Promise<DataBranchOutcome>;
  issues(token: string): IssuesApi;
  /** The repository's default branch from the API (history-branch may not be it); absent: not asked. */
  defaultBranch?(token: string): Promise<string>;
}

export interface ActionDeps {
  core: ActionCore;
  github: GitHubContext;
  /** Builds the API client for a token (the token is an input). */
  githubApi(token: string): GitHubApi;
  git: GitOps;
  bench: Benchmarker;
  verdicts: Verdicts;
  waitForMysql(conn: MysqlConnection, timeoutMs: number): Promise<{ version: string }>;
  /** GITHUB_WORKSPACE (or the current directory): working-directory is resolved from it. */
  workspace: string;
  /** The Action's own checkout: a baseline inside it was recorded for this repository's Athena. */
  packageRoot: string;
  now(): Date;
  sleep(ms: number): Promise<void>;
  /** Only mode history uses it; absent, that mode fails saying so. */
  history?: HistoryDeps;
}
