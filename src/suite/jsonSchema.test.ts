import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';
import { BUILTIN_SUITES } from './builtins.ts';
import { renderSuiteJsonSchema, suiteJsonSchema, SUITE_SCHEMA_PATH } from './jsonSchema.ts';
import { parseSuiteText } from './load.ts';
import { SuiteSchema } from './schema.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const validate = new Ajv({ allErrors: true }).compile(suiteJsonSchema());

function assertValid(data: unknown, what: string): void {
  assert.ok(validate(data), `${what}: ${JSON.stringify(validate.errors, null, 2)}`);
}

/** The suite examples of docs/SUITES.md: its json and yaml blocks that are whole suites. */
function docExamples(): Array<{ file: string; text: string }> {
  const doc = readFileSync(path.join(root, 'docs/SUITES.md'), 'utf8');
  return [...doc.matchAll(/```(json|yaml)\n([\s\S]*?)```/g)]
    .filter((m) => /^"?workloads"?:/m.test(m[2]!.replace(/^\s+/gm, '')))
    .map((m, i) => ({ file: `docs/SUITES.md example ${i + 1}.${m[1]}`, text: m[2]! }));
}

test('dist/suite.schema.json is what the build generates from SuiteSchema now', () => {
  const committed = readFileSync(path.join(root, SUITE_SCHEMA_PATH), 'utf8');
  assert.equal(committed, renderSuiteJsonSchema(), 'run `node scripts/build.mjs` and commit dist/');
});

test('every built-in suite validates against both the zod schema and the JSON Schema', () => {
  for (const [name, suite] of Object.entries(BUILTIN_SUITES)) {
    assert.deepEqual(SuiteSchema.parse(suite), suite, name);
    assertValid(suite, name);
  }
});

test("docs/SUITES.md's full example, in YAML and JSON, loads with the real loader and the JSON Schema", () => {
  const examples = docExamples();
  assert.deepEqual(
    examples.map((e) => path.extname(e.file)),
    ['.yaml', '.json'],
  );
  const [yaml, json] = examples.map((e) => parseSuiteText(e.text, e.file));
  assert.deepEqual(yaml, json, 'the YAML and the JSON example are the same suite');
  assert.equal(yaml!.workloads.length, 4);
  for (const example of examples) {
    const data = parseYaml(example.text) as Record<string, unknown>; // JSON is YAML
    assert.equal(typeof data.$schema, 'string', `${example.file} names its $schema`);
    assertValid(data, example.file);
  }
});

test('the JSON Schema refuses what the loader refuses field by field', () => {
  const base = JSON.parse(JSON.stringify(BUILTIN_SUITES.quick)) as Record<string, unknown>;
  const bad: Array<[string, Record<string, unknown>]> = [
    ['an unknown key', { ...base, colour: 'red' }],
    ['rounds 0', { ...base, rounds: 0 }],
    ['no workloads', { ...base, workloads: [] }],
    ['an upper-case name', { ...base, name: 'Quick' }],
    [
      'an unknown metric',
      {
        ...base,
        workloads: [{ ...(base.workloads as object[])[0], metrics: { speed: { thresholdPct: 1 } } }],
      },
    ],
  ];
  for (const [what, data] of bad) {
    assert.ok(!validate(data), `JSON Schema accepts ${what}`);
    assert.ok(!SuiteSchema.safeParse(data).success, `zod accepts ${what}`);
  }
});
