import { z } from 'zod';
import { SuiteSchema } from './schema.ts';

/**
 * The JSON Schema of suite files, generated from SuiteSchema: the build writes it to
 * dist/suite.schema.json (check-dist keeps it current) for editors to complete and check suite
 * files with (docs/SUITES.md). Draft-07, the draft editors' JSON and YAML language servers know
 * best. The cross-field rules (unique workload ids, work.maxWindows >= work.windows, mysqlslap's
 * query or autoGenerateSql) are the loader's alone: JSON Schema cannot say them.
 */

export const SUITE_SCHEMA_PATH = 'dist/suite.schema.json';

/** A file's own `$schema` key: allowed in the file, ignored by the loader. */
const SCHEMA_KEY = {
  type: 'string',
  description:
    'The JSON Schema of this file, for editors (e.g. ./node_modules/athena-bench/dist/suite.schema.json).',
};

export function suiteJsonSchema(): Record<string, unknown> {
  // io 'input': what a file may say, so fields with defaults are optional.
  const generated = z.toJSONSchema(SuiteSchema, { io: 'input', target: 'draft-7' }) as Record<
    string,
    unknown
  >;
  const { $schema, properties, ...rest } = generated;
  return {
    $schema,
    title: 'athena-bench suite',
    description: 'A benchmark suite for athena-bench: workloads, rounds and thresholds (docs/SUITES.md).',
    ...rest,
    properties: { $schema: SCHEMA_KEY, ...(properties as Record<string, unknown>) },
  };
}

/** The text of dist/suite.schema.json. */
export function renderSuiteJsonSchema(): string {
  return `${JSON.stringify(suiteJsonSchema(), null, 2)}\n`;
}
