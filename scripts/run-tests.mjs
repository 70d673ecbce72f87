// Runs the tests with node's built-in test runner (through tsx). Node 20's runner does not expand
// globs itself, so the files are listed here.
//   (no flag)      every *.test.ts: the unit tests under src/ and proxy/src/, then test/
//   --unit         only the unit tests, the *.test.ts beside the code; they start no service: seconds
//   --integration  only the tests under test/ (test/integration/{proxy,gate,action}): they start
//                  MariaDB, Athena, the CLI or the Action: minutes
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=...); file paths narrow the set.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const UNIT_DIRS = ['src', 'proxy/src'];
const INTEGRATION_DIRS = ['test'];

function findTests(dir) {
  let found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'dist' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found = found.concat(findTests(full));
    else if (entry.name.endsWith('.test.ts')) found.push(path.relative(root, full));
  }
  return found;
}

const args = process.argv.slice(2);
const kinds = new Set(args.filter((a) => a === '--unit' || a === '--integration'));
const fileArgs = args.filter((a) => a.endsWith('.ts'));
const flagArgs = args.filter((a) => !a.endsWith('.ts') && !kinds.has(a));
const dirs = [
  ...(kinds.size === 0 || kinds.has('--unit') ? UNIT_DIRS : []),
  ...(kinds.size === 0 || kinds.has('--integration') ? INTEGRATION_DIRS : []),
];
const files = fileArgs.length > 0 ? fileArgs : dirs.flatMap((d) => findTests(path.join(root, d))).sort();

process.env.PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;
// Three files at a time on 2 cores: most integration tests wait on a server starting or a run's
// fixed duration more than they compute (measured: the whole run 7 min 03 s at 2, 5 min 58 s at 3).
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=3', '--test-timeout=600000', ...flagArgs, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
