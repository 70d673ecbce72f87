import { InfrastructureError } from '../util/errors.ts';
import { parseVersionedJson, readTextFile } from '../util/versionedJson.ts';
import { RESULTS_SCHEMA_VERSION, ResultsSchema, type Results } from './schema.ts';

/** Reads and validates the results file of a complete run; errors name the file and the field. */
export async function loadResultsFile(file: string): Promise<Results> {
  const results = await readResultsFile(file);
  // A failed run's samples are partial: judging or baselining them could turn a broken run into a pass.
  if (results.status !== 'complete') {
    throw new InfrastructureError(
      `${file}: the run it records failed (${results.failure ?? 'no reason recorded'}); there is nothing to compare`,
    );
  }
  return results;
}

/** Reads and validates a results file, of a complete or a failed run. */
export async function readResultsFile(file: string): Promise<Results> {
  return parseVersionedJson(await readTextFile(file, 'results file'), file, {
    what: 'results',
    version: RESULTS_SCHEMA_VERSION,
    schema: ResultsSchema,
  });
}
