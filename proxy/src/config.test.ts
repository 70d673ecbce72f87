import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ConfigError,
  envPasswordVariable,
  loadConfig,
  parseConfig,
  redactConfig,
  type AthenaConfig,
} from './config.ts';

const minimal = `
[backend]
user = "root"
password = "pw"

[[users]]
name = "app"
password = "secret"
`;

function expectConfigError(
  text: string,
  key: string,
  messagePart?: RegExp,
  env: NodeJS.ProcessEnv = {},
): void {
  assert.throws(
    () => parseConfig(text, env),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
      assert.equal(error.key, key, `key of: ${error.message}`);
      if (key !== '') assert.ok(error.message.startsWith(`${key}: `), error.message);
      if (messagePart) assert.match(error.message, messagePart);
      return true;
    },
  );
}

test('the shipped proxy/config/athena.toml gives the performance-testing guide setup: 3307, metrics 4307, root/test on 3306', () => {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'config', 'athena.toml');
  const config = loadConfig(file);
  assert.equal(config.server.listen_addr, '127.0.0.1');
  assert.equal(config.server.listen_port, 3307);
  assert.equal(config.server.metrics_port, 4307);
  assert.deepEqual(config.shards, [
    { name: 'default', host: '127.0.0.1', port: 3306, user: 'root', password: 'test', ssl_mode: 'disabled' },
  ]);
  assert.deepEqual(config.users, [
    { name: 'root', password: 'test', shard: 'default', max_qps: 0, burst: 0, max_connections: 0 },
  ]);
  assert.deepEqual(config.pool, { max_idle: 20, max_age_secs: 3600, max_idle_time_secs: 300, max_open: 200 });
  assert.deepEqual(config.circuit, {
    max_concurrent_per_user_shard: 50,
    queue_size: 200,
    queue_timeout_ms: 10000,
  });
});

test('defaults fill every optional key', () => {
  const config = parseConfig(minimal);
  const expected: AthenaConfig = {
    server: {
      listen_addr: '127.0.0.1',
      listen_port: 3307,
      metrics_addr: '127.0.0.1',
      metrics_port: 4307,
      max_connections: 4096,
      handshake_timeout_ms: 10000,
      shutdown_grace_ms: 10000,
      backend_connect_timeout_ms: 5000,
      max_allowed_packet: 67108864,
      max_handshake_packet: 8192,
      max_handshakes_per_ip: 256,
      max_handshakes: 1024,
      max_user_connections: 0,
      max_login_failures_per_ip: 10,
      login_failure_window_secs: 60,
      require_secure_transport: false,
      client_idle_timeout_secs: 28800,
      command_memory_budget: 536870912,
    },
    shards: [
      { name: 'default', host: '127.0.0.1', port: 3306, user: 'root', password: 'pw', ssl_mode: 'disabled' },
    ],
    users: [{ name: 'app', password: 'secret', shard: 'default', max_qps: 0, burst: 0, max_connections: 0 }],
    pool: { max_idle: 20, max_age_secs: 3600, max_idle_time_secs: 300, max_open: 200 },
    circuit: { max_concurrent_per_user_shard: 50, queue_size: 200, queue_timeout_ms: 10000 },
  };
  assert.deepEqual(config, expected);
});

test('[[shards]] gives several shards; a user without shard goes to the first one', () => {
  const config = parseConfig(`
[server]
listen_port = 0
metrics_port = 0
[[shards]]
name = "eu"
host = "10.0.0.1"
port = 3310
user = "u1"
password = "p1"
database = "app"
[[shards]]
name = "us"
user = "u2"
password = "p2"
[[users]]
name = "a"
password = ""
[[users]]
name = "b"
password = "x"
shard = "us"
max_qps = 2.5
burst = 10
max_connections = 3
`);
  assert.deepEqual(config.shards, [
    {
      name: 'eu',
      host: '10.0.0.1',
      port: 3310,
      user: 'u1',
      password: 'p1',
      database: 'app',
      ssl_mode: 'disabled',
    },
    { name: 'us', host: '127.0.0.1', port: 3306, user: 'u2', password: 'p2', ssl_mode: 'disabled' },
  ]);
  assert.deepEqual(
    config.users.map((u) => [u.name, u.shard, u.password, u.max_qps, u.burst, u.max_connections]),
    [
      ['a', 'eu', '', 0, 0, 0],
      ['b', 'us', 'x', 2.5, 10, 3],
    ],
  );
  assert.equal(config.server.listen_port, 0);
  assert.equal(config.server.metrics_port, 0);
});

test('unknown keys are errors naming the key, at every level', () => {
  expectConfigError(`${minimal}\n[extra]\na = 1\n`, 'extra', /unknown key/);
  expectConfigError(`[server]\nlisten_prot = 1\n${minimal}`, 'server.listen_prot', /unknown key/);
  expectConfigError(minimal.replace('user = "root"', 'user = "root"\nhots = "x"'), 'backend.hots');
  expectConfigError(`${minimal}max_qsp = 3\n`, 'users[0].max_qsp');
  expectConfigError(`${minimal}\n[pool]\nmax_idel = 1\n`, 'pool.max_idel');
  expectConfigError(`${minimal}\n[circuit]\nqueue = 1\n`, 'circuit.queue');
  expectConfigError(
    `[[shards]]\nname="a"\nuser="u"\npassword="p"\nweight=1\n[[users]]\nname="x"\npassword="y"\n`,
    'shards[0].weight',
  );
});

test('bad values are errors naming the key and what was expected', () => {
  expectConfigError(`[server]\nlisten_port = 70000\n${minimal}`, 'server.listen_port', /65535/);
  expectConfigError(`[server]\nlisten_port = "3307"\n${minimal}`, 'server.listen_port', /number/);
  expectConfigError(`[server]\nmetrics_port = -1\n${minimal}`, 'server.metrics_port');
  expectConfigError(`[server]\nlisten_addr = ""\n${minimal}`, 'server.listen_addr', /non-empty/);
  expectConfigError(`[server]\nmax_connections = 0\n${minimal}`, 'server.max_connections');
  expectConfigError(`[server]\nhandshake_timeout_ms = 1.5\n${minimal}`, 'server.handshake_timeout_ms', /int/);
  expectConfigError(`[server]\nmax_allowed_packet = 100\n${minimal}`, 'server.max_allowed_packet', /1024/);
  expectConfigError(
    `[server]\nmax_handshake_packet = 2097152\n${minimal}`,
    'server.max_handshake_packet',
    /1048576/,
  );
  expectConfigError(`[server]\nmax_handshakes_per_ip = -1\n${minimal}`, 'server.max_handshakes_per_ip');
  expectConfigError(
    `[server]\nmax_login_failures_per_ip = 2.5\n${minimal}`,
    'server.max_login_failures_per_ip',
    /int/,
  );
  expectConfigError(
    `[server]\nlogin_failure_window_secs = 0\n${minimal}`,
    'server.login_failure_window_secs',
  );
  expectConfigError(
    `[server]\ntls_cert_file = "c.pem"\n${minimal}`,
    'server.tls_key_file',
    /certificate and its key/,
  );
  expectConfigError(
    `[server]\ntls_key_file = "k.pem"\n${minimal}`,
    'server.tls_cert_file',
    /certificate and its key/,
  );
  expectConfigError(
    `[server]\nrequire_secure_transport = true\n${minimal}`,
    'server.require_secure_transport',
    /tls_cert_file/,
  );
  expectConfigError(
    `[server]\nrequire_secure_transport = 1\n${minimal}`,
    'server.require_secure_transport',
    /boolean/,
  );
  expectConfigError(minimal.replace('user = "root"', 'user = "root"\nport = 0'), 'backend.port');
  expectConfigError(minimal.replace('user = "root"', 'user = ""'), 'backend.user');
  expectConfigError(
    minimal.replace('user = "root"', 'user = "root"\nssl_mode = "on"'),
    'backend.ssl_mode',
    /expected one of disabled, preferred, required, verify_ca, verify_identity/,
  );
  expectConfigError(`${minimal}max_qps = -1\n`, 'users[0].max_qps');
  expectConfigError(`${minimal}burst = 1.5\n`, 'users[0].burst');
  expectConfigError(`${minimal}max_connections = -2\n`, 'users[0].max_connections');
  expectConfigError(`[server]\nmax_user_connections = 1.5\n${minimal}`, 'server.max_user_connections');
  expectConfigError(`[server]\nmax_handshakes = -1\n${minimal}`, 'server.max_handshakes');
  expectConfigError(
    `[server]\nmax_allowed_packet = 1048576\ncommand_memory_budget = 4194303\n${minimal}`,
    'server.command_memory_budget',
    /at least 4 × server\.max_allowed_packet \(4194304\)/,
  );
  assert.equal(
    parseConfig(`[server]\nmax_allowed_packet = 1048576\ncommand_memory_budget = 4194304\n${minimal}`).server
      .command_memory_budget,
    4194304,
  );
  expectConfigError(
    `[server]\nclient_idle_timeout_secs = 31536001\n${minimal}`,
    'server.client_idle_timeout_secs',
    /at most 31536000/,
  );
  expectConfigError(minimal.replace('name = "app"', 'name = "a b"'), 'users[0].name', /letters, digits/);
  expectConfigError(`${minimal}\n[pool]\nmax_open = 0\n`, 'pool.max_open');
  expectConfigError(`${minimal}\n[pool]\nmax_age_secs = 0\n`, 'pool.max_age_secs');
  expectConfigError(
    `${minimal}\n[pool]\nmax_idle = 30\nmax_open = 10\n`,
    'pool.max_idle',
    /pool\.max_open \(10\)/,
  );
  expectConfigError(
    `${minimal}\n[circuit]\nmax_concurrent_per_user_shard = 0\n`,
    'circuit.max_concurrent_per_user_shard',
  );
  expectConfigError(`${minimal}\n[circuit]\nqueue_size = -1\n`, 'circuit.queue_size');
  expectConfigError(`${minimal}\n[circuit]\nqueue_timeout_ms = 0\n`, 'circuit.queue_timeout_ms');
  expectConfigError(
    `[server]\nlisten_port = 4000\nmetrics_port = 4000\n${minimal}`,
    'server.metrics_port',
    /differ/,
  );
  expectConfigError('server = 3\n' + minimal, 'server');
});

test('a value of the wrong type says what was expected and what was found, not "missing"', () => {
  const wrong = (text: string, key: string, pattern: RegExp): void => {
    expectConfigError(text, key, pattern);
    assert.throws(
      () => parseConfig(text),
      (e: unknown) => !(e as Error).message.includes('missing'),
    );
  };
  wrong(`[server]\nlisten_port = "x"\n${minimal}`, 'server.listen_port', /expected a number, got string/);
  wrong(`[server]\nlisten_addr = 5\n${minimal}`, 'server.listen_addr', /expected a string, got number/);
  wrong(`[server]\nlisten_port = true\n${minimal}`, 'server.listen_port', /expected a number, got boolean/);
  wrong(`[server]\nlisten_port = [1]\n${minimal}`, 'server.listen_port', /expected a number, got array/);
  wrong(
    `[server]\nlisten_port = { a = 1 }\n${minimal}`,
    'server.listen_port',
    /expected a number, got table/,
  );
  wrong(
    `[server]\nlisten_port = 1979-05-27T07:32:00Z\n${minimal}`,
    'server.listen_port',
    /expected a number, got date/,
  );
  wrong('server = 3\n' + minimal, 'server', /expected a table, got number/);
  wrong('users = 3\n' + minimal.replace(/\[\[users\]\][^]*/, ''), 'users', /expected an array, got number/);
  wrong(
    minimal.replace('password = "pw"', 'password = 7'),
    'backend.password',
    /expected a string, got number/,
  );
});

test('required keys and sections are errors naming the key', () => {
  expectConfigError(`[[users]]\nname = "a"\npassword = "b"\n`, 'backend', /\[backend\].*\[\[shards\]\]/);
  expectConfigError(`[backend]\nuser = "root"\npassword = "x"\n`, 'users', /required/);
  expectConfigError(`users = []\n[backend]\nuser = "root"\npassword = "x"\n`, 'users', /at least one/);
  expectConfigError(minimal.replace('user = "root"\n', ''), 'backend.user', /missing/);
  expectConfigError(minimal.replace('password = "pw"\n', ''), 'backend.password', /ATHENA_BACKEND_PASSWORD/);
  expectConfigError(
    minimal.replace('password = "secret"\n', ''),
    'users[0].password',
    /ATHENA_USER_APP_PASSWORD/,
  );
  expectConfigError(minimal.replace('name = "app"\n', ''), 'users[0].name', /missing/);
  expectConfigError(
    `[[shards]]\nname="a"\nuser="u"\n[[users]]\nname="x"\npassword="y"\n`,
    'shards[0].password',
    /ATHENA_SHARD_A_PASSWORD/,
  );
});

test('cross-checks: shard exists, [backend] xor [[shards]], unique names, env-name collisions', () => {
  expectConfigError(`${minimal}shard = "nope"\n`, 'users[0].shard', /unknown shard "nope".*"default"/);
  expectConfigError(
    `${minimal}\n[[shards]]\nname="b"\nuser="u"\npassword="p"\n`,
    'shards',
    /either \[backend\].*not both/,
  );
  expectConfigError(
    `[[shards]]\nname="a"\nuser="u"\npassword="p"\n[[shards]]\nname="a"\nuser="u"\npassword="p"\n[[users]]\nname="x"\npassword="y"\n`,
    'shards[1].name',
    /duplicate shard name "a"/,
  );
  expectConfigError(
    `${minimal}\n[[users]]\nname = "app"\npassword = "z"\n`,
    'users[1].name',
    /duplicate user/,
  );
  expectConfigError(
    `${minimal}\n[[users]]\nname = "APP"\npassword = "z"\n`,
    'users[1].name',
    /ATHENA_USER_APP_PASSWORD/,
  );
});

test('TOML syntax errors say where', () => {
  expectConfigError('[server\nlisten_port = 1', '', /TOML syntax error at line 1/);
});

test('passwords from the environment override the file (and fill missing ones)', () => {
  const env = {
    ATHENA_BACKEND_PASSWORD: 'from-env',
    ATHENA_USER_APP_PASSWORD: '',
  };
  const config = parseConfig(minimal, env);
  assert.equal(config.shards[0]?.password, 'from-env');
  assert.equal(config.users[0]?.password, '', 'an empty variable is an empty password, not "unset"');

  const noPasswords = parseConfig(
    `[[shards]]\nname = "eu-1"\nuser = "u"\n[[users]]\nname = "app.ro"\nshard = "eu-1"\n`,
    { ATHENA_SHARD_EU_1_PASSWORD: 's', ATHENA_USER_APP_RO_PASSWORD: 'u' },
  );
  assert.equal(noPasswords.shards[0]?.password, 's');
  assert.equal(noPasswords.users[0]?.password, 'u');
  // Unrelated variables change nothing.
  assert.deepEqual(parseConfig(minimal, { ATHENA_USER_OTHER_PASSWORD: 'x' }), parseConfig(minimal));
});

test('envPasswordVariable upper-cases and replaces non-alphanumerics', () => {
  assert.equal(envPasswordVariable('USER', 'app-ro.1'), 'ATHENA_USER_APP_RO_1_PASSWORD');
  assert.equal(envPasswordVariable('SHARD', 'default'), 'ATHENA_SHARD_DEFAULT_PASSWORD');
});

test('redactConfig hides every password and leaves the rest', () => {
  const config = parseConfig(minimal);
  const redacted = redactConfig(config);
  assert.equal(redacted.shards[0]?.password, '***');
  assert.equal(redacted.users[0]?.password, '***');
  assert.equal(config.users[0]?.password, 'secret', 'the original is not modified');
  assert.ok(!JSON.stringify(redacted).includes('secret'));
  assert.ok(!JSON.stringify(redacted).includes('"pw"'));
  assert.deepEqual({ ...redacted, shards: [], users: [] }, { ...config, shards: [], users: [] });
});

test('loadConfig: missing file and bad content are ConfigErrors naming the file', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'athena-config-'));
  try {
    assert.throws(
      () => loadConfig(path.join(dir, 'absent.toml')),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /cannot read config file .*absent\.toml \(ENOENT\)/);
        return true;
      },
    );
    const file = path.join(dir, 'bad.toml');
    writeFileSync(file, `${minimal}\n[pool]\nmax_idle = "x"\n`);
    assert.throws(
      () => loadConfig(file),
      (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(e.key, 'pool.max_idle');
        assert.ok(e.message.startsWith('pool.max_idle: '), e.message);
        assert.ok(e.message.endsWith(`(in ${file})`), e.message);
        return true;
      },
    );
    const good = path.join(dir, 'good.toml');
    writeFileSync(good, minimal);
    assert.equal(loadConfig(good, { ATHENA_BACKEND_PASSWORD: 'e' }).shards[0]?.password, 'e');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('backend TLS and credential keys: defaults, and combinations that would do nothing or contradict', () => {
  const withKeys = (keys: string) => minimal.replace('user = "root"', `user = "root"\n${keys}`);
  const shard = parseConfig(minimal).shards[0]!;
  assert.equal(shard.ssl_mode, 'disabled');
  assert.equal(shard.ssl_verify_server_cert, undefined, 'absent: verified (with ssl_mode = "required")');
  assert.equal(shard.get_server_public_key, undefined, 'absent: the server is never asked for its key');
  const accepted = parseConfig(
    withKeys('ssl_mode = "required"\nssl_verify_server_cert = false\nget_server_public_key = true'),
  ).shards[0]!;
  assert.equal(accepted.ssl_verify_server_cert, false);
  assert.equal(accepted.get_server_public_key, true);
  parseConfig(withKeys('ssl_mode = "required"\nssl_ca = "/ca.pem"'));
  parseConfig(withKeys('ssl_mode = "verify_identity"\nssl_ca = "/ca.pem"\nssl_verify_server_cert = true'));
  expectConfigError(withKeys('get_server_public_key = "yes"'), 'backend.get_server_public_key', /boolean/);
  expectConfigError(withKeys('ssl_verify_server_cert = 1'), 'backend.ssl_verify_server_cert', /boolean/);
  expectConfigError(
    withKeys('ssl_mode = "verify_ca"\nssl_verify_server_cert = false'),
    'backend.ssl_verify_server_cert',
    /contradicts ssl_mode = "verify_ca"/,
  );
  expectConfigError(
    withKeys('ssl_mode = "preferred"\nssl_verify_server_cert = true'),
    'backend.ssl_verify_server_cert',
    /"required" only \("preferred" never verifies/,
  );
  expectConfigError(withKeys('ssl_verify_server_cert = true'), 'backend.ssl_verify_server_cert', /no TLS/);
  expectConfigError(withKeys('ssl_mode = "preferred"\nssl_ca = "/ca.pem"'), 'backend.ssl_ca', /is not used/);
  expectConfigError(
    withKeys('ssl_mode = "required"\nssl_verify_server_cert = false\nssl_ca = "/ca.pem"'),
    'backend.ssl_ca',
    /with ssl_verify_server_cert = false does not verify/,
  );
  expectConfigError(
    `[[shards]]\nname="a"\nuser="u"\npassword="p"\nrsa_public_key_file="/k.pem"\nget_server_public_key=true\n[[users]]\nname="x"\npassword="y"\n`,
    'shards[0].get_server_public_key',
    /either rsa_public_key_file .* or get_server_public_key/,
  );
});

test("sessions per user: unlimited unless server.max_user_connections or the user's entry says otherwise", () => {
  const limits = (text: string) => {
    const config = parseConfig(text);
    return [config.server.max_user_connections, ...config.users.map((u) => u.max_connections)];
  };
  const twoUsers = (extra: string) =>
    `${extra}\n[backend]\nuser = "root"\npassword = "pw"\n[[users]]\nname = "a"\npassword = ""\n[[users]]\nname = "b"\npassword = ""\nmax_connections = 0\n`;
  // A pool smaller than a user's clients queues them; a default cap would refuse them instead.
  assert.deepEqual(limits(twoUsers('')), [0, 0, 0], 'default: unlimited');
  assert.deepEqual(limits(twoUsers('[pool]\nmax_open = 7\nmax_idle = 7')), [0, 0, 0]);
  assert.deepEqual(limits(twoUsers('[server]\nmax_user_connections = 30')), [30, 30, 0]);
  assert.deepEqual(limits(twoUsers('[server]\nmax_user_connections = 0')), [0, 0, 0]);
});
