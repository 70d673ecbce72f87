import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { INPUT_SPECS, readActionConfig } from './inputs.ts';

/** action.yml, the code and the README's tables must agree on every input and output. */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const action = parse(readFileSync(path.join(root, 'action.yml'), 'utf8')) as {
  name: string;
  description: string;
  branding: { icon: string; color: string };
  inputs: Record<string, { description?: string; default?: string; required?: boolean }>;
  outputs: Record<string, { description?: string }>;
  runs: { using: string; main: string };
};
const declaredInputs = Object.keys(action.inputs).sort();
const declaredOutputs = Object.keys(action.outputs).sort();

function readmeSection(): string {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('## The GitHub Action');
  assert.ok(start >= 0, 'README has a "## The GitHub Action" section');
  const end = readme.indexOf('\n## ', start + 1);
  return readme.slice(start, end === -1 ? undefined : end);
}

/** Rows of the markdown table that follows a "### <heading>" line: first column → second column. */
function tableAfter(section: string, heading: string): Map<string, string> {
  const at = section.indexOf(`### ${heading}\n`);
  assert.ok(at >= 0, `README section has "### ${heading}"`);
  const rows = new Map<string, string>();
  const lines = section.slice(at).split('\n').slice(1);
  let inTable = false;
  for (const line of lines) {
    if (line.startsWith('|')) {
      inTable = true;
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      const name = /^`([a-z-]+)`$/.exec(cells[0] ?? '')?.[1];
      if (name) rows.set(name, cells[1] ?? '');
    } else if (inTable) break;
  }
  return rows;
}

test('action.yml runs dist/index.js on node24 and has name, description and branding', () => {
  assert.equal(action.runs.using, 'node24');
  assert.equal(action.runs.main, 'dist/index.js');
  assert.ok(action.name && action.description && action.branding.icon && action.branding.color);
});

test('every input is kebab-case with a description and a default, as the code declares it', () => {
  for (const [name, input] of Object.entries(action.inputs)) {
    assert.match(name, /^[a-z]+(-[a-z]+)*$/, name);
    assert.ok(input.description && input.description.length > 10, `${name} has a description`);
    assert.equal(typeof input.default, 'string', `${name} has a string default`);
  }
  assert.deepEqual(declaredInputs, Object.keys(INPUT_SPECS).sort());
  for (const name of declaredInputs) {
    assert.equal(action.inputs[name]!.default, INPUT_SPECS[name as keyof typeof INPUT_SPECS].default, name);
  }
});

test('the code reads exactly the inputs action.yml declares', () => {
  const asked = new Set<string>();
  readActionConfig({
    getInput: (name) => {
      asked.add(name);
      return action.inputs[name]?.default === '${{ github.token }}'
        ? 'ghs_x'
        : (action.inputs[name]?.default ?? '');
    },
    setSecret: () => undefined,
  });
  assert.deepEqual([...asked].sort(), declaredInputs);

  // Nothing else reads inputs: no getInput with a literal name, no INPUT_* environment variable.
  const sources = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return sources(full);
      return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [full] : [];
    });
  const reader = path.join(root, 'src/action/inputs.ts');
  for (const file of sources(path.join(root, 'src')).filter((f) => f !== reader)) {
    const text = readFileSync(file, 'utf8');
    assert.ok(!/getInput\(\s*['"`]/.test(text), `${file} reads an input by name outside inputs.ts`);
    assert.ok(!/(env\.|['"`])INPUT_/.test(text), `${file} reads an INPUT_* variable`);
    assert.ok(!/getBooleanInput|getMultilineInput/.test(text), `${file} bypasses the inputs reader`);
  }
});

test('the README documents every input with its default, and every output', () => {
  const section = readmeSection();
  const inputs = tableAfter(section, 'Inputs');
  assert.deepEqual([...inputs.keys()].sort(), declaredInputs);
  for (const name of declaredInputs) {
    const documented = inputs.get(name)!.replace(/^`(.*)`$/, '$1');
    const declared = action.inputs[name]!.default!;
    assert.equal(documented, declared === '' ? "''" : declared, `README default of ${name}`);
  }
  const outputs = tableAfter(section, 'Outputs');
  assert.deepEqual([...outputs.keys()].sort(), declaredOutputs);
});

test('the outputs the code sets are the ones action.yml declares', () => {
  const dir = path.join(root, 'src/action');
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  const set = new Set([...sources.matchAll(/setOutput\('([a-z-]+)'/g)].map((m) => m[1]));
  assert.deepEqual([...set].sort(), declaredOutputs);
});
