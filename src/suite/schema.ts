import { z } from 'zod';
import { MetricNameSchema } from '../model/metrics.ts';

/**
 * The suite file format (JSON or YAML). A suite is a list of workloads; each names a driver and
 * that driver's options. Errors from these schemas name the path inside the file.
 */

/** Whether the work channel counts this workload (sysbench workloads that do not opt out). */
export function countedByWorkChannel(workload: Pick<Workload, 'driver' | 'work'>): boolean {
  return workload.driver === 'sysbench' && workload.work.measure;
}

export const MetricPolicySchema = z.object({
  thresholdPct: z
    .number()
    .nonnegative()
    .optional()
    .describe('The smallest change that matters, in percent (overhead_pct: points; errors: a count).'),
  policy: z
    .enum(['gate', 'warn', 'off'])
    .optional()
    .describe('gate: a regression fails the verdict; warn: reported only; off: not compared.'),
});
export type MetricPolicy = z.infer<typeof MetricPolicySchema>;

export const Slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected a lower-case id (letters, digits, _ . -)');

const workloadCommon = {
  id: Slug.describe('Unique in the suite: the key of the workload in results, baselines and reports.'),
  title: z.string().min(1).describe('What reports call the workload.'),
  /** The "Threads" column of the performance-testing guide's table (docs/PERF.md). */
  threads: z
    .number()
    .int()
    .min(1)
    .max(4096)
    .describe('Client threads (sysbench), concurrent clients (mysqlslap) or connections (builtin).'),
  warmupSec: z
    .number()
    .nonnegative()
    .default(0)
    .describe('Seconds of load before the measured run (sysbench --warmup-time, or a discarded run).'),
  metrics: z
    .partialRecord(MetricNameSchema, MetricPolicySchema)
    .default({})
    .describe("Per-metric overrides of the verdict's thresholds and policies for this workload."),
  allowErrors: z.boolean().default(false).describe('Errors during a run fail the workload unless allowed.'),
  work: z
    .object({
      events: z
        .number()
        .int()
        .min(100)
        .max(10_000_000)
        .default(2000)
        .describe('sysbench events per window: the same for every arm and window.'),
      measure: z
        .boolean()
        .default(true)
        .describe('false: the time channel only (its counts would repeat another workload’s).'),
    })
    .strict()
    .default({ events: 2000, measure: true })
    .describe("The work channel's window for this workload (sysbench workloads only)."),
};

/**
 * How the work channel measures: every sysbench workload is driven by `threads` clients in windows
 * of a fixed event count, repeated until the last `windows` agree within `tolerancePct` (see
 * src/work/settle.ts), at most `maxWindows`.
 */
export const WorkSettingsSchema = z
  .object({
    threads: z.number().int().min(1).max(64).default(1),
    windows: z.number().int().min(3).max(50).default(8),
    tolerancePct: z.number().positive().max(50).default(0.5),
    maxWindows: z.number().int().min(3).max(200).default(16),
  })
  .strict()
  .refine((w) => w.maxWindows >= w.windows, {
    message: 'expected maxWindows >= windows',
    path: ['maxWindows'],
  });
export type WorkSettings = z.infer<typeof WorkSettingsSchema>;

export const SysbenchOptionsSchema = z
  .object({
    /** Lua test name: oltp_read_write, oltp_point_select, oltp_insert, oltp_read_only… */
    test: z.string().regex(/^[a-z_]+$/, 'expected a sysbench test name such as oltp_read_write'),
    tables: z.number().int().min(1).default(4),
    tableSize: z.number().int().min(1).default(10_000),
    timeSec: z.number().positive(),
    reportIntervalSec: z.number().int().min(1).default(1),
    /** sysbench --db-ps-mode: auto uses server-side prepared statements. */
    psMode: z.enum(['auto', 'disable']).default('auto'),
    percentile: z.number().int().min(1).max(100).default(95),
    extraArgs: z.array(z.string()).default([]),
  })
  .strict();

export const MysqlslapOptionsSchema = z
  .object({
    iterations: z.number().int().min(1).default(10),
    /** --auto-generate-sql with the given column shape, or a fixed --query. */
    autoGenerateSql: z.boolean().default(false),
    numberIntCols: z.number().int().min(1).optional(),
    numberCharCols: z.number().int().min(1).optional(),
    query: z.string().optional(),
    /** SQL run through the direct connection before the workload (e.g. create the users table). */
    setupSql: z.array(z.string()).default([]),
    /** SQL run through the direct connection after the workload's last round (e.g. drop the users table). */
    cleanupSql: z.array(z.string()).default([]),
    numberOfQueries: z.number().int().min(1).optional(),
    extraArgs: z.array(z.string()).default([]),
  })
  .strict()
  .refine((o) => o.autoGenerateSql !== (o.query !== undefined), {
    message: 'expected exactly one of autoGenerateSql: true or query',
  });

export const BuiltinOptionsSchema = z
  .object({
    mix: z.enum(['point_select', 'read_write']),
    tables: z.number().int().min(1).default(1),
    tableSize: z.number().int().min(1).default(10_000),
    timeSec: z.number().positive(),
  })
  .strict();

export const WorkloadSchema = z.discriminatedUnion('driver', [
  z.object({ ...workloadCommon, driver: z.literal('sysbench'), options: SysbenchOptionsSchema }).strict(),
  z.object({ ...workloadCommon, driver: z.literal('mysqlslap'), options: MysqlslapOptionsSchema }).strict(),
  z.object({ ...workloadCommon, driver: z.literal('builtin'), options: BuiltinOptionsSchema }).strict(),
]);
export type Workload = z.infer<typeof WorkloadSchema>;
export type DriverName = Workload['driver'];

export const SuiteSchema = z
  .object({
    name: Slug,
    description: z.string().optional(),
    rounds: z
      .number()
      .int()
      .min(1)
      .max(200)
      .default(3)
      .describe('Planned rounds per workload; a round runs every arm once, in ABBA order across rounds.'),
    maxRounds: z
      .number()
      .int()
      .min(1)
      .max(500)
      .optional()
      .describe(
        'The most rounds a workload may reach with the adaptive ones (unset: 2 × rounds, at least 10).',
      ),
    budgetMinutes: z.number().positive().optional().describe('No adaptive rounds past this many minutes.'),
    work: WorkSettingsSchema.default({ threads: 1, windows: 8, tolerancePct: 0.5, maxWindows: 16 }).describe(
      'How the work channel measures (valgrind windows of a fixed event count).',
    ),
    workloads: z.array(WorkloadSchema).min(1),
  })
  .strict()
  .superRefine((suite, ctx) => {
    const seen = new Set<string>();
    suite.workloads.forEach((w, i) => {
      if (seen.has(w.id)) {
        ctx.addIssue({
          code: 'custom',
          path: ['workloads', i, 'id'],
          message: `duplicate workload id "${w.id}"`,
        });
      }
      seen.add(w.id);
    });
  });
export type Suite = z.infer<typeof SuiteSchema>;

/** Rounds a workload may reach with adaptive ones: the suite's maxRounds, else 2 × planned (at least 10). */
export function maxRoundsOf(suite: Pick<Suite, 'maxRounds'>, plannedRounds: number): number {
  return Math.max(plannedRounds, suite.maxRounds ?? Math.max(10, 2 * plannedRounds));
}
export type SuiteInput = z.input<typeof SuiteSchema>;
