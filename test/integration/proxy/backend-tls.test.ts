// Athena's TLS to a real MariaDB whose certificate a throwaway CA signed for the name "localhost"
// only: which ssl_mode, ssl_ca and ssl_verify_server_cert combinations log in, which are refused
// (ERR 2026 with what to change), and the start-up warnings for settings that expose the password.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startLocalServer, type LocalServer } from '../../../src/mysql/index.ts';
import { issueServerCertificate, makeTestCa, type TestCa } from '../../helpers/certificates.ts';
import {
  backendCipher as cipherAs,
  backendOf,
  spawnProxy,
  type BackendSpec,
  type RunningProxy,
} from '../../helpers/proxy.ts';

const app = { name: 'app', password: `pw-${randomBytes(8).toString('hex')}` };

let dir: string;
let ca: TestCa;
let otherCa: TestCa;
let server: LocalServer;

const backendCipher = (proxy: RunningProxy): Promise<string> => cipherAs(proxy, app);

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'athena-backend-tls-'));
  ca = makeTestCa(path.join(dir, 'ca'), 'athena-test-ca');
  otherCa = makeTestCa(path.join(dir, 'other-ca'), 'athena-other-ca');
  const cert = issueServerCertificate(ca, path.join(dir, 'server'), 'DNS:localhost');
  server = await startLocalServer({
    extraArgs: [`--ssl-cert=${cert.certFile}`, `--ssl-key=${cert.keyFile}`],
  });
});

after(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs `body` with a proxy whose [backend] has these extra keys; stops it afterwards. */
async function withProxy(
  keys: Partial<BackendSpec>,
  body: (proxy: RunningProxy) => Promise<void>,
): Promise<void> {
  const proxy = await spawnProxy({ backend: { ...backendOf(server), ...keys }, users: [app] });
  try {
    await body(proxy);
  } finally {
    await proxy.stop();
  }
}

/** The proxy's backend login fails: the client sees ERR 2026 and the message matches `pattern`. */
async function refusedWith(proxy: RunningProxy, pattern: RegExp): Promise<void> {
  await assert.rejects(backendCipher(proxy), (error: { errno?: number; message: string }) => {
    assert.equal(error.errno, 2026, error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

test('verify_ca with the CA that signed the certificate: TLS to the backend, no warning', async () => {
  await withProxy({ ssl_mode: 'verify_ca', ssl_ca: ca.certFile }, async (proxy) => {
    assert.notEqual(await backendCipher(proxy), '');
    assert.doesNotMatch(proxy.log(), /warning/);
  });
});

test('verify_ca with another CA: ERR 2026 saying to set ssl_ca, no opt-out offered', async () => {
  await withProxy({ ssl_mode: 'verify_ca', ssl_ca: otherCa.certFile }, async (proxy) => {
    await refusedWith(
      proxy,
      /\(ssl_mode = verify_ca\).*not signed by a CA in ssl_ca: set ssl_ca to the CA that signed it$/,
    );
  });
});

test('verify_identity checks the name: "localhost" passes, 127.0.0.1 (not in the certificate) is refused', async () => {
  await withProxy({ ssl_mode: 'verify_identity', ssl_ca: ca.certFile, host: 'localhost' }, async (proxy) => {
    assert.notEqual(await backendCipher(proxy), '');
  });
  await withProxy({ ssl_mode: 'verify_identity', ssl_ca: ca.certFile }, async (proxy) => {
    await refusedWith(proxy, /does not name host "127\.0\.0\.1"/);
  });
});

test('required verifies the certificate: with its CA in ssl_ca it connects; with the system CAs it is refused', async () => {
  await withProxy({ ssl_mode: 'required', ssl_ca: ca.certFile }, async (proxy) => {
    assert.notEqual(await backendCipher(proxy), '');
    assert.doesNotMatch(proxy.log(), /warning/);
  });
  await withProxy({ ssl_mode: 'required' }, async (proxy) => {
    await refusedWith(
      proxy,
      /\(ssl_mode = required\).*not signed by a CA in the system CAs \(ssl_ca is not set\).*ssl_verify_server_cert = false/,
    );
  });
});

test('required with ssl_verify_server_cert = false connects to any certificate, and start-up warns of it', async () => {
  await withProxy({ ssl_mode: 'required', ssl_verify_server_cert: false }, async (proxy) => {
    assert.notEqual(await backendCipher(proxy), '');
    assert.match(
      proxy.log(),
      /athena: warning: shard "default" \(127\.0\.0\.1:\d+\): ssl_mode = "required" with ssl_verify_server_cert = false accepts any certificate/,
    );
  });
});

test('get_server_public_key = true on plain TCP logs in (mysql_native_password) and start-up warns of it', async () => {
  await withProxy({ get_server_public_key: true }, async (proxy) => {
    assert.equal(await backendCipher(proxy), '');
    assert.match(proxy.log(), /athena: warning: .*get_server_public_key = true takes the RSA key/);
  });
});
