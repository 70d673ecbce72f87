import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { UsageError, errorMessage } from '../util/errors.ts';
import { BUILTIN_SUITES, isBuiltinSuiteName } from './builtins.ts';
import { formatPath } from '../util/zodPath.ts';
import {
  BuiltinOptionsSchema,
  MysqlslapOptionsSchema,
  SuiteSchema,
  SysbenchOptionsSchema,
  type Suite,
} from './schema.ts';

const MAX_REPORTED_ISSUES = 10;

/**
 * A builtin suite by name (`default`, `quick`, `proxy-comparison`), or a suite file (.json, .yaml,
 * .yml). Every problem is a UsageError naming the file and the path inside it, e.g.
 * `suite.yaml: workloads[1].options.timeSec: expected a positive number, got -5`.
 */
export async function loadSuite(nameOrPath: string): Promise<Suite> {
  if (isBuiltinSuiteName(nameOrPath)) return structuredClone(BUILTIN_SUITES[nameOrPath]);
  const builtinNames = Object.keys(BUILTIN_SUITES).join(', ');
  const ext = path.extname(nameOrPath).toLowerCase();
  if (!['.json', '.yaml', '.yml'].includes(ext)) {
    throw new UsageError(
      `--suite ${nameOrPath}: expected a builtin suite (${builtinNames}) or a .json, .yaml or .yml file`,
    );
  }
  let text: string;
  try {
    text = await readFile(nameOrPath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT'
        ? `${nameOrPath}: suite file not found (builtin suites: ${builtinNames})`
        : `${nameOrPath}: cannot read the suite file: ${errorMessage(error)}`,
      { cause: error },
    );
  }
  return parseSuiteText(text, nameOrPath);
}

/** Parses and validates suite text; `file` names it in errors and picks JSON or YAML by extension. */
export function parseSuiteText(text: string, file: string): Suite {
  const data = withoutSchemaKey(
    path.extname(file).toLowerCase() === '.json' ? parseJson(text, file) : parseYaml(text, file),
  );
  const result = SuiteSchema.safeParse(data);
  if (!result.success) {
    const issues = result.error.issues;
    const lines = issues
      .slice(0, MAX_REPORTED_ISSUES)
      .map((issue) => `${file}: ${describeIssue(issue, data)}`);
    if (issues.length > MAX_REPORTED_ISSUES) lines.push(`… and ${issues.length - MAX_REPORTED_ISSUES} more`);
    throw new UsageError(lines.join('\n'));
  }
  return result.data;
}

/** A file's `$schema` (its JSON Schema, for editors) is not part of the suite. */
function withoutSchemaKey(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !('$schema' in data)) return data;
  const { $schema: _schema, ...suite } = data as Record<string, unknown>;
  return suite;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${file}: invalid JSON: ${errorMessage(error)}`, { cause: error });
  }
}

function parseYaml(text: string, file: string): unknown {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const where = first.linePos?.[0]
      ? ` (line ${first.linePos[0].line}, column ${first.linePos[0].col})`
      : '';
    throw new UsageError(`${file}: invalid YAML${where}: ${first.message.split('\n')[0]}`);
  }
  return doc.toJS() as unknown;
}

function valueAt(data: unknown, segments: readonly PropertyKey[]): unknown {
  let current: unknown = data;
  for (const s of segments) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[s];
  }
  return current;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The keys an object at this path may have, for "unknown key" errors. */
function allowedKeys(data: unknown, segments: readonly PropertyKey[]): string[] | null {
  if (segments.length === 0) return Object.keys(SuiteSchema.shape);
  const last = segments[segments.length - 1];
  if (last === 'options' && segments.length === 3) {
    const driver = valueAt(data, [...segments.slice(0, -1), 'driver']);
    if (driver === 'sysbench') return Object.keys(SysbenchOptionsSchema.shape);
    if (driver === 'mysqlslap') return Object.keys(MysqlslapOptionsSchema.shape);
    if (driver === 'builtin') return Object.keys(BuiltinOptionsSchema.shape);
  }
  return null;
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown): string {
  const where = formatPath(issue.path);
  const actual = valueAt(data, issue.path);
  switch (issue.code) {
    case 'invalid_type':
      return actual === undefined
        ? `${where}: missing (expected ${article(issue.expected)})`
        : `${where}: expected ${article(issue.expected)}, got ${show(actual)}`;
    case 'too_small': {
      if (issue.origin === 'number') {
        const what =
          issue.minimum === 0 && !issue.inclusive
            ? 'a positive number'
            : `a number ${issue.inclusive ? '>=' : '>'} ${String(issue.minimum)}`;
        return `${where}: expected ${what}, got ${show(actual)}`;
      }
      if (issue.origin === 'array') return `${where}: expected at least ${String(issue.minimum)} item(s)`;
      return `${where}: too short (minimum ${String(issue.minimum)})`;
    }
    case 'too_big':
      return issue.origin === 'number'
        ? `${where}: expected a number ${issue.inclusive ? '<=' : '<'} ${String(issue.maximum)}, got ${show(actual)}`
        : `${where}: too long (maximum ${String(issue.maximum)})`;
    case 'unrecognized_keys': {
      const allowed = allowedKeys(data, issue.path);
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `${where}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${allowed ? ` (allowed: ${allowed.join(', ')})` : ''}`;
    }
    case 'invalid_union': {
      const options = (issue as { options?: unknown[] }).options;
      if ((issue as { discriminator?: string }).discriminator !== undefined && options) {
        return `${where}: unknown value ${show(actual)} (expected one of: ${options.join(', ')})`;
      }
      return `${where}: ${issue.message}`;
    }
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${show(actual)}`;
    case 'invalid_format':
      return `${where}: ${issue.message}, got ${show(actual)}`;
    default:
      return `${where}: ${issue.message}`;
  }
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}
