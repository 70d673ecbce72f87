// TLS on both legs, with certificates made for the test (openssl, self-signed for 127.0.0.1):
// clients (mysql2, the mariadb CLI) verifying Athena's, server.require_secure_transport refusing a
// client that stays on plain TCP; Athena verifying MariaDB's (ssl_mode = verify_identity), and
// refusing a backend whose certificate does not chain to ssl_ca (verify_ca, and required, which
// verifies too). test/integration/proxy/backend-tls.test.ts covers a CA-signed backend certificate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { makeSelfSignedCertificate } from '../../../src/util/certificate.ts';
import { realExec } from '../../../src/util/exec.ts';
import { backendCipher as cipherAs, backendOf, spawnProxy, type RunningProxy } from '../../helpers/proxy.ts';

const app = { name: 'app', password: `pw-${randomBytes(8).toString('hex')}` };
/** The backend session's TLS cipher through a proxy, as `app`. */
const backendCipher = (through: RunningProxy): Promise<string> => cipherAs(through, app);

let dir: string;
let certFile: string;
let keyFile: string;
let server: LocalServer;
let proxy: RunningProxy;
let strict: RunningProxy;
let verified: RunningProxy;
let wrongCa: RunningProxy;
let otherCertFile: string;

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'athena-tls-'));
  const { certFile: cert, keyFile: key } = await makeSelfSignedCertificate(realExec, dir);
  certFile = cert;
  keyFile = key;
  const other = await makeSelfSignedCertificate(realExec, mkdtempSync(path.join(dir, 'other-')));
  otherCertFile = other.certFile;
  server = await startLocalServer({
    extraArgs: [`--ssl-cert=${cert}`, `--ssl-key=${key}`, `--ssl-ca=${cert}`],
  });
  verified = await spawnProxy({
    backend: { ...backendOf(server), ssl_mode: 'verify_identity', ssl_ca: cert },
    users: [app],
  });
  wrongCa = await spawnProxy({
    backend: { ...backendOf(server), ssl_mode: 'verify_ca', ssl_ca: other.certFile },
    users: [app],
  });
  proxy = await spawnProxy({
    backend: backendOf(server),
    users: [app],
    server: { tls_cert_file: cert, tls_key_file: key },
  });
  strict = await spawnProxy({
    backend: backendOf(server),
    users: [app],
    server: { tls_cert_file: cert, tls_key_file: key, require_secure_transport: true },
  });
});

after(async () => {
  await proxy?.stop();
  await strict?.stop();
  await verified?.stop();
  await wrongCa?.stop();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function connect(through: RunningProxy, tls: boolean): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port: through.port,
    user: app.name,
    password: app.password,
    ...(tls ? { ssl: { ca: readFileSync(certFile, 'utf8'), rejectUnauthorized: true } } : {}),
  });
}

/** Whether mysql2's socket for this connection is a TLS socket. */
function encrypted(conn: mysql.Connection): boolean {
  const stream = (conn as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream;
  return stream.encrypted === true;
}

test('mysql2 verifies the certificate and runs queries over TLS', async () => {
  const conn = await connect(proxy, true);
  try {
    assert.equal(encrypted(conn), true);
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT 6 * 7 AS answer');
    assert.equal(rows[0]?.answer, 42);
  } finally {
    await conn.end();
  }
  const plain = await connect(proxy, false);
  try {
    assert.equal(encrypted(plain), false, 'TLS is offered, not imposed, by default');
    await plain.query('SELECT 1');
  } finally {
    await plain.end();
  }
});

test('the mariadb CLI with --ssl-verify-server-cert', () => {
  const run = spawnSync(
    'mariadb',
    [
      '-h127.0.0.1',
      `-P${proxy.port}`,
      `-u${app.name}`,
      `-p${app.password}`,
      '--ssl',
      `--ssl-ca=${certFile}`,
      '--ssl-verify-server-cert',
      '-e',
      'status; SELECT 40 + 2',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /SSL:\s+Cipher in use is \S+/);
  assert.match(run.stdout, /\b42\b/);
});

test('server.require_secure_transport refuses a plain client and serves a TLS one', async () => {
  await assert.rejects(connect(strict, false), (error: { errno?: number; message: string }) => {
    assert.equal(error.errno, 3159);
    assert.match(error.message, /insecure transport/);
    return true;
  });
  const conn = await connect(strict, true);
  try {
    assert.equal(encrypted(conn), true);
    await conn.query('SELECT 1');
  } finally {
    await conn.end();
  }
});

test('ssl_mode = verify_identity: the backend leg is TLS, the server certificate checked against ssl_ca', async () => {
  assert.notEqual(await backendCipher(verified), '', 'the backend session has a cipher');
  assert.equal(await backendCipher(proxy), '', 'ssl_mode defaults to disabled');
});

test('ssl_mode = verify_ca with a CA the backend certificate does not chain to: a clean ERR 2026, nothing sent in clear', async () => {
  const conn = await connect(wrongCa, false);
  try {
    await assert.rejects(conn.query('SELECT 1'), (error: { errno?: number; message: string }) => {
      assert.equal(error.errno, 2026);
      assert.match(error.message, /TLS with the backend .* failed \(ssl_mode = verify_ca\)/);
      return true;
    });
  } finally {
    await conn.end();
  }
});

test('ssl_mode = required refuses a self-signed backend certificate that ssl_ca does not hold', async () => {
  const required = await spawnProxy({
    backend: { ...backendOf(server), ssl_mode: 'required', ssl_ca: otherCertFile },
    users: [app],
  });
  try {
    await assert.rejects(backendCipher(required), (error: { errno?: number; message: string }) => {
      assert.equal(error.errno, 2026);
      assert.match(error.message, /\(ssl_mode = required\): self-signed certificate; .*set ssl_ca/);
      return true;
    });
  } finally {
    await required.stop();
  }
});

test('sysbench --mysql-ssl=on runs through a proxy that requires TLS', () => {
  // sysbench 1.0 reads cacert.pem, client-cert.pem and client-key.pem from its working directory.
  const cwd = mkdtempSync(path.join(dir, 'sysbench-'));
  copyFileSync(certFile, path.join(cwd, 'cacert.pem'));
  copyFileSync(certFile, path.join(cwd, 'client-cert.pem'));
  copyFileSync(keyFile, path.join(cwd, 'client-key.pem'));
  const sysbench = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(
      'sysbench',
      [
        'oltp_point_select',
        '--mysql-host=127.0.0.1',
        `--mysql-port=${strict.port}`,
        `--mysql-user=${app.name}`,
        `--mysql-password=${app.password}`,
        '--mysql-db=test',
        '--tables=1',
        '--table-size=100',
        '--mysql-ssl=on',
        ...args,
      ],
      { encoding: 'utf8', timeout: 60_000, cwd },
    );
  const prepare = sysbench('prepare');
  assert.equal(prepare.status, 0, String(prepare.stdout) + String(prepare.stderr));
  const run = sysbench('--time=1', '--threads=2', 'run');
  assert.equal(run.status, 0, String(run.stdout) + String(run.stderr));
  assert.match(String(run.stdout), /queries:\s+[1-9]\d*/);
  assert.match(String(run.stdout), /ignored errors:\s+0\s/);
  assert.equal(sysbench('cleanup').status, 0);
});
