import { z } from 'zod';

/**
 * The history store: one JSON file per suite (DIR/<suite>.json), one point per benchmarked commit
 * of the default branch, oldest first. Points are only ever appended (and the oldest dropped beyond
 * the retention count), so two writers that both appended can merge by union. Versioned: a file of
 * another schemaVersion is refused, never guessed at.
 */
export const HISTORY_SCHEMA_VERSION = 1;

/** Metric names are open-ended (new channels add new ones) but must be plain identifiers. */
export const HistoryMetricNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'expected a metric name (lower-case letters, digits, _)');

/** What one run's samples of one metric looked like: enough for a trend and a change-point detector. */
export const MetricSummarySchema = z
  .object({
    median: z.number(),
    n: z.number().int().positive(),
    min: z.number(),
    max: z.number(),
    /** Lower and upper quartiles (R type 7). */
    q1: z.number(),
    q3: z.number(),
  })
  .refine((s) => s.min <= s.q1 && s.q1 <= s.median && s.median <= s.q3 && s.q3 <= s.max, {
    message: 'expected min <= q1 <= median <= q3 <= max',
  });
export type MetricSummary = z.infer<typeof MetricSummarySchema>;

export const HistoryArmSchema = z.object({
  role: z.enum(['direct', 'proxy', 'reference', 'base']),
  metrics: z.record(HistoryMetricNameSchema, MetricSummarySchema),
});
export type HistoryArm = z.infer<typeof HistoryArmSchema>;

export const CommitShaSchema = z
  .string()
  .regex(/^[0-9a-f]{7,64}$/, 'expected a commit SHA (7 to 64 lower-case hex digits)');

/** The machine a point was measured on; absolute metrics only compare within one fingerprint. */
export const EnvironmentFingerprintSchema = z.object({
  /** 12 hex digits of SHA-256 over the fields below (and the driver versions). */
  fingerprint: z.string().regex(/^[0-9a-f]{12}$/, 'expected 12 hex digits'),
  cpuModel: z.string(),
  cores: z.number().int().positive(),
  mysqlVersion: z.string(),
});
export type EnvironmentFingerprint = z.infer<typeof EnvironmentFingerprintSchema>;

export const HistoryPointSchema = z.object({
  commit: CommitShaSchema,
  ref: z.string().nullable(),
  /** When the measured run started (ISO 8601). With the commit it identifies the point. */
  time: z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time' }),
  toolVersion: z.string(),
  /** Where the run can be looked at (the CI job), when known. */
  runUrl: z.url().nullable().default(null),
  environment: EnvironmentFingerprintSchema,
  /** workload id → arm name → metrics. */
  workloads: z.record(z.string().min(1), z.object({ arms: z.record(z.string().min(1), HistoryArmSchema) })),
});
export type HistoryPoint = z.infer<typeof HistoryPointSchema>;

export const SuiteNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected a lower-case suite name (letters, digits, _ . -)');

export const HistoryFileSchema = z.object({
  schemaVersion: z.literal(HISTORY_SCHEMA_VERSION),
  kind: z.literal('athena-bench-history'),
  suite: SuiteNameSchema,
  points: z.array(HistoryPointSchema),
});
export type HistoryFile = z.infer<typeof HistoryFileSchema>;
