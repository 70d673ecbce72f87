import { mkdir, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError, errorMessage } from '../util/errors.ts';
import { parseVersionedJson } from '../util/versionedJson.ts';
import {
  HISTORY_SCHEMA_VERSION,
  HistoryFileSchema,
  SuiteNameSchema,
  type HistoryFile,
  type HistoryPoint,
} from './schema.ts';

/** Points kept per suite unless told otherwise: years of merges at a few a day. */
export const DEFAULT_RETENTION = 1000;

export function historyFileName(suite: string): string {
  return `${SuiteNameSchema.parse(suite)}.json`;
}

/** Parses one history file's text; errors name the file and the field. */
export function parseHistory(text: string, file: string): HistoryFile {
  const history = parseVersionedJson(text, file, {
    what: 'history',
    version: HISTORY_SCHEMA_VERSION,
    schema: HistoryFileSchema,
  });
  if (`${history.suite}.json` !== path.basename(file)) {
    throw new UsageError(`${file}: holds suite "${history.suite}"; expected the file ${history.suite}.json`);
  }
  return history;
}

/** The history of one suite, or an empty one when the store has no file for it yet. */
export async function readSuiteHistory(dir: string, suite: string): Promise<HistoryFile> {
  const file = path.join(dir, historyFileName(suite));
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { schemaVersion: HISTORY_SCHEMA_VERSION, kind: 'athena-bench-history', suite, points: [] };
    }
    throw new UsageError(`${file}: cannot read the history file (${errorMessage(error)})`);
  }
  return parseHistory(text, file);
}

/** Every suite's history in the store directory, by suite name. */
export async function readStore(dir: string): Promise<HistoryFile[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw new UsageError(`--store ${dir}: cannot read the history directory (${errorMessage(error)})`);
  }
  const files = entries.filter((e) => e.endsWith('.json')).sort();
  const out: HistoryFile[] = [];
  for (const name of files) {
    const file = path.join(dir, name);
    out.push(parseHistory(await readFile(file, 'utf8'), file));
  }
  return out;
}

/** A point is the same point when it is the same commit measured by the run that started at the same time. */
export function samePoint(a: HistoryPoint, b: HistoryPoint): boolean {
  return a.commit === b.commit && Date.parse(a.time) === Date.parse(b.time);
}

export interface AppendOutcome {
  history: HistoryFile;
  /** False when the point was already there (adding a run twice changes nothing). */
  added: boolean;
  /** Oldest points dropped to stay within the retention count. */
  dropped: number;
}

/**
 * Appends points not yet in the history (in the given order) and drops the oldest beyond
 * `retention`. Idempotent: re-applying the same points after a conflicting writer's points were
 * merged in loses nothing and duplicates nothing.
 */
export function appendPoints(
  history: HistoryFile,
  points: readonly HistoryPoint[],
  retention = DEFAULT_RETENTION,
): AppendOutcome {
  if (!Number.isInteger(retention) || retention < 1) {
    throw new UsageError(`retention: expected a whole number of points >= 1, got ${retention}`);
  }
  const kept = [...history.points];
  let added = false;
  for (const p of points) {
    if (kept.some((k) => samePoint(k, p))) continue;
    kept.push(p);
    added = true;
  }
  const dropped = Math.max(0, kept.length - retention);
  return { history: { ...history, points: kept.slice(dropped) }, added, dropped };
}

/** Writes the history file atomically (a reader never sees half a file). */
export async function writeSuiteHistory(dir: string, history: HistoryFile): Promise<string> {
  const checked = HistoryFileSchema.parse(history);
  const file = path.join(dir, historyFileName(checked.suite));
  try {
    await mkdir(dir, { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(checked, null, 1)}\n`);
    await rename(temp, file);
  } catch (error) {
    throw new UsageError(`${file}: cannot write the history file (${errorMessage(error)})`);
  }
  return file;
}
