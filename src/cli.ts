import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode } from './util/errors.ts';
import { calibrateCommand } from './cli/calibrate.ts';
import { mergeCommand } from './cli/merge.ts';
import { reportFailure } from './cli/flags.ts';
import { RUN_HELP, runCommand, type RunCommandIO } from './cli/run.ts';
import { TOOL_VERSION } from './engine/version.ts';
import { historyCommand } from './cli/history.ts';
import { realExec } from './util/exec.ts';
import { baselineCommand, compareCommand } from './cli/verdict.ts';

// athena-bench: a thin layer over the engine (run), the verdicts (baseline, compare) and the history.
const HELP = `Usage: athena-bench <command> [options]

Commands:
  run        benchmark a MySQL proxy against direct MySQL (and gate it against a baseline)
  baseline   write a baseline file from a run's results.json
  compare    compare a results.json against a baseline (or two arms of one run); with
             --history FILE (past baselines) or --history-store DIR, the report shows the trend
  calibrate  run the proxy against an identical twin: this runner's noise, what it can detect
  history    keep the default branch's results over time, find change points, draw the trends
  merge      merge the shards of a sharded run (run --shard i/n) into one results.json and verdict

Options:
  -h, --help     this help (also: athena-bench <command> --help)
  -V, --version  the version

Exit codes: 0 pass, 1 regression, 2 usage or configuration error, 3 infrastructure failure.
`;

/** src/cli.ts and dist/cli.js both sit one level below the package root. */
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const io = {
    stdout: (s: string) => void process.stdout.write(s),
    stderr: (s: string) => void process.stderr.write(s),
    env: process.env,
    cwd: process.cwd(),
  };
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout(command === undefined ? `${HELP}` : HELP);
      return command === undefined ? ExitCode.Usage : ExitCode.Pass;
    case '-V':
    case '--version':
      io.stdout(`athena-bench ${TOOL_VERSION}\n`);
      return ExitCode.Pass;
    case 'baseline':
      return baselineCommand(rest, io);
    case 'compare':
      return compareCommand(rest, io);
    case 'history':
      return historyCommand(rest, io);
    case 'run':
      return runWithSignals(rest, io, runCommand);
    case 'calibrate':
      return runWithSignals(rest, io, calibrateCommand);
    case 'merge':
      return mergeCommand(rest, io).catch((error: unknown) => reportFailure('merge', error, io.stderr));
    default:
      io.stderr(`athena-bench: unknown command "${command}"\n\n${HELP}`);
      return ExitCode.Usage;
  }
}

/**
 * SIGINT/SIGTERM abort the run: the engine stops the current driver, stops the proxies, drops its
 * data, removes worktrees and the throwaway server, writes results.json (failed), and the CLI
 * exits 130/143. A second signal exits at once (child process groups are still killed on exit).
 */
async function runWithSignals(
  argv: string[],
  io: { stdout: (s: string) => void; env: NodeJS.ProcessEnv; cwd: string },
  command: (argv: string[], io: RunCommandIO) => Promise<number>,
): Promise<number> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) process.exit(signal === 'SIGINT' ? 130 : 143);
    received = signal;
    process.stderr.write(`\nathena-bench: ${signal}: stopping and cleaning up…\n`);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await command(argv, {
      ...io,
      stderr: process.stderr,
      exec: realExec,
      repoRoot,
      signal: controller.signal,
    });
  } catch (error) {
    const code = reportFailure(
      command === runCommand ? 'run' : 'calibrate',
      error,
      (s) => void process.stderr.write(s),
    );
    if (received) return received === 'SIGINT' ? 130 : 143;
    return code;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => process.exit(reportFailure('', error, (s) => void process.stderr.write(s))),
);

export { RUN_HELP };
