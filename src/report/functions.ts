import { signedWhole, wholeNumber } from '../util/format.ts';
import { isWorkMetric } from '../model/metrics.ts';
import type { FunctionDelta } from '../work/profile.ts';
import type { Comparison } from '../verdict/compare.ts';

/**
 * "Where the instructions went": for each workload whose counts changed (regressed or improved),
 * the functions whose own instructions per query moved most between the reference and the
 * current proxy. A regression that says where is worth ten that say how much.
 */
export function whereItWentMarkdown(c: Comparison, limit = 8): string {
  const out: string[] = [];
  for (const w of c.workloads) {
    const changed = w.metrics.some(
      (m) => isWorkMetric(m.metric) && (m.verdict === 'regressed' || m.verdict === 'improved'),
    );
    const deltas = (c.functionDeltas[w.id] ?? []).filter((d) => d.delta !== 0).slice(0, limit);
    if (!changed || deltas.length === 0) continue;
    out.push(
      `**${w.id}**, instructions per query by function (self cost):`,
      '',
      '| Function | Reference | Current | Δ |',
      '| --- | --- | --- | --- |',
      ...deltas.map(
        (d) =>
          `| ${functionLabel(d)} | ${wholeNumber(d.base)} | ${wholeNumber(d.head)} | ${signedWhole(d.delta)} |`,
      ),
      '',
    );
  }
  return out.length > 0 ? ['### Where the instructions went', '', ...out].join('\n') : '';
}

function functionLabel(d: FunctionDelta): string {
  const name = d.name.length > 90 ? `${d.name.slice(0, 87)}…` : d.name;
  const object = d.object === '???' ? 'JIT' : (d.object.split('/').at(-1) ?? d.object);
  return `\`${name.replace(/[`|]/g, "'")}\` (${object})`;
}
