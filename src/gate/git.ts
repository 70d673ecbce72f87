import { InfrastructureError } from '../util/errors.ts';
import type { Exec } from '../util/exec.ts';
import type { ReferenceGit } from './reference.ts';

/** The git commands the gate's doors need, run through the injected exec. */
export interface GitOps extends ReferenceGit {
  /** Top-level directory of the repository holding dir; throws outside a git checkout. */
  repoRoot(dir: string): Promise<string>;
  /** A file's text at a ref, read-only; null when the ref or the file does not exist. */
  readFileAtRef?(repoRoot: string, ref: string, file: string): Promise<string | null>;
}

export function gitOps(exec: Exec): GitOps {
  const git = async (cwd: string, args: string[]): Promise<string> => {
    const result = await exec('git', ['-C', cwd, ...args], { timeoutMs: 120_000 });
    if (result.exitCode !== 0) {
      const detail = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' ');
      throw new InfrastructureError(
        `git ${args.join(' ')} exited with ${result.exitCode ?? result.signal}: ${detail}`,
      );
    }
    return result.stdout.trim();
  };
  const repoRoot = (dir: string) => git(dir, ['rev-parse', '--show-toplevel']);
  return {
    repoRoot,
    toplevel: (dir) => repoRoot(dir).catch(() => null),
    resolveCommit: (root, ref) => git(root, ['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`]),
    mergeBase: (root, a, b) => git(root, ['merge-base', a, b]),
    readFileAtRef: (root, ref, file) => readFileAtRef(exec, root, ref, file),
  };
}

async function readFileAtRef(exec: Exec, root: string, ref: string, file: string): Promise<string | null> {
  const options = { timeoutMs: 60_000 };
  const found = await exec(
    'git',
    ['-C', root, 'rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
    options,
  );
  if (found.exitCode !== 0) return null;
  const commit = found.stdout.trim();
  const exists = await exec('git', ['-C', root, 'cat-file', '-e', `${commit}:${file}`], options);
  if (exists.exitCode !== 0) return null;
  // A long history is megabytes; exec keeps only the tail of a bigger output.
  const blob = await exec('git', ['-C', root, 'cat-file', 'blob', `${commit}:${file}`], {
    ...options,
    maxOutputChars: 256 * 1024 * 1024,
  });
  if (blob.exitCode !== 0)
    throw new InfrastructureError(`git cat-file ${ref}:${file} failed: ${blob.stderr.trim()}`);
  return blob.stdout;
}
