// bench:history — measures the change-point detector on synthetic series with known steps:
// the false-positive rate on step-free noisy series, and the detection rate by step size and noise.
// Prints Markdown tables (docs/HISTORY.md quotes them). Usage:
//   npm run bench:history [-- --series 200 --length 40]
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_DETECT_OPTIONS, detectSeries, type MetricSeries } from '../src/history/detect.ts';
import { syntheticHistory, syntheticSeries } from '../test/helpers/series.ts';

const flags = z
  .object({
    series: z.coerce.number().int().min(10).default(200),
    length: z.coerce.number().int().min(10).default(40),
  })
  .parse(parseArgs({ options: { series: { type: 'string' }, length: { type: 'string' } } }).values);

const NOISES = [0.01, 0.02, 0.04, 0.08];
const STEPS = [0.01, 0.02, 0.03, 0.05, 0.1, 0.2];

function asSeries(values: number[]): MetricSeries {
  const history = syntheticHistory('bench', { cpu_us_per_query: values });
  return { workload: 'select', arm: 'proxy', metric: 'cpu_us_per_query', points: history.points, values };
}

function detect(values: number[], seed: number) {
  const series = asSeries(values);
  const found = detectSeries(series, `bench-${seed}`, DEFAULT_DETECT_OPTIONS);
  return found.map((c) => series.points.findIndex((p) => p.commit === c.commit));
}

const started = Date.now();
const o = DEFAULT_DETECT_OPTIONS;
console.log(
  `Detector: E-divisive means, significance ${o.significance}, ${o.permutations} permutations, ` +
    `min segment ${o.minSegment}, min magnitude ${o.minMagnitude}%. ${flags.series} series of ${flags.length} points each.\n`,
);
console.log('| noise (sd) | step-free series with a change point | change points |');
console.log('|---|---|---|');
// The detector is scale-free (the same draws at another noise level give the same answer), so each
// noise level gets its own draws: the rows are independent samples of the false-positive rate.
for (const [level, noise] of NOISES.entries()) {
  let withAny = 0;
  let total = 0;
  for (let s = 0; s < flags.series; s++) {
    const seed = 10_000 + 1_000_000 * level + s;
    const found = detect(syntheticSeries({ length: flags.length, noise, seed }), s);
    total += found.length;
    if (found.length > 0) withAny++;
  }
  console.log(
    `| ${noise * 100}% | ${withAny}/${flags.series} (${((100 * withAny) / flags.series).toFixed(1)}%) | ${total} |`,
  );
}

const stepAt = Math.round(flags.length * 0.6);
console.log(`\nStep at point ${stepAt}: share of series where a change point is reported within ±1 of it.\n`);
console.log(`| noise (sd) | ${STEPS.map((s) => `step ${s * 100}%`).join(' | ')} |`);
console.log(`|---|${STEPS.map(() => '---').join('|')}|`);
for (const noise of NOISES) {
  const cells = STEPS.map((step) => {
    let located = 0;
    for (let s = 0; s < flags.series; s++) {
      const values = syntheticSeries({ length: flags.length, noise, seed: 20_000 + s, step, stepAt });
      if (detect(values, s).some((i) => Math.abs(i - stepAt) <= 1)) located++;
    }
    return `${((100 * located) / flags.series).toFixed(0)}%`;
  });
  console.log(`| ${noise * 100}% | ${cells.join(' | ')} |`);
}
console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s)`);
