import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { UsageError, errorMessage } from '../errors.ts';

/**
 * comment.json: what the pull_request job leaves in the results directory so a workflow_run job
 * with a token that can write (fork-safe recipe) posts the same sticky comment. It comes from an
 * untrusted run, so it is validated and the pull request it names is checked against the run.
 */
export const COMMENT_ARTIFACT_FILE = 'comment.json';

export const CommentArtifactSchema = z
  .object({
    schemaVersion: z.literal(1),
    suite: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, 'expected a suite name'),
    pullRequest: z.number().int().positive(),
    headSha: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex commit'),
    verdict: z.enum(['pass', 'improved', 'regressed', 'inconclusive']),
    summaryLine: z.string().max(2000),
    body: z.string().max(65_000),
  })
  .strict();
export type CommentArtifact = z.infer<typeof CommentArtifactSchema>;

export async function writeCommentArtifact(dir: string, artifact: CommentArtifact): Promise<string> {
  const file = path.join(dir, COMMENT_ARTIFACT_FILE);
  await writeFile(file, JSON.stringify(artifact, null, 2) + '\n');
  return file;
}

export async function readCommentArtifact(dir: string): Promise<CommentArtifact> {
  const file = path.join(dir, COMMENT_ARTIFACT_FILE);
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new UsageError(
      `${file}: could not read the comment artifact (${errorMessage(error)}). ` +
        'Did the pull_request workflow upload results-dir, and did this workflow download it there?',
    );
  }
  const parsed = CommentArtifactSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
