import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError, errorMessage } from '../util/errors.ts';
import type { Measure } from '../model/channel.ts';
import type { Environment } from '../results/schema.ts';
import { isWorkMetric } from '../model/metrics.ts';
import { maxRoundsOf, type Suite } from '../suite/schema.ts';
import {
  baselineRounds,
  countFingerprintDifferences,
  environmentDifferences,
  type Baseline,
} from '../verdict/baseline.ts';
import { plannedRoundsWarning } from '../verdict/compare.ts';

/** What a run is judged against, decided before spending minutes measuring. */
export type Reference =
  | { kind: 'baseline'; file: string; baseline: Baseline }
  /** Base-vs-head: arm `baseArm` (built from `ref`) measured in the same run as `headArm`. */
  | { kind: 'base-ref'; ref: string; commit: string | null; headArm: string; baseArm: string }
  | { kind: 'none' };

/**
 * What a run is compared with, decided in one place for both doors (the CLI and the Action):
 *
 *   1. an explicit base-ref: base-vs-head against it;
 *   2. an explicit baseline: that file, as asked;
 *   3. otherwise the default baseline (baselines/<suite>.json), only when it was recorded for this
 *      proxy and this runner matches its fingerprint for a channel the run measures;
 *   4. otherwise, one line saying why it was skipped, and base-vs-head against the pull request's
 *      merge-base (the Action) or against HEAD (the CLI in a git checkout), else nothing.
 */

/** The git commands the choice needs (src/gate/git.ts; tests pass a fake). */
export interface ReferenceGit {
  /** The top-level directory of the checkout holding dir; null outside a git checkout. */
  toplevel(dir: string): Promise<string | null>;
  /** The commit a ref names; throws when it does not exist (e.g. a shallow clone). */
  resolveCommit(root: string, ref: string): Promise<string>;
  mergeBase(root: string, a: string, b: string): Promise<string>;
}

/** A baselines/<suite>.json that may be used without being asked for. */
export interface DefaultBaseline {
  file: string;
  /** Recorded for this repository's Athena (athena-bench's own baselines/): meaningless for another proxy. */
  forAthena: boolean;
}

export interface ReferenceRequest {
  suite: Suite;
  measure: Measure;
  /** Planned rounds (for the warning when they cannot reach significance). */
  rounds?: number;
  baseRef: string | null;
  /** An explicit baseline file, resolved. */
  baseline: string | null;
  /** Measure only: no default baseline, no base-vs-head fallback. */
  noBaseline: boolean;
  /** Candidates for the default baseline, first existing one wins. */
  defaultBaselines: DefaultBaseline[];
  /** The proxy under test is this repository's Athena (not a proxy-start command). */
  athena: boolean;
  /** The directory the proxy is built in: its git checkout is where base-vs-head builds the base. */
  proxyDir: string;
  /** What to compare with when no baseline applies: the merge-base with a pull request's base, or HEAD. */
  fallback:
    | { kind: 'merge-base'; baseSha: string }
    | { kind: 'head' }
    /** why: shown when there is nothing to compare with. */
    | { kind: 'none'; why?: string };
  /**
   * How each door names its inputs in errors (`--base-ref`, `input base-ref`) and how its user
   * makes a baseline.
   */
  names: { baseRef: string; baseline: string; makeBaseline: string };
}

export interface ReferenceDeps {
  git: ReferenceGit;
  loadBaseline(file: string): Promise<Baseline>;
  /** This runner's environment as a run would record it (src/gate/fingerprint.ts). */
  fingerprint(): Promise<Environment>;
  log(line: string): void;
  exists?(file: string): boolean;
}

export interface ChosenReference {
  reference: Reference;
  /** The checkout the base is built from (base-ref), else null. */
  checkout: string | null;
  /** Why no default baseline was used, when one existed; shown by the door. */
  skipped: string | null;
}

export async function chooseReference(
  request: ReferenceRequest,
  deps: ReferenceDeps,
): Promise<ChosenReference> {
  const chosen = await choose(request, deps);
  const warning = roundsWarning(request, chosen.reference);
  if (warning) deps.log(`warning: ${warning}`);
  return chosen;
}

async function choose(request: ReferenceRequest, deps: ReferenceDeps): Promise<ChosenReference> {
  if (request.baseRef) {
    return baseVsHead(
      request,
      deps,
      request.baseRef,
      request.baseRef,
      `${request.names.baseRef} ${request.baseRef}`,
    );
  }
  if (request.baseline) return explicitBaseline(request, deps, request.baseline);
  if (request.noBaseline) return { reference: { kind: 'none' }, checkout: null, skipped: null };
  const exists = deps.exists ?? existsSync;
  const candidate = request.defaultBaselines.find((b) => exists(b.file));
  let skipped: string | null = null;
  if (candidate) {
    const baseline = await deps.loadBaseline(candidate.file);
    skipped = await whyNotDefault(request, deps, candidate, baseline);
    if (skipped === null) {
      deps.log(`verdict against the baseline ${candidate.file}`);
      return { reference: { kind: 'baseline', file: candidate.file, baseline }, checkout: null, skipped };
    }
  }
  const fallback = await fallbackReference(request, deps);
  if (skipped !== null) {
    const instead =
      fallback.reference.kind === 'base-ref'
        ? `comparing with ${fallback.reference.ref} instead`
        : 'no verdict';
    deps.log(`${candidate!.file} not used: ${skipped}; ${instead}`);
  }
  return { ...fallback, skipped };
}

async function explicitBaseline(
  request: ReferenceRequest,
  deps: ReferenceDeps,
  file: string,
): Promise<ChosenReference> {
  if (!(deps.exists ?? existsSync)(file)) {
    throw new UsageError(`${request.names.baseline}: ${file} does not exist (${request.names.makeBaseline})`);
  }
  deps.log(`verdict against the baseline ${file}`);
  return {
    reference: { kind: 'baseline', file, baseline: await deps.loadBaseline(file) },
    checkout: null,
    skipped: null,
  };
}

/**
 * Why the default baseline does not apply to this run, or null when it does: it must be for this
 * proxy, and this runner must match its fingerprint for a channel the run measures (the software
 * the counts depend on for the work channel, the machine for the time channel).
 */
async function whyNotDefault(
  request: ReferenceRequest,
  deps: ReferenceDeps,
  candidate: DefaultBaseline,
  baseline: Baseline,
): Promise<string | null> {
  if (candidate.forAthena && !request.athena) {
    return "it was recorded for this repository's Athena, not for the proxy-start command";
  }
  const runner = await deps.fingerprint();
  const reasons: string[] = [];
  if (request.measure !== 'time') {
    const counts = countFingerprintDifferences(baseline.environment, runner);
    if (!hasCounts(baseline)) reasons.push('it holds no work-channel counts');
    else if (counts.length === 0) return null;
    else reasons.push(`the counts' software differs (${describe(counts)})`);
  }
  if (request.measure !== 'work') {
    const machine = environmentDifferences(baseline.environment, runner);
    if (machine.length === 0) return null;
    reasons.push(`the machine differs (${describe(machine)})`);
  }
  return reasons.join('; ');
}

function hasCounts(baseline: Baseline): boolean {
  return baseline.workloads.some((w) =>
    Object.values(w.arms).some((arm) => Object.keys(arm.metrics).some((m) => isWorkMetric(m as never))),
  );
}

function describe(differences: ReadonlyArray<{ field: string; baseline: string; current: string }>): string {
  return differences.map((d) => `${d.field} ${d.baseline} in it, ${d.current} here`).join(', ');
}

/** Base-vs-head when no baseline applies: the pull request's merge-base, or HEAD in a checkout. */
async function fallbackReference(request: ReferenceRequest, deps: ReferenceDeps): Promise<ChosenReference> {
  const { fallback } = request;
  if (fallback.kind === 'merge-base') {
    const checkout = await checkoutOf(request, deps, 'the pull request');
    const commit = await deps.git.mergeBase(checkout, fallback.baseSha, 'HEAD');
    return baseVsHead(request, deps, commit, `merge-base ${commit.slice(0, 12)}`, 'the merge-base');
  }
  if (fallback.kind === 'head' && (await deps.git.toplevel(request.proxyDir)) !== null) {
    return baseVsHead(request, deps, 'HEAD', 'HEAD', 'HEAD');
  }
  if (fallback.kind === 'none' && fallback.why) deps.log(`no comparison: ${fallback.why}`);
  return { reference: { kind: 'none' }, checkout: null, skipped: null };
}

async function checkoutOf(request: ReferenceRequest, deps: ReferenceDeps, what: string): Promise<string> {
  const checkout = await deps.git.toplevel(request.proxyDir);
  if (checkout === null) {
    throw new UsageError(
      `${what}: ${request.proxyDir} is not in a git checkout (base-vs-head builds the base from git)`,
    );
  }
  return checkout;
}

async function baseVsHead(
  request: ReferenceRequest,
  deps: ReferenceDeps,
  ref: string,
  label: string,
  what: string,
): Promise<ChosenReference> {
  const checkout = await checkoutOf(request, deps, what);
  const commit = await deps.git.resolveCommit(checkout, ref).catch((error: unknown) => {
    throw new Error(`${what}: not a commit in ${checkout} (${errorMessage(error)})`, { cause: error });
  });
  const shown = label.includes(commit.slice(0, 12)) ? label : `${label} (${commit.slice(0, 12)})`;
  deps.log(`verdict: head against ${shown}, built from ${checkout} in the same run`);
  return {
    reference: { kind: 'base-ref', ref: label, commit, headArm: 'proxy', baseArm: 'base' },
    checkout,
    skipped: null,
  };
}

function roundsWarning(request: ReferenceRequest, reference: Reference): string | null {
  if (reference.kind === 'none') return null;
  const rounds = request.rounds ?? request.suite.rounds;
  return plannedRoundsWarning(
    request.suite,
    rounds,
    reference.kind === 'baseline' ? baselineRounds(reference.baseline) : undefined,
    undefined,
    request.measure,
    maxRoundsOf(request.suite, rounds),
  );
}

/** Whether file lies inside dir (a baseline of athena-bench's own checkout is Athena's). */
export function isInside(file: string, dir: string): boolean {
  const relative = path.relative(dir, file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}
