// Athena as a real process (the esbuild bundle) in front of a throwaway MariaDB: mysql2 (text and
// binary protocol, transactions, USE, multi-statements, payloads over 16 MB), the mariadb CLI,
// authentication, session isolation through the pool, and /metrics counts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';
import { totalQueries } from '../../helpers/metrics.ts';
import { CACHING_SHA2_PLUGIN } from '../../../proxy/src/protocol/constants.ts';
import {
  Cap,
  DEFAULT_CAPABILITIES,
  RawClient,
  handshakeResponse,
  nativeToken,
  parseServerHandshake,
} from '../../helpers/wire.ts';

let server: LocalServer;
let proxy: RunningProxy;

before(async () => {
  server = await startLocalServer({ extraArgs: ['--max-allowed-packet=64M'] });
  proxy = await spawnProxy({
    backend: { host: server.host, port: server.port, user: 'root', password: server.password },
    users: [
      { name: 'root', password: server.password },
      { name: 'app', password: 'app-pass', max_connections: 2 },
    ],
    pool: { max_idle: 2 },
  });
});

after(async () => {
  const code = (await proxy?.stop())?.code;
  await server?.stop();
  assert.equal(code, 0, 'the proxy exits 0 on SIGTERM');
});

function connect(options: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: proxy.port,
    user: 'root',
    password: server.password,
    ...options,
  });
}

test('text queries, USE, multi-statements and multi-results', async () => {
  const conn = await connect({ multipleStatements: true });
  try {
    const [rows] = await conn.query('SELECT 1 AS a, NULL AS b, "x" AS c');
    assert.deepEqual(rows, [{ a: 1, b: null, c: 'x' }]);
    await conn.query('USE test');
    await conn.query('CREATE TABLE IF NOT EXISTS it_multi (id INT PRIMARY KEY, v VARCHAR(10))');
    const [results] = await conn.query(
      'DELETE FROM it_multi; INSERT INTO it_multi VALUES (1, "a"), (2, "b"); SELECT v FROM it_multi ORDER BY id; SELECT DATABASE() AS db',
    );
    const list = results as unknown[];
    assert.equal(list.length, 4);
    assert.equal((list[1] as { affectedRows: number }).affectedRows, 2);
    assert.deepEqual(list[2], [{ v: 'a' }, { v: 'b' }]);
    assert.deepEqual(list[3], [{ db: 'test' }]);
    await assert.rejects(conn.query('SELECT * FROM no_such_table'), /doesn't exist/);
    const [after] = await conn.query('SELECT 2 AS ok');
    assert.deepEqual(after, [{ ok: 2 }], 'the session is usable after an error');
  } finally {
    await conn.end();
  }
});

test('prepared statements: binary rows, parameters, re-execution, close', async () => {
  const conn = await connect({ database: 'test' });
  try {
    await conn.query(
      'CREATE TABLE IF NOT EXISTS it_ps (id INT PRIMARY KEY, n BIGINT, s VARCHAR(20), d DOUBLE, t DATETIME)',
    );
    await conn.query('DELETE FROM it_ps');
    for (let i = 1; i <= 5; i++) {
      await conn.execute('INSERT INTO it_ps VALUES (?, ?, ?, ?, ?)', [
        i,
        i * 1000,
        `row${i}`,
        i / 2,
        '2024-01-02 03:04:05',
      ]);
    }
    const [rows] = await conn.execute('SELECT id, n, s, d FROM it_ps WHERE id >= ? ORDER BY id', [4]);
    assert.deepEqual(rows, [
      { id: 4, n: 4000, s: 'row4', d: 2 },
      { id: 5, n: 5000, s: 'row5', d: 2.5 },
    ]);
    // Binary rows whose first byte is 0x00, many of them, with NULLs.
    const [many] = await conn.execute('SELECT NULL AS a, id FROM it_ps ORDER BY id');
    assert.equal((many as unknown[]).length, 5);
    const stmt = await conn.prepare('SELECT COUNT(*) AS c FROM it_ps WHERE id < ?');
    const [first] = await stmt.execute([3]);
    const [second] = await stmt.execute([10]);
    assert.deepEqual([first, second], [[{ c: 2 }], [{ c: 5 }]]);
    await stmt.close();
    await assert.rejects(conn.execute('SELECT * FROM nope WHERE id = ?', [1]), /doesn't exist/);
    const [ok] = await conn.execute('SELECT ? AS v', ['still fine']);
    assert.deepEqual(ok, [{ v: 'still fine' }]);
  } finally {
    await conn.end();
  }
});

test('transactions commit and roll back; an abandoned transaction is rolled back, never committed', async () => {
  const setup = await connect({ database: 'test' });
  await setup.query('CREATE TABLE IF NOT EXISTS it_tx (id INT PRIMARY KEY) ENGINE=InnoDB');
  await setup.query('DELETE FROM it_tx');
  await setup.end();

  const a = await connect({ database: 'test' });
  await a.beginTransaction();
  await a.query('INSERT INTO it_tx VALUES (1)');
  await a.commit();
  await a.beginTransaction();
  await a.query('INSERT INTO it_tx VALUES (2)');
  await a.rollback();
  // Leave a transaction open, a user variable and a temporary table, then disconnect.
  await a.beginTransaction();
  await a.query('INSERT INTO it_tx VALUES (3)');
  await a.query('SET @leak = 42');
  await a.query('CREATE TEMPORARY TABLE it_tmp (x INT)');
  const [[{ id: backendIdA }]] = (await a.query('SELECT CONNECTION_ID() AS id')) as unknown as [
    [{ id: number }],
  ];
  await a.end();
  await new Promise((resolve) => setTimeout(resolve, 200)); // the reset runs after the client left

  // The next clients get pooled connections (max_idle=2): possibly the very one A used.
  const seen = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const b = await connect({ database: 'test' });
    const [[row]] = (await b.query(
      'SELECT CONNECTION_ID() AS id, @leak AS v, (SELECT COUNT(*) FROM it_tx) AS n, @@in_transaction AS tx',
    )) as unknown as [[{ id: number; v: unknown; n: number; tx: number }]];
    seen.add(row.id);
    assert.equal(row.v, null, 'user variables do not leak');
    assert.equal(row.n, 1, 'only the committed row exists');
    assert.equal(row.tx, 0);
    await assert.rejects(b.query('SELECT * FROM it_tmp'), /doesn't exist/, 'temporary tables do not leak');
    await b.end();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.ok(seen.has(backendIdA), 'the pool reused the backend connection after resetting it');
});

test('payloads over 16 MB in both directions, text and binary protocol', async () => {
  const conn = await connect({ database: 'test' });
  try {
    await conn.query('CREATE TABLE IF NOT EXISTS it_big (id INT PRIMARY KEY, b LONGBLOB)');
    const big = Buffer.alloc(17 * 1024 * 1024 + 3, 0x61);
    big[big.length - 1] = 0x7a;
    await conn.query('REPLACE INTO it_big VALUES (1, ?)', [big]);
    const [rows] = await conn.query('SELECT LENGTH(b) AS l, b FROM it_big WHERE id = 1');
    const row = (rows as Array<{ l: number; b: Buffer }>)[0]!;
    assert.equal(row.l, big.length);
    assert.ok(row.b.equals(big));
    const [binary] = await conn.execute('SELECT b FROM it_big WHERE id = ?', [1]);
    assert.ok((binary as Array<{ b: Buffer }>)[0]!.b.equals(big));
    const [small] = await conn.query('SELECT 1 AS after_big');
    assert.deepEqual(small, [{ after_big: 1 }]);
  } finally {
    await conn.end();
  }
});

test('authentication: wrong password, unknown user, unknown database, per-user max_connections', async () => {
  await assert.rejects(
    connect({ password: 'wrong' }),
    (e: { errno?: number; sqlState?: string; message: string }) => {
      assert.equal(e.errno, 1045);
      assert.equal(e.sqlState, '28000');
      assert.match(e.message, /Access denied for user 'root'/);
      return true;
    },
  );
  await assert.rejects(connect({ user: 'nobody' }), (e: { errno?: number }) => e.errno === 1045);
  await assert.rejects(
    connect({ password: '' }),
    (e: { errno?: number; message: string }) => e.errno === 1045 && /using password: NO/.test(e.message),
  );
  await assert.rejects(connect({ database: 'no_such_db' }), (e: { errno?: number }) => e.errno === 1049);
  const first = await connect({ user: 'app', password: 'app-pass' });
  const second = await connect({ user: 'app', password: 'app-pass' });
  await assert.rejects(
    connect({ user: 'app', password: 'app-pass' }),
    (e: { errno?: number }) => e.errno === 1040,
  );
  await first.end();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const third = await connect({ user: 'app', password: 'app-pass' });
  await Promise.all([second.end(), third.end()]);
});

test('COM_CHANGE_USER re-authenticates against [[users]] and starts a clean session', async () => {
  const conn = await connect({ database: 'test' });
  try {
    await conn.query('SET @before = 1');
    await conn.changeUser({ user: 'app', password: 'app-pass', database: 'test' });
    const [rows] = await conn.query('SELECT @before AS v, DATABASE() AS db');
    assert.deepEqual(rows, [{ v: null, db: 'test' }]);
    await assert.rejects(conn.changeUser({ user: 'root', password: 'bad' }), /Access denied/);
  } finally {
    conn.destroy();
  }
});

/** A raw client that announces caching_sha2_password like a MySQL 8 client; returns what the server said. */
async function rawLoginAsSha2Client(): Promise<{ switchPlugin: string; final: number }> {
  const client = await RawClient.connect(proxy.port);
  try {
    const greeting = await client.read();
    const caps =
      Cap.PROTOCOL_41 |
      Cap.SECURE_CONNECTION |
      Cap.PLUGIN_AUTH |
      Cap.PLUGIN_AUTH_LENENC_CLIENT_DATA |
      Cap.LONG_PASSWORD;
    const token = Buffer.alloc(32, 7); // a caching_sha2 token: never checked, a switch must come
    client.send(
      handshakeResponse({ user: 'root', token, authPlugin: CACHING_SHA2_PLUGIN, capabilities: caps }),
      greeting.seq + 1,
    );
    const authSwitch = await client.read();
    const payload = authSwitch.payload;
    assert.equal(payload[0], 0xfe, 'AuthSwitchRequest');
    const nul = payload.indexOf(0, 1);
    const switchPlugin = payload.toString('latin1', 1, nul);
    const scramble = payload.subarray(nul + 1, nul + 21);
    client.send(nativeToken(server.password, scramble), authSwitch.seq + 1);
    const final = await client.read();
    return { switchPlugin, final: final.payload[0]! };
  } finally {
    client.close();
  }
}

test('a client asking for caching_sha2_password is switched to mysql_native_password', async () => {
  const result = await rawLoginAsSha2Client();
  assert.equal(result.switchPlugin, 'mysql_native_password');
  assert.equal(result.final, 0x00, 'OK after the switch');
});

test('the mariadb CLI: queries, USE, SHOW, and LOCAL INFILE refused cleanly', () => {
  const cli = (sql: string, extra: string[] = []): ReturnType<typeof spawnSync> =>
    spawnSync(
      'mariadb',
      [
        '-h127.0.0.1',
        `-P${proxy.port}`,
        '-uroot',
        `-p${server.password}`,
        '--batch',
        '--skip-column-names',
        ...extra,
        '-e',
        sql,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
  const basic = cli('SELECT 40 + 2; USE test; SELECT DATABASE(); SHOW DATABASES LIKE "test"');
  assert.equal(basic.status, 0, String(basic.stderr));
  assert.match(String(basic.stdout), /^42\ntest\ntest\n/);
  // Athena does not offer CLIENT_LOCAL_FILES, so the server refuses LOAD DATA LOCAL itself (4166 on
  // MariaDB); the scanner also refuses a 0xfb request should a server send one anyway.
  const infile = spawnSync(
    'mariadb',
    [
      '-h127.0.0.1',
      `-P${proxy.port}`,
      '-uroot',
      `-p${server.password}`,
      '--batch',
      '--local-infile=1',
      '--force',
    ],
    {
      encoding: 'utf8',
      timeout: 30_000,
      input:
        'CREATE TABLE IF NOT EXISTS test.it_infile (x INT);\nLOAD DATA LOCAL INFILE "/etc/hostname" INTO TABLE test.it_infile;\nSELECT "after";\n',
    },
  );
  assert.match(String(infile.stderr), /ERROR/);
  assert.match(
    String(infile.stdout),
    /after/,
    'the connection stays usable after the refused LOAD DATA LOCAL',
  );
});

test('/metrics counts what was sent, typed by statement (EXECUTE by its prepared statement)', async () => {
  const conn = await connect({ database: 'test' });
  try {
    await conn.query('SELECT 1'); // warm: the session has its backend connection
    const before = await proxy.metricsText();
    const get = (text: string, type: string): number => {
      const m = new RegExp(`^athena_queries_total\\{type="${type}"\\} (\\S+)$`, 'm').exec(text);
      return m ? Number(m[1]) : Number.NaN;
    };
    for (let i = 0; i < 7; i++) await conn.query('SELECT 1');
    for (let i = 0; i < 4; i++) await conn.execute('SELECT ? AS x', [i]); // 1 PREPARE (other) + 4 EXECUTE (select)
    await conn.query('BEGIN');
    await conn.query('INSERT INTO it_tx VALUES (100)');
    await conn.query('UPDATE it_tx SET id = 101 WHERE id = 100');
    await conn.query('DELETE FROM it_tx WHERE id = 101');
    await conn.query('COMMIT');
    await assert.rejects(conn.query('SELECT * FROM missing_table'));
    const afterText = await proxy.metricsText();
    assert.equal(get(afterText, 'select') - get(before, 'select'), 7 + 4 + 1);
    assert.equal(get(afterText, 'insert') - get(before, 'insert'), 1);
    assert.equal(get(afterText, 'update') - get(before, 'update'), 1);
    assert.equal(get(afterText, 'delete') - get(before, 'delete'), 1);
    assert.equal(get(afterText, 'begin') - get(before, 'begin'), 1);
    assert.equal(get(afterText, 'commit') - get(before, 'commit'), 1);
    assert.equal(get(afterText, 'other') - get(before, 'other'), 1, 'the PREPARE');
    assert.equal(totalQueries(afterText) - totalQueries(before), 18);
    const errorsBefore = Number(/^athena_query_errors_total\{type="select"\} (\S+)$/m.exec(before)?.[1]);
    const errorsAfter = Number(/^athena_query_errors_total\{type="select"\} (\S+)$/m.exec(afterText)?.[1]);
    assert.equal(errorsAfter - errorsBefore, 1);
    assert.ok((await proxy.series('athena_connections_active')) >= 1);
    assert.ok((await proxy.series('athena_pool_active_connections{shard="default"}')) >= 1);
    const health = await fetch(`http://127.0.0.1:${proxy.metricsPort}/health`);
    assert.equal(health.status, 200);
  } finally {
    await conn.end();
  }
});

/** What the raw sessions announce: a plain client's capabilities plus a database and prepared-statement results. */
const RAW_SESSION_CAPABILITIES =
  DEFAULT_CAPABILITIES | Cap.LONG_FLAG | Cap.CONNECT_WITH_DB | Cap.PS_MULTI_RESULTS;

/** A minimal raw protocol client: native auth, then one command at a time, reading until the line is quiet. */
async function rawSession(
  port: number,
  capabilities: number,
): Promise<{ command(payload: Buffer): Promise<Buffer>; close(): void }> {
  const client = await RawClient.connect(port);
  let consumed = 0;
  /** Everything received until the line has been quiet for quietMs (after at least one byte). */
  const readQuiet = async (quietMs: number): Promise<Buffer> => {
    for (;;) {
      const before = client.received.length;
      await client.waitFor(() => client.received.length > before, quietMs);
      if ((client.received.length === before && before > consumed) || client.closed) break;
    }
    const out = Buffer.from(client.received.subarray(consumed));
    consumed = client.received.length;
    return out;
  };
  const greeting = await readQuiet(100);
  const { scramble } = parseServerHandshake(greeting.subarray(4));
  const token = nativeToken(server.password, scramble);
  client.send(handshakeResponse({ user: 'root', token, database: 'test', capabilities }), 1);
  const ok = await readQuiet(100);
  assert.equal(ok[4], 0x00, 'login OK');
  return {
    command: async (p) => {
      client.send(p, 0);
      return readQuiet(150);
    },
    close: () => client.close(),
  };
}

test('byte-identical responses through Athena and direct: FIELD_LIST, cursors and FETCH, STMT_RESET, RESET_CONNECTION, PING', async () => {
  const setup = await connect({ database: 'test' });
  await setup.query('CREATE TABLE IF NOT EXISTS it_raw (id INT PRIMARY KEY, s VARCHAR(10))');
  await setup.query('REPLACE INTO it_raw VALUES (1, "a"), (2, "b"), (3, "c")');
  await setup.end();
  for (const deprecateEof of [false, true]) {
    const caps = RAW_SESSION_CAPABILITIES | (deprecateEof ? Cap.DEPRECATE_EOF : 0);
    const direct = await rawSession(server.port, caps);
    const viaAthena = await rawSession(proxy.port, caps);
    // Statement ids are per backend connection (a pooled one has used some): each side uses its own.
    const id = (n: number): number[] => [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24];
    const commands: Array<[string, (stmt: number) => Buffer]> = [
      ['COM_FIELD_LIST', () => Buffer.concat([Buffer.from([0x04]), Buffer.from('it_raw\0')])],
      [
        'COM_STMT_PREPARE',
        () =>
          Buffer.concat([
            Buffer.from([0x16]),
            Buffer.from('SELECT id, s FROM it_raw WHERE id > ? ORDER BY id'),
          ]),
      ],
      // CURSOR_TYPE_READ_ONLY, one INT parameter = 0
      [
        'COM_STMT_EXECUTE with a cursor',
        (n) => Buffer.from([0x17, ...id(n), 0x01, 1, 0, 0, 0, 0x00, 0x01, 0x03, 0x00, 0, 0, 0, 0]),
      ],
      ['COM_STMT_FETCH 2 rows', (n) => Buffer.from([0x1c, ...id(n), 2, 0, 0, 0])],
      ['COM_STMT_FETCH the rest', (n) => Buffer.from([0x1c, ...id(n), 5, 0, 0, 0])],
      ['COM_STMT_RESET', (n) => Buffer.from([0x1a, ...id(n)])],
      [
        'COM_QUERY multi-result',
        () => Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT 1; SELECT 2')]),
      ],
      ['COM_PING', () => Buffer.from([0x0e])],
      ['COM_RESET_CONNECTION', () => Buffer.from([0x1f])],
      [
        'COM_QUERY after reset',
        () => Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT DATABASE(), @@in_transaction')]),
      ],
    ];
    let directStmt = 0;
    let athenaStmt = 0;
    for (const [what, build] of commands) {
      const expected = await direct.command(build(directStmt));
      const actual = await viaAthena.command(build(athenaStmt));
      assert.ok(expected.length > 0, `${what}: the server answered`);
      if (what === 'COM_STMT_PREPARE') {
        directStmt = expected.readUInt32LE(5);
        athenaStmt = actual.readUInt32LE(5);
        actual.writeUInt32LE(directStmt, 5);
      }
      assert.deepEqual(actual, expected, `${what} (DEPRECATE_EOF ${deprecateEof})`);
    }
    const stats = await viaAthena.command(Buffer.from([0x09]));
    assert.match(stats.subarray(4).toString(), /^Uptime: \d+/, 'COM_STATISTICS');
    const unknown = await viaAthena.command(Buffer.from([0x12])); // COM_BINLOG_DUMP
    assert.equal(unknown[4], 0xff);
    assert.equal(unknown.readUInt16LE(5), 1047);
    const still = await viaAthena.command(Buffer.from([0x0e]));
    assert.equal(still[4], 0x00, 'usable after a refused command');
    direct.close();
    viaAthena.close();
  }
});

test('server-administration commands are refused with an ERR naming them; the session stays usable', async () => {
  const viaAthena = await rawSession(proxy.port, RAW_SESSION_CAPABILITIES);
  const victim = await connect();
  try {
    const [rows] = await victim.query('SELECT CONNECTION_ID() AS id');
    const victimId = (rows as Array<{ id: number }>)[0]!.id;
    const kill = Buffer.alloc(5);
    kill[0] = 0x0c; // COM_PROCESS_KILL: a shared backend account could end another user's connection
    kill.writeUInt32LE(victimId, 1);
    for (const [name, payload] of [
      ['COM_DEBUG', Buffer.from([0x0d])],
      ['COM_PROCESS_KILL', kill],
      ['COM_SHUTDOWN', Buffer.from([0x08, 0x00])],
    ] as const) {
      const answer = await viaAthena.command(payload);
      assert.equal(answer[4], 0xff, `${name} is answered with an ERR, got ${answer.toString('hex')}`);
      assert.equal(answer.readUInt16LE(5), 1047, name);
      assert.match(answer.subarray(13).toString(), new RegExp(name), name);
    }
    const [again] = await victim.query('SELECT 1 AS one');
    assert.deepEqual(again, [{ one: 1 }], 'the other session was not killed');
    const still = await viaAthena.command(Buffer.from([0x0e]));
    assert.equal(still[4], 0x00, 'usable after a refused command');
  } finally {
    await victim.end().catch(() => undefined);
    viaAthena.close();
  }
});
