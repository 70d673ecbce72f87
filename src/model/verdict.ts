import { ExitCode } from '../util/errors.ts';

export const VERDICTS = ['pass', 'improved', 'regressed', 'inconclusive'] as const;
export type Verdict = (typeof VERDICTS)[number];

/**
 * Severity order used for "worst": regressed > inconclusive > improved > pass. Inconclusive ranks
 * above improved because a workload with one improved and one inconclusive gated metric has not
 * shown that it is fine: the unresolved metric is what the reader must look at, and the adaptive
 * rounds hook keys on it.
 */
export const VERDICT_SEVERITY: Record<Verdict, number> = {
  pass: 0,
  improved: 1,
  inconclusive: 2,
  regressed: 3,
};

export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = 'pass';
  for (const v of verdicts) if (VERDICT_SEVERITY[v] > VERDICT_SEVERITY[worst]) worst = v;
  return worst;
}

/** Exit code of a comparison: 1 on a regression (or on inconclusive when asked), else 0. */
export function exitCodeFor(
  c: { verdict: Verdict },
  opts: { failOnInconclusive: boolean },
): typeof ExitCode.Pass | typeof ExitCode.Regression {
  if (c.verdict === 'regressed') return ExitCode.Regression;
  if (c.verdict === 'inconclusive' && opts.failOnInconclusive) return ExitCode.Regression;
  return ExitCode.Pass;
}
