// The CommandIO a test hands to a command function (baseline, compare, history...): it keeps what
// the command wrote to stdout and stderr.
import type { CommandIO } from '../../src/cli/flags.ts';

export function captureIO(cwd: string): CommandIO & { out: string; err: string } {
  const sink = {
    out: '',
    err: '',
    stdout: (s: string) => void (sink.out += s),
    stderr: (s: string) => void (sink.err += s),
    env: {},
    cwd,
  };
  return sink;
}
