import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/**
 * The workflows this repository runs and the ones its README tells users to copy: least-privilege
 * tokens, and no expression expanded into a shell script (a value a pull request controls would
 * become code run with the workflow's token).
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const workflowDir = path.join(root, '.github/workflows');
const workflowFiles = readdirSync(workflowDir).filter((f) => /\.ya?ml$/.test(f));

interface Step {
  uses?: string;
  with?: Record<string, unknown>;
  run?: string;
  if?: string;
  env?: Record<string, string>;
}
interface Workflow {
  permissions?: Record<string, string> | string;
  jobs?: Record<string, { steps?: Step[] }>;
}

const workflows = workflowFiles.map((f) => ({
  name: `.github/workflows/${f}`,
  doc: parse(readFileSync(path.join(workflowDir, f), 'utf8')) as Workflow,
}));

/** A markdown file's YAML examples: whole workflows, or lists of steps. */
function yamlBlockSteps(file: string, label: string): Array<{ name: string; steps: Step[] }> {
  const text = readFileSync(path.join(root, file), 'utf8');
  return [...text.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m, i) => {
    const doc = parse(m[1]!) as Workflow | Step[];
    const steps = Array.isArray(doc) ? doc : Object.values(doc.jobs ?? {}).flatMap((j) => j.steps ?? []);
    return { name: `${label} yaml block ${i + 1}`, steps };
  });
}

const readmeYamlSteps = () => yamlBlockSteps('README.md', 'README');

const allSteps = [
  ...workflows.map((w) => ({
    name: w.name,
    steps: Object.values(w.doc.jobs ?? {}).flatMap((j) => j.steps ?? []),
  })),
  ...readmeYamlSteps(),
];

test('every workflow declares its token permissions; ci only reads', () => {
  assert.ok(workflows.length >= 4);
  for (const { name, doc } of workflows) {
    assert.ok(doc.permissions !== undefined, `${name} has a top-level permissions block`);
    assert.notEqual(doc.permissions, 'write-all', name);
  }
  const ci = workflows.find((w) => w.name.endsWith('/ci.yml'));
  assert.deepEqual(ci?.doc.permissions, { contents: 'read' });
});

test('no expression is expanded inside a shell script, in the workflows or the README examples', () => {
  let scripts = 0;
  for (const { name, steps } of allSteps) {
    for (const step of steps.filter((s) => s.run !== undefined)) {
      scripts += 1;
      assert.ok(!step.run!.includes('${{'), `${name}: pass values through env:, not in run:\n${step.run}`);
    }
  }
  assert.ok(scripts >= 10, `${scripts} scripts checked`);
});

test('no step is guarded with hashFiles() on runner.temp (it only hashes the workspace)', () => {
  const guards = allSteps.flatMap(({ name, steps }) => steps.map((s) => [name, s.if ?? ''] as const));
  for (const [name, guard] of guards) {
    assert.ok(!/hashFiles\([^)]*runner\.temp/.test(guard), `${name}: ${guard}`);
  }
  // The fork-safe comment step runs when the downloaded artifact holds comment.json.
  for (const name of ['.github/workflows/perf-gate-comment.yml', 'README yaml block']) {
    const steps = allSteps.filter((s) => s.name.startsWith(name)).flatMap((s) => s.steps);
    const check = steps.find((s) => s.run?.includes('comment.json'));
    assert.match(check?.run ?? '', /-f "\$RUNNER_TEMP\/pr-results\/comment\.json"/, name);
    assert.match(check?.run ?? '', /found=true" >> "\$GITHUB_OUTPUT"/, name);
  }
});

/** The YAML workflows in docs/ (docs/HISTORY.md's mode history example). */
const docsWorkflowSteps = () =>
  readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) => yamlBlockSteps(`docs/${f}`, `docs/${f}`));

test('every actions/checkout leaves no credentials behind (persist-credentials: false), examples included', () => {
  const checkouts = [...allSteps, ...docsWorkflowSteps()].flatMap(({ name, steps }) =>
    steps.filter((s) => s.uses?.startsWith('actions/checkout@')).map((s) => ({ name, step: s })),
  );
  assert.ok(checkouts.length >= 9, `${checkouts.length} checkouts found`);
  for (const { name, step } of checkouts) {
    assert.equal(step.with?.['persist-credentials'], false, `${name}: ${JSON.stringify(step)}`);
  }
});
