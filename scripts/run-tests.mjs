// Runs every *.test.ts under src/, proxy/src/, test/ and scripts/ with node's built-in test runner
// (through tsx). Node 20's runner does not expand globs itself, so the files are listed here.
// Extra arguments are passed to `node --test` (e.g. --test-name-pattern=...); file paths narrow the set.
// --unit: only the unit tests, the *.test.ts beside the code under src/ and proxy/src/ that start
// no service (those that do are named *.integration.test.ts; test/ holds the end-to-end ones).
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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
const unitOnly = args.includes('--unit');
const fileArgs = args.filter((a) => a.endsWith('.ts'));
const flagArgs = args.filter((a) => !a.endsWith('.ts') && a !== '--unit');
const files =
  fileArgs.length > 0
    ? fileArgs
    : (unitOnly ? ['src', 'proxy/src'] : ['src', 'proxy/src', 'test', 'scripts']).flatMap((d) => {
        try {
          return findTests(path.join(root, d));
        } catch {
          return [];
        }
      });
if (unitOnly) files.splice(0, files.length, ...files.filter((f) => !f.endsWith('.integration.test.ts')));
files.sort();

process.env.PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...flagArgs, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(result.status ?? 1);
