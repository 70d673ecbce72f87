import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import { BUILTIN_SUITES, builtinEquivalent } from './builtins.ts';
import { loadSuite, parseSuiteText } from './load.ts';
import { formatPath } from '../util/zodPath.ts';
import { SuiteSchema, type Workload } from './schema.ts';
import { parseDocument } from 'yaml';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'athena-bench-suite-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, text);
  return file;
}

async function assertUsage(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${String(error)}`);
    assert.match(error.message, pattern);
    return true;
  });
}

const VALID_YAML = `name: custom
rounds: 2
workloads:
  - id: rw
    title: OLTP R/W
    driver: sysbench
    threads: 4
    options:
      test: oltp_read_write
      tables: 1
      tableSize: 100
      timeSec: 1
  - id: slap
    title: slap
    driver: mysqlslap
    threads: 5
    options:
      query: SELECT 1
`;

test('every builtin suite validates and loads by name as an independent copy', async () => {
  for (const [name, suite] of Object.entries(BUILTIN_SUITES)) {
    assert.equal(suite.name, name);
    assert.deepEqual(SuiteSchema.parse(suite), suite);
    const loaded = await loadSuite(name);
    assert.deepEqual(loaded, suite);
    assert.notEqual(loaded, suite);
    loaded.workloads.pop();
    assert.notEqual(
      BUILTIN_SUITES[name as keyof typeof BUILTIN_SUITES].workloads.length,
      loaded.workloads.length,
    );
  }
});

test("the default suite is the performance-testing guide's table, the latency row and both mysqlslap commands", () => {
  const rows = BUILTIN_SUITES.default.workloads.map((w) => [
    w.title,
    w.threads,
    w.driver === 'sysbench' ? w.options.test : w.driver,
  ]);
  assert.deepEqual(rows, [
    ['OLTP R/W', 16, 'oltp_read_write'],
    ['Select', 32, 'oltp_point_select'],
    ['Insert', 16, 'oltp_insert'],
    ['Point select, 1 thread (latency)', 1, 'oltp_point_select'],
    ['mysqlslap auto-generate-sql', 50, 'mysqlslap'],
    ['mysqlslap custom query', 50, 'mysqlslap'],
  ]);
  const rw = BUILTIN_SUITES.default.workloads[0]!;
  assert.ok(rw.driver === 'sysbench' && rw.options.tables === 4 && rw.options.tableSize === 10_000);
  const query = BUILTIN_SUITES.default.workloads[5]!;
  assert.ok(query.driver === 'mysqlslap');
  assert.equal(query.options.query, 'SELECT * FROM users WHERE user_id = 1');
  assert.match(query.options.setupSql[0]!, /CREATE TABLE IF NOT EXISTS users \(user_id INT/);
  const auto = BUILTIN_SUITES.default.workloads[4]!;
  assert.ok(
    auto.driver === 'mysqlslap' && auto.options.numberIntCols === 2 && auto.options.numberCharCols === 3,
  );
});

test('the quick suite keeps the shapes with short runs; proxy-comparison has more rounds', () => {
  const quick = BUILTIN_SUITES.quick;
  assert.deepEqual(
    quick.workloads.map((w) => [w.id, w.threads]),
    BUILTIN_SUITES.default.workloads.map((w) => [w.id, w.threads]),
  );
  for (const w of quick.workloads) {
    if (w.driver === 'sysbench') assert.ok(w.options.timeSec <= 3 && w.options.tableSize <= 1000);
  }
  const pc = BUILTIN_SUITES['proxy-comparison'];
  assert.ok(pc.rounds > BUILTIN_SUITES.default.rounds);
  assert.deepEqual(
    pc.workloads.map((w) => (w.driver === 'sysbench' ? `${w.options.test}/${w.threads}` : w.driver)),
    ['oltp_read_write/16', 'oltp_point_select/32', 'oltp_insert/16'],
  );
});

test('loads YAML and JSON files, filling defaults', async () => {
  const yaml = await loadSuite(await write('suite.yaml', VALID_YAML));
  assert.equal(yaml.name, 'custom');
  assert.equal(yaml.rounds, 2);
  const rw = yaml.workloads[0]!;
  assert.ok(rw.driver === 'sysbench');
  assert.equal(rw.options.psMode, 'auto');
  assert.equal(rw.options.percentile, 95);
  assert.equal(rw.warmupSec, 0);
  const json = await loadSuite(await write('suite.json', JSON.stringify({ ...yaml, name: 'as-json' })));
  assert.equal(json.name, 'as-json');
  assert.deepEqual(json.workloads, yaml.workloads);
  const yml = await loadSuite(await write('suite.yml', VALID_YAML));
  assert.equal(yml.name, 'custom');
});

test('a bad value names the file and the path inside it', async () => {
  const file = await write('suite.yaml', VALID_YAML.replace('timeSec: 1', 'timeSec: -5'));
  await assertUsage(
    loadSuite(file),
    new RegExp(`^${escape(file)}: workloads\\[0\\]\\.options\\.timeSec: expected a positive number, got -5$`),
  );
});

test('an unknown driver is named with the drivers that exist', async () => {
  const file = await write('bad-driver.yaml', VALID_YAML.replace('driver: mysqlslap', 'driver: pgbench'));
  await assertUsage(
    loadSuite(file),
    /bad-driver\.yaml: workloads\[1\]\.driver: unknown value "pgbench" \(expected one of: sysbench, mysqlslap, builtin\)/,
  );
});

test('an unknown option key is named with the allowed keys', async () => {
  const file = await write('bad-key.yaml', VALID_YAML.replace('tables: 1', 'tabels: 1'));
  await assertUsage(
    loadSuite(file),
    /bad-key\.yaml: workloads\[0\]\.options: unknown key "tabels" \(allowed: test, tables, tableSize, timeSec,/,
  );
  const top = await write('bad-top.json', JSON.stringify({ name: 'x', workloads: [], color: 'red' }));
  await assertUsage(loadSuite(top), /bad-top\.json: \(top level\): unknown key "color" \(allowed: name,/);
});

test('a missing field is named', async () => {
  const file = await write('missing.yaml', VALID_YAML.replace('    title: OLTP R/W\n', ''));
  await assertUsage(loadSuite(file), /missing\.yaml: workloads\[0\]\.title: missing \(expected a string\)/);
  const noTime = await write('no-time.yaml', VALID_YAML.replace('      timeSec: 1\n', ''));
  await assertUsage(loadSuite(noTime), /workloads\[0\]\.options\.timeSec: missing \(expected a number\)/);
});

test('duplicate workload ids are rejected at the second one', async () => {
  const file = await write('dup.yaml', VALID_YAML.replace('id: slap', 'id: rw'));
  await assertUsage(loadSuite(file), /dup\.yaml: workloads\[1\]\.id: duplicate workload id "rw"/);
});

test('wrong types, empty lists and mysqlslap without a query are explained', async () => {
  const threads = await write('threads.yaml', VALID_YAML.replace('threads: 4', 'threads: many'));
  await assertUsage(loadSuite(threads), /workloads\[0\]\.threads: expected a number, got "many"/);
  const empty = await write('empty.json', JSON.stringify({ name: 'x', workloads: [] }));
  await assertUsage(loadSuite(empty), /empty\.json: workloads: expected at least 1 item/);
  const slap = await write(
    'slap.yaml',
    VALID_YAML.replace('      query: SELECT 1\n', '      iterations: 2\n'),
  );
  await assertUsage(
    loadSuite(slap),
    /workloads\[1\]\.options: expected exactly one of autoGenerateSql: true or query/,
  );
  const psMode = await write(
    'ps.yaml',
    VALID_YAML.replace('tables: 1', 'tables: 1\n      psMode: sometimes'),
  );
  await assertUsage(
    loadSuite(psMode),
    /workloads\[0\]\.options\.psMode: expected one of "auto", "disable", got "sometimes"/,
  );
});

test('bad YAML and JSON syntax are UsageErrors naming the file (and the line for YAML)', async () => {
  const yaml = await write('broken.yaml', 'name: x\nworkloads:\n  - id: [unclosed\n');
  await assertUsage(loadSuite(yaml), /broken\.yaml: invalid YAML \(line \d+, column \d+\)/);
  const dupKey = await write('dupkey.yaml', 'name: x\nname: y\nworkloads: []\n');
  await assertUsage(
    loadSuite(dupKey),
    /dupkey\.yaml: invalid YAML \(line 2, column 1\): Map keys must be unique/,
  );
  const json = await write('broken.json', '{"name": "x",');
  await assertUsage(loadSuite(json), /broken\.json: invalid JSON: /);
});

test('unknown names, missing files and other extensions', async () => {
  await assertUsage(
    loadSuite('nightly'),
    /--suite nightly: expected a builtin suite \(default, quick, proxy-comparison\) or a \.json, \.yaml or \.yml file/,
  );
  await assertUsage(loadSuite(path.join(dir, 'nope.yaml')), /nope\.yaml: suite file not found/);
  await assertUsage(loadSuite(await write('suite.toml', 'name = "x"')), /expected a builtin suite/);
});

test('parseSuiteText reports several issues, each with its path', () => {
  assert.throws(
    () => parseSuiteText(JSON.stringify({ workloads: [{ id: 'A!', title: '', threads: 0 }] }), 'x.json'),
    (error: unknown) => {
      assert.ok(error instanceof UsageError);
      const lines = error.message.split('\n');
      assert.ok(lines.length >= 2, error.message);
      assert.ok(
        lines.every((l) => l.startsWith('x.json: ')),
        error.message,
      );
      assert.match(error.message, /x\.json: name: missing/);
      return true;
    },
  );
});

test('formatPath', () => {
  assert.equal(formatPath(['workloads', 1, 'options', 'timeSec']), 'workloads[1].options.timeSec');
  assert.equal(formatPath([]), '(top level)');
});

test('builtinEquivalent maps point select and read/write, nothing else', () => {
  const [rw, select, insert, , slap] = BUILTIN_SUITES.default.workloads as [
    Workload,
    Workload,
    Workload,
    Workload,
    Workload,
  ];
  const b = builtinEquivalent(rw);
  assert.ok(b && b.driver === 'builtin');
  assert.equal(b.options.mix, 'read_write');
  assert.equal(b.threads, 16);
  assert.equal(b.options.tables, 4);
  assert.equal(builtinEquivalent(select)?.driver, 'builtin');
  assert.equal(builtinEquivalent(insert), null);
  assert.equal(builtinEquivalent(slap), null);
  assert.ok(SuiteSchema.safeParse({ name: 'fallback', workloads: [b] }).success);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

test('a top-level $schema (for editors) is accepted and left out of the suite', async () => {
  const yaml = await loadSuite(
    await write('with-schema.yaml', `$schema: ./suite.schema.json\n${VALID_YAML}`),
  );
  const json = await loadSuite(
    await write(
      'with-schema.json',
      JSON.stringify({ $schema: 'https://example.com/suite.schema.json', ...parseYamlSuite() }),
    ),
  );
  assert.deepEqual(yaml, json);
  assert.ok(!('$schema' in yaml));
  await assertUsage(
    loadSuite(
      await write('nested-schema.yaml', VALID_YAML.replace('  - id: rw\n', '  - id: rw\n    $schema: x\n')),
    ),
    /workloads\[0\]: unknown key "\$schema"/,
  );
});

function parseYamlSuite(): Record<string, unknown> {
  return parseDocument(VALID_YAML).toJS() as Record<string, unknown>;
}
