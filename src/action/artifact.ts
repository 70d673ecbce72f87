import { constants } from 'node:fs';
import { lstat, open, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { VERDICTS } from '../model/verdict.ts';
import { UsageError, errorMessage } from '../util/errors.ts';
import { MetricNameSchema } from '../model/metrics.ts';
import { Slug } from '../suite/schema.ts';
import { worstVerdict } from '../model/verdict.ts';

/**
 * comment.json: what the pull_request job leaves in the results directory so a workflow_run job
 * with a token that can write (fork-safe recipe) posts the sticky comment. It comes from an
 * untrusted run, so it holds structured results only — enums, ids matching the suite's slug
 * pattern, bounded numbers, no free text — and the trusted workflow renders the comment from them
 * (trustedComment.ts). Its size is checked before it is read.
 */
export const COMMENT_ARTIFACT_FILE = 'comment.json';

/** The largest built-in suite's artifact is a few KB; a bigger file is not one of ours. */
export const MAX_ARTIFACT_BYTES = 256 * 1024;

const VerdictSchema = z.enum(VERDICTS);
/** A median, shift or interval bound: bounded so no number renders as a wall of digits. */
const BoundedNumber = z.number().min(-1e12).max(1e12).nullable();
const Id = Slug.max(100);

const MetricResultSchema = z
  .object({
    metric: MetricNameSchema,
    variant: z.enum(['raw', 'cpu-relative-to-direct']),
    verdict: VerdictSchema,
    reference: BoundedNumber,
    current: BoundedNumber,
    delta: BoundedNumber,
    ciLow: BoundedNumber,
    ciHigh: BoundedNumber,
  })
  .strict();

const ArtifactWorkloadSchema = z
  .object({
    id: Id,
    threads: z.number().int().min(1).max(100_000),
    verdict: VerdictSchema,
    /** The gated metrics only: the ones the verdict rests on. */
    metrics: z.array(MetricResultSchema).max(20),
  })
  .strict();
export type ArtifactWorkload = z.infer<typeof ArtifactWorkloadSchema>;

export const CommentArtifactSchema = z
  .object({
    schemaVersion: z.literal(2, 'expected 2 (the pull request ran another version of athena-bench)'),
    suite: Id,
    pullRequest: z.number().int().positive(),
    headSha: z.string().regex(/^[0-9a-f]{40}$/, 'expected a 40-hex commit'),
    verdict: VerdictSchema,
    comparedWith: z.enum(['baseline', 'base-ref']),
    workloads: z.array(ArtifactWorkloadSchema).max(200),
  })
  .strict()
  .superRefine((a, ctx) => {
    // The verdicts must follow from the per-metric ones, as compare.ts derives them.
    a.workloads.forEach((w, i) => {
      if (w.verdict !== worstVerdict(w.metrics.map((m) => m.verdict))) {
        ctx.addIssue({
          code: 'custom',
          path: ['workloads', i, 'verdict'],
          message: 'expected the worst verdict of its metrics',
        });
      }
    });
    if (a.verdict !== worstVerdict(a.workloads.map((w) => w.verdict))) {
      ctx.addIssue({
        code: 'custom',
        path: ['verdict'],
        message: 'expected the worst verdict of the workloads',
      });
    }
  });
export type CommentArtifact = z.infer<typeof CommentArtifactSchema>;

export async function writeCommentArtifact(dir: string, artifact: CommentArtifact): Promise<string> {
  const file = path.join(dir, COMMENT_ARTIFACT_FILE);
  await writeFile(file, JSON.stringify(artifact, null, 2) + '\n');
  return file;
}

export async function readCommentArtifact(dir: string): Promise<CommentArtifact> {
  const file = path.join(dir, COMMENT_ARTIFACT_FILE);
  const text = await readBounded(file);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not JSON (${errorMessage(error)})`);
  }
  const parsed = CommentArtifactSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** A regular file of at most MAX_ARTIFACT_BYTES (a symlink could point at a secret of this machine). */
async function readBounded(file: string): Promise<string> {
  let info;
  try {
    info = await lstat(file);
  } catch (error) {
    throw new UsageError(
      `${file}: could not read the comment artifact (${errorMessage(error)}). ` +
        'Did the pull_request workflow upload results-dir, and did this workflow download it there?',
    );
  }
  if (!info.isFile()) throw new UsageError(`${file}: expected a regular file`);
  const tooBig = () =>
    new UsageError(`${file}: larger than ${MAX_ARTIFACT_BYTES} bytes, not a comment artifact`);
  if (info.size > MAX_ARTIFACT_BYTES) throw tooBig();
  // O_NOFOLLOW: a symlink swapped in after lstat is refused as well.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    // Up to one byte past the limit: a file that grew since lstat is refused too.
    const buffer = Buffer.alloc(MAX_ARTIFACT_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_ARTIFACT_BYTES) throw tooBig();
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}
