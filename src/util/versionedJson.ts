import type { z } from 'zod';
import { UsageError, errorMessage } from '../errors.ts';
import { formatPath } from './zodPath.ts';

/**
 * Parses the text of one of the tool's versioned JSON files (results, history): not JSON, another
 * schemaVersion, or a field that fails the schema are usage errors naming the file and the field.
 */
export function parseVersionedJson<S extends z.ZodType>(
  text: string,
  file: string,
  kind: { what: string; version: number; schema: S },
): z.infer<S> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not valid JSON (${errorMessage(error)})`);
  }
  const version = (data as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== kind.version) {
    throw new UsageError(
      `${file}: ${kind.what} schemaVersion ${JSON.stringify(version)} is not supported (expected ${kind.version})`,
    );
  }
  const parsed = kind.schema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((i) => `${formatPath(i.path)}: ${i.message}`)
      .join('; ');
    throw new UsageError(`${file}: invalid ${kind.what} file: ${issues}`);
  }
  return parsed.data;
}
