import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { UsageError, errorMessage } from './errors.ts';
import { formatIssues } from './zodPath.ts';

/**
 * Parses the text of one of the tool's versioned JSON files (results, history): not JSON, another
 * schemaVersion, or a field that fails the schema are usage errors naming the file and the field.
 */
export function parseVersionedJson<S extends z.ZodType>(
  text: string,
  file: string,
  kind: { what: string; version: number; schema: S },
): z.infer<S> {
  const data = parseJson(text, file);
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== kind.version) {
    throw new UsageError(
      `${file}: ${kind.what} schemaVersion ${JSON.stringify(version)} is not supported (expected ${kind.version})`,
    );
  }
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) {
    throw new UsageError(`${file}: invalid ${kind.what} file: ${formatIssues(parsed.error.issues)}`);
  }
  return parsed.data;
}

/** JSON text as data; text that is not JSON is a usage error naming the file. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${errorMessage(error)})`);
  }
}

/** A file's text; a file that cannot be read is a usage error naming it and what it should be. */
export async function readTextFile(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`${file}: cannot read the ${what} (${errorMessage(error)})`);
  }
}
