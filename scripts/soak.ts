// npm run test:soak — the long versions of the reliability tests, against the real proxy bundle and
// throwaway MariaDB servers, with figures printed at the end (docs/RELIABILITY.md quotes them):
//   1. hostile bytes: the seeded mutation fuzzer (test/helpers/fuzzer.ts runProxyFuzz), many packets;
//   2. connections held: SOAK_CLIENTS clients connected at once, each served, proxy RSS measured;
//   3. backend restarts: MariaDB SIGKILLed during sysbench runs through the proxy, restarted, K times;
//   4. writes: concurrent transactions (committed, rolled back, abandoned) — rows expected vs found.
// Sizes: SOAK_FUZZ_PACKETS (20000), SOAK_CLIENTS (2000), SOAK_RESTARTS (5), SOAK_TRANSACTIONS (3000).
// Exit code 1 when any check fails (crash, hang, lost/extra row, failed recovery).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer } from '../src/mysql/index.ts';
import { which } from '../src/util/which.ts';
import { FUZZ_DEFAULTS, runProxyFuzz } from '../test/helpers/fuzzer.ts';
import { startManagedServer, type ManagedServer } from '../test/helpers/mariadb.ts';
import { openFileLimit, spawnProxy, type RunningProxy } from '../test/helpers/proxy.ts';

function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`${name}: expected a non-negative integer, got "${raw}"`);
  return value;
}

const FUZZ_PACKETS = intFromEnv('SOAK_FUZZ_PACKETS', 20_000);
const CLIENTS = intFromEnv('SOAK_CLIENTS', 2000);
const RESTARTS = intFromEnv('SOAK_RESTARTS', 5);
const TRANSACTIONS = intFromEnv('SOAK_TRANSACTIONS', 3000);

const figures: Array<[string, string]> = [];
const failures: string[] = [];
const say = (line: string): void => void process.stderr.write(`[soak] ${line}\n`);
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const user = { name: 'soak', password: `soak-${randomBytes(9).toString('hex')}` };

async function timed<T>(name: string, fn: () => Promise<T>): Promise<T | undefined> {
  const started = Date.now();
  say(`${name}…`);
  try {
    return await fn();
  } catch (error) {
    failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  } finally {
    figures.push([`${name}: time`, `${((Date.now() - started) / 1000).toFixed(1)} s`]);
  }
}

function connectTo(proxy: RunningProxy, database?: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: proxy.host,
    port: proxy.port,
    user: user.name,
    password: user.password,
    database,
    connectTimeout: 30_000,
  });
}

async function fuzz(): Promise<void> {
  const report = await runProxyFuzz({
    ...FUZZ_DEFAULTS,
    packets: FUZZ_PACKETS,
    log: (l) => say(`  fuzz: ${l}`),
  });
  figures.push(
    ['fuzz: seed', `0x${report.seed.toString(16)}`],
    ['fuzz: packets sent', String(report.packetsSent)],
    [
      'fuzz: cases (pre-auth / post-auth)',
      `${report.cases} (${report.preAuthCases} / ${report.postAuthCases})`,
    ],
    ['fuzz: crashes', String(report.crashes)],
    ['fuzz: hangs', String(report.hangs)],
    [
      'fuzz: RSS before / peak / after',
      `${mb(report.rssBeforeBytes)} / ${mb(report.rssPeakBytes)} / ${mb(report.rssAfterBytes)}`,
    ],
  );
  const { oversized, flood } = report;
  figures.push(
    [
      'fuzz: oversized commands (3 x 16 MiB past max_allowed_packet) refused with ERR 1153',
      `${oversized.refused} / ${oversized.streams}, at most ${mb(oversized.maxBytesTaken)} accepted each`,
    ],
    [
      'fuzz: proxy RSS before / peak during the oversized commands',
      `${mb(oversized.rssBeforeBytes)} / ${mb(oversized.rssPeakBytes)}`,
    ],
    [
      'fuzz: pre-auth flood from one address: sockets / greeted / refused',
      `${flood.sockets} / ${flood.greeted} / ${flood.refused}`,
    ],
    [
      'fuzz: login from another address during the flood',
      flood.legitServed ? `served in ${flood.legitMs} ms` : `failed: ${flood.legitError ?? '?'}`,
    ],
    ['fuzz: proxy RSS peak during the flood', mb(flood.rssPeakBytes)],
  );
  if (oversized.refused !== oversized.streams || !flood.legitServed) {
    failures.push(
      `fuzz: ${oversized.refused}/${oversized.streams} oversized commands refused; login during the flood ${flood.legitServed ? 'served' : 'failed'}`,
    );
  }
  if (report.crashes > 0 || report.hangs > 0 || report.failures.length > 0) {
    failures.push(
      `fuzz: ${report.crashes} crashes, ${report.hangs} hangs, ${report.failures.length} failed cases: ` +
        report.failures
          .slice(0, 5)
          .map((f) => `#${f.caseIndex} ${f.kind}: ${f.problem}`)
          .join('; '),
    );
  }
}

async function connectionsHeld(): Promise<void> {
  const limit = openFileLimit('self');
  if (limit !== null && limit < CLIENTS + 200) {
    throw new Error(`ulimit -n is ${limit}; ${CLIENTS} clients need more: run \`ulimit -n 65535\` first`);
  }
  const server = await startLocalServer({ extraArgs: ['--innodb-buffer-pool-size=128M'] });
  const proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: server.user, password: server.password },
    users: [user],
    pool: { max_open: CLIENTS + 50, max_idle: 50 },
    circuit: { max_concurrent_per_user_shard: CLIENTS, queue_size: CLIENTS },
    server: { handshake_timeout_ms: 60_000, backend_connect_timeout_ms: 30_000 },
  });
  const conns: mysql.Connection[] = [];
  try {
    const rssStart = proxy.rssBytes();
    for (let i = 0; i < CLIENTS; i += 100) {
      const batch = Math.min(100, CLIENTS - i);
      conns.push(...(await Promise.all(Array.from({ length: batch }, () => connectTo(proxy)))));
    }
    const rssConnected = proxy.rssBytes();
    // Every held client runs a query, 200 at a time: each first query opens a backend connection,
    // and 2,000 MariaDB logins at the same instant measure the server, not the proxy.
    const ids: number[] = [];
    for (let i = 0; i < conns.length; i += 200) {
      ids.push(
        ...(await Promise.all(
          conns.slice(i, i + 200).map(async (c) => {
            const [rows] = await c.query('SELECT CONNECTION_ID() AS id');
            return (rows as Array<{ id: number }>)[0]!.id;
          }),
        )),
      );
    }
    const served = new Set(ids).size;
    await sleep(5000); // held idle
    const rssHeld = proxy.rssBytes();
    await Promise.all(conns.splice(0).map((c) => c.end()));
    await sleep(3000);
    const rssAfter = proxy.rssBytes();
    figures.push(
      ['clients: connections held at once', String(CLIENTS)],
      ['clients: served (distinct backend sessions)', String(served)],
      [
        'clients: proxy RSS start / connected / after a query each / after they left',
        `${mb(rssStart)} / ${mb(rssConnected)} / ${mb(rssHeld)} / ${mb(rssAfter)}`,
      ],
    );
    if (served !== CLIENTS) failures.push(`clients: only ${served} of ${CLIENTS} served`);
    if (!proxy.alive()) failures.push('clients: the proxy died');
  } finally {
    await Promise.all(conns.map((c) => c.end().catch(() => undefined)));
    await proxy.stop();
    await server.stop();
  }
}

function sysbench(args: string[]): { done: Promise<{ code: number | null; output: string }>; kill(): void } {
  const child = spawn(which('sysbench')!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return {
    done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, output }))),
    kill: () => child.kill('SIGKILL'),
  };
}

function sysbenchArgs(port: number, login: { user: string; password: string }, extra: string[]): string[] {
  return [
    'oltp_read_write',
    '--db-driver=mysql',
    '--mysql-host=127.0.0.1',
    `--mysql-port=${port}`,
    `--mysql-user=${login.user}`,
    `--mysql-password=${login.password}`,
    '--mysql-db=test',
    '--tables=2',
    '--table-size=2000',
    ...extra,
  ];
}

async function queryError(proxy: RunningProxy): Promise<string | null> {
  let conn: mysql.Connection | undefined;
  try {
    conn = await connectTo(proxy, 'test');
    await conn.query('SELECT 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    conn?.destroy();
  }
}

async function backendRestarts(): Promise<void> {
  if (!which('sysbench')) throw new Error('sysbench is not installed');
  const server: ManagedServer = await startManagedServer();
  const proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: server.user, password: server.password },
    users: [user],
    server: { backend_connect_timeout_ms: 2000 },
  });
  let survived = 0;
  let hangs = 0;
  const recoveryMs: number[] = [];
  try {
    const prepare = await sysbench([...sysbenchArgs(server.port, server, []), 'prepare']).done;
    if (prepare.code !== 0) throw new Error(`sysbench prepare failed:\n${prepare.output}`);
    const pid = proxy.pid;
    for (let i = 0; i < RESTARTS; i++) {
      const run = sysbench([
        ...sysbenchArgs(proxy.port, { user: user.name, password: user.password }, [
          '--threads=8',
          '--time=120',
        ]),
        'run',
      ]);
      await sleep(3000);
      await server.kill();
      const ended = await Promise.race([run.done, sleep(20_000).then(() => null)]);
      if (ended === null) {
        hangs++;
        run.kill();
      }
      const downError = await queryError(proxy);
      await server.restart();
      const restartedAt = Date.now();
      let error = await queryError(proxy);
      while (error !== null && Date.now() - restartedAt < 20_000) {
        await sleep(200);
        error = await queryError(proxy);
      }
      const clean = await sysbench([
        ...sysbenchArgs(proxy.port, { user: user.name, password: user.password }, [
          '--threads=8',
          '--time=3',
        ]),
        'run',
      ]).done;
      const ok =
        ended !== null &&
        ended.code !== 0 &&
        downError !== null &&
        error === null &&
        clean.code === 0 &&
        proxy.alive() &&
        proxy.pid === pid;
      if (ok) {
        survived++;
        recoveryMs.push(Date.now() - restartedAt);
      } else {
        failures.push(
          `restart ${i + 1}: sysbench ${ended === null ? 'hung' : `exit ${ended.code}`}, while down: ${downError ?? 'no error!'}, ` +
            `after restart: ${error ?? 'ok'}, clean run exit ${clean.code}, proxy ${proxy.alive() ? 'alive' : 'dead'}`,
        );
      }
      say(`  restart ${i + 1}/${RESTARTS}: ${ok ? 'survived' : 'FAILED'}`);
    }
  } finally {
    figures.push(
      ['backend: SIGKILL + restarts during sysbench', String(RESTARTS)],
      [
        'backend: restarts survived (error not hang, ERR while down, recovered, clean run after)',
        String(survived),
      ],
      ['backend: client hangs', String(hangs)],
      ['backend: proxy restarts', '0 (same pid throughout)'],
    );
    await proxy.stop();
    await server.stop();
  }
}

type Ending = 'commit' | 'rollback' | 'abandon-idle' | 'abandon-in-query';
const ENDINGS: Ending[] = ['commit', 'commit', 'rollback', 'abandon-idle', 'commit', 'abandon-in-query'];

async function writes(): Promise<void> {
  const server = await startLocalServer();
  const proxy = await spawnProxy({
    backend: {
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database: 'test',
    },
    users: [user],
    pool: { max_open: 6, max_idle: 6 },
    circuit: { queue_timeout_ms: 60_000 },
  });
  const direct = await mysql.createConnection({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database: 'test',
  });
  try {
    await direct.query('CREATE TABLE tx_rows (txid INT NOT NULL, k INT NOT NULL)');
    const workers = 16;
    const perWorker = Math.ceil(TRANSACTIONS / workers);
    const committed = new Set<number>();
    let abandoned = 0;
    let rolledBack = 0;
    await Promise.all(
      Array.from({ length: workers }, async (_, w) => {
        for (let i = 0; i < perWorker; i++) {
          const txid = w * 100_000 + i;
          const ending = ENDINGS[txid % ENDINGS.length]!;
          const conn = await connectTo(proxy, 'test');
          await conn.query('BEGIN');
          for (let k = 0; k < 3; k++) await conn.query('INSERT INTO tx_rows VALUES (?, ?)', [txid, k]);
          if (ending === 'commit') {
            await conn.query('COMMIT');
            committed.add(txid);
            await conn.end();
          } else if (ending === 'rollback') {
            await conn.query('ROLLBACK');
            rolledBack++;
            await conn.end();
          } else {
            if (ending === 'abandon-in-query') {
              conn.query('SELECT SLEEP(0.2)').catch(() => undefined);
              await sleep(10);
            }
            conn.destroy();
            abandoned++;
          }
        }
      }),
    );
    await sleep(1000);
    const [rows] = await direct.query('SELECT txid, COUNT(*) AS n FROM tx_rows GROUP BY txid');
    const found = rows as Array<{ txid: number; n: number }>;
    const foundIds = new Set(found.map((r) => r.txid));
    const lost = [...committed].filter((t) => !foundIds.has(t)).length;
    const extra = found.filter((r) => !committed.has(r.txid)).length;
    const doubled = found.filter((r) => Number(r.n) !== 3).length;
    const rowsFound = found.reduce((sum, r) => sum + Number(r.n), 0);
    figures.push(
      [
        'writes: transactions (committed / rolled back / abandoned mid-transaction)',
        `${workers * perWorker} (${committed.size} / ${rolledBack} / ${abandoned})`,
      ],
      ['writes: rows expected vs found', `${committed.size * 3} vs ${rowsFound}`],
      [
        'writes: committed transactions lost / uncommitted ones present / with a wrong row count',
        `${lost} / ${extra} / ${doubled}`,
      ],
    );
    if (lost + extra + doubled > 0 || rowsFound !== committed.size * 3)
      failures.push('writes: the table does not hold exactly the committed rows');
  } finally {
    await direct.end();
    await proxy.stop();
    await server.stop();
  }
}

const started = Date.now();
say(`fuzz packets ${FUZZ_PACKETS}, clients ${CLIENTS}, restarts ${RESTARTS}, transactions ${TRANSACTIONS}`);
if (FUZZ_PACKETS > 0) await timed('fuzz', fuzz);
else figures.push(['fuzz', 'skipped (SOAK_FUZZ_PACKETS=0)']);
if (CLIENTS > 0) await timed('clients', connectionsHeld);
if (RESTARTS > 0) await timed('backend', backendRestarts);
if (TRANSACTIONS > 0) await timed('writes', writes);
figures.push(['total time', `${((Date.now() - started) / 1000).toFixed(1)} s`]);

const width = Math.max(...figures.map(([k]) => k.length));
process.stdout.write(`\nathena soak — ${new Date().toISOString()}, node ${process.version}\n`);
for (const [k, v] of figures) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
if (failures.length > 0) {
  process.stdout.write(`\nFAILED:\n${failures.map((f) => `- ${f}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write('\nall checks passed\n');
process.exit(0);
