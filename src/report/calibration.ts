import type { Comparison } from '../verdict/compare.ts';
import { escapeCell, signedChange } from '../util/format.ts';

/**
 * What an A/A run (the same proxy twice, in one run) says about a runner: per gated metric, how
 * far the identical twin landed (Δ), the half-width of the 95% interval around it, and what that
 * means for detection. A regression is reported when its whole interval lies beyond the
 * threshold, so the smallest change this budget can show is about threshold + half-width; the
 * half-width shrinks with the square root of the samples, which gives the samples a target needs.
 */

export interface CalibrationRow {
  workload: string;
  metric: string;
  thresholdPct: number;
  deltaPct: number;
  halfWidthPct: number;
  samples: number;
  /** The smallest shift this run's precision can report as a regression, in %. */
  detectablePct: number;
  /** Samples per side that would bring the detectable shift down to the target (null: never). */
  samplesForTarget: number | null;
}

export function calibrationRows(comparison: Comparison, targetPct: number): CalibrationRow[] {
  const rows: CalibrationRow[] = [];
  for (const w of comparison.workloads) {
    for (const m of w.metrics) {
      if (m.policy !== 'gate' || m.scale !== 'relative' || m.delta === null) continue;
      if (m.ciLow === null || m.ciHigh === null) continue;
      const halfWidth = Math.max(m.delta - m.ciLow, m.ciHigh - m.delta);
      const samples = Math.min(m.currentSamples.length, m.baselineSamples.length);
      const room = targetPct - m.thresholdPct;
      rows.push({
        workload: w.id,
        metric: m.label,
        thresholdPct: m.thresholdPct,
        deltaPct: m.delta,
        halfWidthPct: halfWidth,
        samples,
        detectablePct: m.thresholdPct + halfWidth,
        samplesForTarget: room > 0 ? Math.max(samples, Math.ceil(samples * (halfWidth / room) ** 2)) : null,
      });
    }
  }
  return rows;
}

export function renderCalibration(rows: CalibrationRow[], targetPct: number): string {
  const lines = [
    `| Workload | Metric | A/A Δ | ± (95%) | Samples | Threshold | Smallest detectable | Samples for ${targetPct}% |`,
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| ${escapeCell(r.workload)} | ${escapeCell(r.metric)} | ${signedChange(r.deltaPct, '%')} | ${r.halfWidthPct.toFixed(2)}% | ` +
        `${r.samples} | ${r.thresholdPct}% | ${r.detectablePct.toFixed(1)}% | ${r.samplesForTarget ?? 'never (threshold above the target)'} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
