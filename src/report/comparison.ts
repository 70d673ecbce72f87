import type { Environment } from '../results/schema.ts';
import { type Verdict, VERDICT_SEVERITY } from '../model/verdict.ts';
import {
  formatDelta,
  type Comparison,
  type MetricComparison,
  type WorkloadVerdict,
} from '../verdict/compare.ts';
import { escapeCell, formatNumber, formatP, plural, signedInterval } from '../util/format.ts';
import { whereItWentMarkdown } from './functions.ts';
import { metricSpecsFor, type MetricSpec } from '../model/metrics.ts';

/** GitHub comments stop at 65,536 characters; stay clear of it whatever the suite. */
export const MARKDOWN_LIMIT = 60_000;

export const VERDICT_MARK: Record<Verdict, string> = {
  regressed: '🔴 regressed',
  improved: '🟢 improved',
  pass: '✅ pass',
  inconclusive: '⚠️ inconclusive',
};

function withUnit(v: number | null, unit: string): string {
  const s = formatNumber(v);
  return s === 'n/a' || unit === '' ? s : unit === '%' ? `${s}%` : `${s} ${unit}`;
}

function ciCell(m: MetricComparison, level: number): string {
  if (m.ciLow === null || m.ciHigh === null) return '—';
  const points = m.scale === 'points';
  const body = `${signedInterval(m.ciLow, m.ciHigh, points ? '' : '%')}${points ? ' pts' : ''}`;
  const achieved =
    m.ciLevel !== null && m.ciLevel < level - 1e-9 ? ` (${Math.floor(m.ciLevel * 100)}% only)` : '';
  return body + achieved;
}

function verdictCell(m: MetricComparison): string {
  if (m.policy === 'info') return `ℹ️ info only`;
  const mark = VERDICT_MARK[m.verdict];
  return m.policy === 'warn' ? `${mark} (warn only)` : mark;
}

function workloadTable(w: WorkloadVerdict, c: Comparison): string {
  const lines: string[] = [];
  const rounds =
    plural(w.rounds.current, 'round') +
    (w.rounds.current > w.rounds.planned
      ? `, ${w.rounds.planned} planned + ${w.rounds.current - w.rounds.planned} adaptive,`
      : '') +
    ` vs ${w.rounds.baseline} reference`;
  lines.push(
    `### ${VERDICT_MARK[w.verdict].split(' ')[0]} ${w.id} — ${escapeCell(w.title)}, ${w.threads} threads (${rounds})`,
  );
  lines.push('');
  lines.push(
    `| metric | ${c.mode === 'arms' ? 'base' : 'baseline'} | current | Δ% | ${Math.round(c.level * 100)}% CI | verdict |`,
  );
  lines.push('| --- | ---: | ---: | ---: | --- | --- |');
  for (const m of w.metrics) {
    const unit = m.scale === 'points' ? '%' : m.unit;
    const delta = m.scale === 'count' ? (m.delta === 0 ? '—' : formatDelta(m)) : formatDelta(m);
    const p = m.pAdjusted ?? m.pValue;
    const pNote = p !== null && m.verdict !== 'pass' ? ` p=${formatP(p)}` : '';
    lines.push(
      `| ${escapeCell(m.label)} | ${withUnit(m.baselineMedian, unit)} | ${withUnit(m.currentMedian, unit)} | ${delta} | ${ciCell(m, c.level)}${pNote} | ${verdictCell(m)} |`,
    );
  }
  const notes = [
    ...(w.otherMachine ? [`another machine: ${w.otherMachine}`] : []),
    ...w.notes,
    ...w.metrics.filter((m) => m.note).map((m) => `${m.label}: ${m.note}`),
  ];
  if (notes.length > 0) {
    lines.push('');
    for (const n of notes) lines.push(`- ${escapeCell(n)}`);
  }
  lines.push('');
  return lines.join('\n');
}

function environmentDetails(c: Comparison): string {
  const fields: (keyof Environment)[] = [
    'cpuModel',
    'cores',
    'memoryBytes',
    'kernel',
    'os',
    'node',
    'mysqlVersion',
    'sysbenchVersion',
    'mysqlslapVersion',
    'ulimitNofile',
    'somaxconn',
  ];
  const differing = new Set(c.environment.differences.map((d) => d.field as string));
  const lines = [
    `<details><summary>Environment${c.environment.differences.length ? ` (${c.environment.differences.length} difference(s))` : ''}</summary>`,
    '',
    `| field | ${c.mode === 'arms' ? 'run' : 'baseline'} | current |`,
    '| --- | --- | --- |',
  ];
  for (const f of fields) {
    const a = JSON.stringify(c.environment.baseline[f] ?? null);
    const b = JSON.stringify(c.environment.current[f] ?? null);
    lines.push(`| ${differing.has(f) ? `**${f}** ≠` : f} | ${escapeCell(a)} | ${escapeCell(b)} |`);
  }
  lines.push('', '</details>', '');
  return lines.join('\n');
}

function samplesText(values: number[]): string {
  return values.map((v) => formatNumber(v)).join(', ');
}

function rawSampleBlocks(c: Comparison): string[] {
  return c.workloads.map((w) => {
    const lines = [`**${w.id}**`, ''];
    for (const m of w.metrics) {
      lines.push(
        `- ${m.label}: reference [${samplesText(m.baselineSamples)}] → current [${samplesText(m.currentSamples)}]`,
      );
    }
    lines.push('');
    return lines.join('\n');
  });
}

/** How the verdict was decided, in one paragraph (the report's and the HTML page's). */
export function decisionRuleText(c: Comparison): string {
  const level = Math.round(c.level * 100);
  return (
    `Each channel is its own Holm family (α = ${c.alpha}). Time (${c.families.time} gated timings): one-sided ` +
    `Mann–Whitney U, Hodges–Lehmann ${level}% intervals. Work (${c.families.work} gated counts): means of the kept ` +
    'windows with outlier windows set aside, the uncertainty of the windows plus the noise between two processes. ' +
    'A metric regresses when its estimate is worse than the threshold and significant; it is inconclusive when the estimate ' +
    'is worse than the threshold without significance (or its counts never settled); otherwise it passes, and the ' +
    "interval's bad end says the largest loss this run could not rule out."
  );
}

function thresholdsDetails(c: Comparison): string {
  const lines = [
    '<details><summary>Suite and thresholds</summary>',
    '',
    `Suite \`${c.suite.name}\`: ${c.suite.workloads.length} workloads, ${c.suite.rounds} planned rounds` +
      (c.suite.maxRounds ? `, up to ${c.suite.maxRounds} adaptive` : '') +
      `. ${decisionRuleText(c)}`,
    '',
    '| metric | better | threshold | policy |',
    '| --- | --- | --- | --- |',
  ];
  const show = (sp: MetricSpec) =>
    sp.scale === 'count'
      ? `> ${sp.thresholdPct}`
      : sp.scale === 'points'
        ? `${sp.thresholdPct} pts`
        : `${sp.thresholdPct}%`;
  for (const sp of metricSpecsFor(undefined, c.mode)) {
    lines.push(
      `| ${sp.metric} | ${sp.direction === 'higher-better' ? 'higher' : 'lower'} | ${show(sp)} | ${sp.policy} |`,
    );
  }
  const overrides: string[] = [];
  const defaults = new Map(metricSpecsFor(undefined, c.mode).map((sp) => [sp.metric, sp]));
  for (const w of c.suite.workloads) {
    const changed = metricSpecsFor(w, c.mode)
      .filter(
        (sp) =>
          sp.thresholdPct !== defaults.get(sp.metric)!.thresholdPct ||
          sp.policy !== defaults.get(sp.metric)!.policy,
      )
      .map((sp) => `${sp.metric} ${show(sp)} ${sp.policy}`);
    if (w.allowErrors) changed.push('errors allowed');
    if (changed.length > 0) overrides.push(`- ${w.id}: ${changed.join(', ')}`);
  }
  if (overrides.length > 0) lines.push('', 'Per-workload overrides from the suite:', '', ...overrides);
  lines.push('', '</details>', '');
  return lines.join('\n');
}

function fit(text: string, budget: number): string {
  if (text.length <= budget) return text;
  const note = '\n\n… (truncated to fit)\n';
  return text.slice(0, Math.max(0, budget - note.length)) + note;
}

/** The report's pieces, each rendered once; the fitting steps choose which of them go in. */
interface ReportParts {
  head: string;
  warnings: string[];
  compared: string;
  tables: string[];
  tail: string[];
  thresholds: string;
  raw: string[];
}

/**
 * The report for a PR comment or job summary: verdict and one-line summary first, warnings, a table
 * per workload, then collapsible environment, raw samples and thresholds. Always under
 * MARKDOWN_LIMIT characters: raw samples are cut first, then thresholds, then the least severe
 * workload tables (worst first when cutting).
 */
export function renderComparisonMarkdown(c: Comparison, limit = MARKDOWN_LIMIT): string {
  const functions = whereItWentMarkdown(c);
  const parts: ReportParts = {
    head: headLines(c).join('\n'),
    warnings: c.warnings.map((w) => `- ⚠️ ${escapeCell(w)}`),
    compared: comparedLine(c),
    tables: c.workloads.map((w) => workloadTable(w, c)),
    tail: [...(functions ? [functions] : []), environmentDetails(c)],
    thresholds: thresholdsDetails(c),
    raw: rawSampleBlocks(c),
  };
  const { tables, raw, thresholds } = parts;
  // 1. Everything.
  const out = assemble(parts, tables, [], rawDetails(raw, raw.length), thresholds);
  if (out.length <= limit) return out;
  // 2. Cut raw samples, workload by workload.
  const withoutRaw = assemble(parts, tables, [], rawDetails([], raw.length), thresholds);
  if (withoutRaw.length <= limit) {
    let kept = 0;
    let size = withoutRaw.length;
    while (kept < raw.length && size + raw[kept]!.length + 1 <= limit) size += raw[kept++]!.length + 1;
    return fit(assemble(parts, tables, [], rawDetails(raw.slice(0, kept), raw.length), thresholds), limit);
  }
  // 3. No raw samples, thresholds summarised; keep the worst workload tables that fit.
  return fit(worstTablesThatFit(parts, c.workloads, limit), limit);
}

function headLines(c: Comparison): string[] {
  const head = [`## athena-bench: ${VERDICT_MARK[c.verdict]}`, '', `**${escapeCell(c.summaryLine)}**`, ''];
  if (c.environment.normalisedOnly) {
    head.push(
      '> [!WARNING]',
      "> The environment differs from the baseline's: TPS, QPS and latency are informational only. " +
        'The verdict rests on overhead and proxy CPU per query relative to the direct arm.',
      '',
    );
  }
  if (c.verdict === 'inconclusive') {
    head.push(
      '> [!IMPORTANT]',
      '> Inconclusive: the data can neither rule a regression in nor out. More rounds (or a quieter runner) are needed.',
      '',
    );
  }
  return head;
}

function comparedLine(c: Comparison): string {
  return (
    `Compared ${c.current.label}${c.current.commit ? ` (${c.current.commit.slice(0, 12)})` : ''} against ${c.reference.label}` +
    `${c.reference.date ? ` from ${c.reference.date}` : ''}. Δ is the Hodges–Lehmann shift in % of the reference median ` +
    '(overhead: in points).'
  );
}

function assemble(
  parts: ReportParts,
  tables: string[],
  omitted: WorkloadVerdict[],
  rawPart: string,
  thresholdsPart: string,
): string {
  return [
    parts.head,
    parts.warnings.length ? parts.warnings.join('\n') + '\n' : '',
    parts.compared + '\n',
    ...tables,
    omitted.length
      ? `${omitted.length} more workload(s) not shown to fit the comment size: ${omitted.map((w) => `${w.id} ${VERDICT_MARK[w.verdict]}`).join(', ')}\n`
      : '',
    ...parts.tail,
    rawPart,
    thresholdsPart,
  ].join('\n');
}

function rawDetails(blocks: string[], total: number): string {
  return `<details><summary>Raw samples${blocks.length < total ? ` (${blocks.length} of ${total} workloads; the rest cut to fit)` : ''}</summary>\n\n${blocks.join('\n')}\n</details>\n`;
}

const SHORT_THRESHOLDS =
  '<details><summary>Suite and thresholds</summary>\n\nCut to fit; see results.json.\n\n</details>\n';

/** No raw samples, thresholds summarised, and the most severe workloads' tables that fit. */
function worstTablesThatFit(parts: ReportParts, workloads: WorkloadVerdict[], limit: number): string {
  const bySeverity = workloads
    .map((w, i) => ({ w, i }))
    .sort((a, b) => VERDICT_SEVERITY[b.w.verdict] - VERDICT_SEVERITY[a.w.verdict] || a.i - b.i);
  const keep = new Set<number>();
  let size = assemble(parts, [], workloads, '', SHORT_THRESHOLDS).length;
  for (const { w, i } of bySeverity) {
    const t = parts.tables[i]!.length + 1;
    // Removing a workload from the omitted list saves roughly its id and mark.
    if (size + t - (w.id.length + 20) > limit - 200) break;
    keep.add(i);
    size += t;
  }
  return assemble(
    parts,
    parts.tables.filter((_, i) => keep.has(i)),
    workloads.filter((_, i) => !keep.has(i)),
    '',
    SHORT_THRESHOLDS,
  );
}
