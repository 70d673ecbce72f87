import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InfrastructureError } from '../../../src/util/errors.ts';
import { DriverMetricsSchema } from '../../../src/results/schema.ts';
import { WorkloadSchema } from '../../../src/suite/schema.ts';
import { realExec, type Exec } from '../../../src/util/exec.ts';
import { findFreePort } from '../../../src/util/net.ts';
import { benchServer } from '../../helpers/drivers.ts';
import {
  AUTO_GENERATE_SCHEMA,
  createMysqlslapDriver,
  type MysqlslapWorkload,
} from '../../../src/drivers/mysqlslap/driver.ts';

const bench = benchServer();
const { ctx, query } = bench;

const driver = createMysqlslapDriver();

function workload(options: Record<string, unknown>, common: Record<string, unknown> = {}): MysqlslapWorkload {
  const w = WorkloadSchema.parse({
    id: 'slap',
    title: 'slap',
    driver: 'mysqlslap',
    threads: 5,
    ...common,
    options,
  });
  assert.ok(w.driver === 'mysqlslap');
  return w;
}

const queryWorkload = () =>
  workload({
    query: 'SELECT * FROM users WHERE user_id = 1',
    setupSql: [
      'CREATE TABLE IF NOT EXISTS users (user_id INT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL)',
      "INSERT IGNORE INTO users VALUES (1, 'one'), (2, 'two')",
    ],
    cleanupSql: ['DROP TABLE users'],
    iterations: 2,
    numberOfQueries: 2000,
  });

const databases = async () => (await query<{ Database: string }>('SHOW DATABASES')).map((r) => r.Database);

test('detect finds mariadb-slap or mysqlslap with its version', async () => {
  const found = await driver.detect(realExec);
  assert.ok(found.available, JSON.stringify(found));
  assert.match(found.version, /^(mariadb-slap|mysqlslap) Ver \S+/);
  const missing = await createMysqlslapDriver({ find: () => undefined }).detect(realExec);
  assert.ok(!missing.available);
  assert.match(missing.reason, /mariadb-slap \/ mysqlslap not found/);
  assert.match(missing.installHint, /mariadb-client|mysql-client/);
});

test('the custom query: setupSql creates the table, the run measures, cleanupSql drops it, the database survives', async () => {
  const w = queryWorkload();
  await driver.prepare(w, ctx());
  assert.equal((await query<{ n: number }>('SELECT COUNT(*) AS n FROM users'))[0]!.n, 2);
  const seen: Array<{ args: readonly string[]; env?: NodeJS.ProcessEnv }> = [];
  const recordingExec: Exec = (command, args, options) => {
    seen.push({ args, env: options?.env });
    return realExec(command, args, options);
  };
  const run = await driver.run(w, ctx({ exec: recordingExec }));
  const m = DriverMetricsSchema.parse(run.metrics);
  assert.ok(m.tps > 0 && m.qps >= m.tps);
  assert.equal(m.queries, 5 * 400 * 2);
  assert.ok(m.latencyMs.avg! > 0);
  assert.equal(m.errors, 0);
  assert.match(run.rawOutput, /Benchmark/);
  // The password travels in MYSQL_PWD, never on the command line.
  const args = seen.at(-1)!.args;
  assert.ok(!args.some((a) => a.includes(bench.server.password)), args.join(' '));
  assert.equal(seen.at(-1)!.env?.MYSQL_PWD, bench.server.password);
  assert.ok(args.includes('--create-schema=bench') && args.includes('--no-drop'), args.join(' '));
  assert.ok(args[0] === '--no-defaults');
  assert.ok((await databases()).includes('bench'), 'mysqlslap dropped the benchmark database');
  await driver.cleanup(w, ctx());
  assert.equal((await query('SHOW TABLES FROM bench LIKE "users"')).length, 0);
  assert.ok((await databases()).includes('bench'));
});

test('auto-generate-sql runs in its own schema, which is dropped, with a warmup iteration', async () => {
  const w = workload(
    { autoGenerateSql: true, numberIntCols: 2, numberCharCols: 3, iterations: 2, numberOfQueries: 200 },
    { warmupSec: 1 },
  );
  await driver.prepare(w, ctx());
  const run = await driver.run(w, ctx());
  const m = DriverMetricsSchema.parse(run.metrics);
  assert.ok(m.tps > 0);
  assert.equal(m.queries, 200 * 2);
  assert.match(run.rawOutput, /# warmup iteration \(discarded\)[\s\S]*# measured run/);
  const dbs = await databases();
  assert.ok(dbs.includes('bench'));
  assert.ok(!dbs.includes(AUTO_GENERATE_SCHEMA), dbs.join(','));
  await driver.cleanup(w, ctx());
});

test('a query on a missing table fails loudly although mysqlslap exits 0', async () => {
  const w = workload({ query: 'SELECT * FROM no_such_table', iterations: 1 });
  await assert.rejects(driver.run(w, ctx()), (error: unknown) => {
    assert.ok(error instanceof InfrastructureError);
    assert.match(error.message, /Cannot run query SELECT \* FROM no_such_table[\s\S]*doesn't exist/);
    return true;
  });
});

test('a closed port fails loudly (run, and setupSql in prepare)', async () => {
  const port = await findFreePort();
  const closed = ctx({ target: { ...ctx().target, port } });
  await assert.rejects(driver.run(queryWorkload(), closed), (error: unknown) => {
    assert.ok(error instanceof InfrastructureError);
    assert.match(error.message, /Can't connect to server on '127\.0\.0\.1'/);
    return true;
  });
  await assert.rejects(driver.prepare(queryWorkload(), closed), (error: unknown) => {
    assert.ok(error instanceof InfrastructureError);
    assert.match(
      error.message,
      new RegExp(`setup: cannot connect to mysql://root:\\*\\*\\*@127\\.0\\.0\\.1:${port}/bench`),
    );
    assert.ok(!error.message.includes(bench.server.password));
    return true;
  });
});

test('refuses to point auto-generate-sql at a database named like its scratch schema', async () => {
  const w = workload({ autoGenerateSql: true, iterations: 1 });
  await assert.rejects(
    driver.run(w, ctx({ target: { ...ctx().target, database: AUTO_GENERATE_SCHEMA } })),
    /may not be named athena_bench_slap: mysqlslap drops that schema/,
  );
});
