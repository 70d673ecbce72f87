import { METRIC_DEFAULTS } from '../model/metrics.ts';
import { CPU_RELATIVE_LABEL, formatDelta, summaryLine, type SummaryWorkload } from '../verdict/compare.ts';
import { formatNumber } from '../util/format.ts';
import { VERDICT_MARK } from '../report/comparison.ts';
import type { CommentArtifact, ArtifactWorkload } from './artifact.ts';

/**
 * The pull-request comment and summary line of `mode: comment`, rendered in the trusted workflow
 * from the validated structured results of a fork's run — never its markdown. Every word comes from
 * here; from the artifact come enums, numbers and slug ids, and ids are shown in code spans, where
 * GitHub makes no mention, link or markup of them.
 */

type MetricResult = ArtifactWorkload['metrics'][number];

function describe(m: MetricResult) {
  const spec = METRIC_DEFAULTS[m.metric];
  return m.variant === 'cpu-relative-to-direct'
    ? { label: CPU_RELATIVE_LABEL, unit: '%', scale: spec.scale }
    : { label: spec.label, unit: spec.unit, scale: spec.scale };
}

function summaryWorkloads(artifact: CommentArtifact): SummaryWorkload[] {
  return artifact.workloads.map((w) => ({
    id: w.id,
    verdict: w.verdict,
    metrics: w.metrics.map((m) => ({ ...describe(m), policy: 'gate', verdict: m.verdict, delta: m.delta })),
  }));
}

const codeSpan = (id: string) => `\`${id}\``;

/**
 * The one-line summary, rebuilt from the structured fields: plain for the `summary` output,
 * markdown (ids in code spans) for the comment and the job summary.
 */
export function trustedSummaryLine(artifact: CommentArtifact, format: 'plain' | 'markdown'): string {
  return summaryLine(
    summaryWorkloads(artifact),
    artifact.verdict,
    format === 'markdown' ? codeSpan : undefined,
  );
}

function measure(v: number | null, unit: string): string {
  const text = formatNumber(v);
  return text === 'n/a' || unit === '' ? text : unit === '%' ? `${text}%` : `${text} ${unit}`;
}

function metricRow(w: ArtifactWorkload, m: MetricResult): string {
  const { label, unit, scale } = describe(m);
  const interval =
    m.ciLow === null || m.ciHigh === null
      ? '—'
      : `${formatDelta({ delta: m.ciLow, scale })} … ${formatDelta({ delta: m.ciHigh, scale })}`;
  const cells = [
    `${codeSpan(w.id)} (${w.threads} threads)`,
    label,
    measure(m.reference, unit),
    measure(m.current, unit),
    formatDelta({ delta: m.delta, scale }),
    interval,
    VERDICT_MARK[m.verdict],
  ];
  return `| ${cells.join(' | ')} |`;
}

/**
 * The comment body (without the sticky marker). runUrl is the pull request's run, from the
 * workflow_run event GitHub sends, for the full report in its job summary.
 */
export function renderTrustedComment(artifact: CommentArtifact, runUrl: string | null): string {
  const reference = artifact.comparedWith === 'baseline' ? 'baseline' : 'base';
  const lines = [
    `## athena-bench: ${VERDICT_MARK[artifact.verdict]}`,
    '',
    `**${trustedSummaryLine(artifact, 'markdown')}**`,
    '',
  ];
  const rows = artifact.workloads.flatMap((w) => w.metrics.map((m) => metricRow(w, m)));
  if (rows.length > 0) {
    lines.push(
      `| workload | gated metric | ${reference} | current | Δ | CI | verdict |`,
      '| --- | --- | ---: | ---: | ---: | --- | --- |',
      ...rows,
      '',
    );
  }
  const compared =
    artifact.comparedWith === 'baseline'
      ? 'compared with the committed baseline'
      : 'compared with the base branch built in the same job (A/B)';
  const report = runUrl ? ` · [full report in the run's job summary](${runUrl})` : '';
  lines.push(
    `Suite ${codeSpan(artifact.suite)} · ${compared} · commit ${codeSpan(artifact.headSha.slice(0, 12))}. ` +
      `Figures as reported by the pull request's own run${report}.`,
  );
  return lines.join('\n') + '\n';
}
