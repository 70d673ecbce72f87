// The athena command line on the real bundle: configuration errors.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureProxyBundle } from '../../helpers/proxy.ts';

let work: { dir: string };
let bundle: string;

before(async () => {
  work = { dir: mkdtempSync(path.join(os.tmpdir(), 'athena-cli-')) };
  bundle = await ensureProxyBundle();
});

after(() => work && rmSync(work.dir, { recursive: true, force: true }));

function countOf(text: string, part: string): number {
  return text.split(part).length - 1;
}

test('--check-config on a bad file: exit 2, one line naming the key and the file once', () => {
  const file = path.join(work.dir, 'bad.toml');
  writeFileSync(
    file,
    '[server]\nlisten_port = "x"\n\n[backend]\nuser = "root"\npassword = "pw"\n\n[[users]]\nname = "app"\npassword = "s"\n',
  );
  const run = spawnSync(process.execPath, [bundle, '--config', file, '--check-config'], { encoding: 'utf8' });
  assert.equal(run.status, 2, run.stderr);
  assert.equal(run.stdout, '');
  assert.equal(countOf(run.stderr, file), 1, run.stderr);
  assert.equal(run.stderr, `athena: server.listen_port: expected a number, got string (in ${file})\n`);
});

test('--check-config on a missing file: exit 2, the file named once', () => {
  const file = path.join(work.dir, 'absent.toml');
  const run = spawnSync(process.execPath, [bundle, '--config', file, '--check-config'], { encoding: 'utf8' });
  assert.equal(run.status, 2, run.stderr);
  assert.equal(countOf(run.stderr, file), 1, run.stderr);
  assert.match(run.stderr, /^athena: cannot read config file .* \(ENOENT\)\n$/);
});

test('a TLS certificate that cannot be read: exit 2 naming the key and the file', () => {
  const file = path.join(work.dir, 'tls.toml');
  const cert = path.join(work.dir, 'no-such-cert.pem');
  writeFileSync(
    file,
    `[server]\nlisten_port = 0\nmetrics_port = 0\ntls_cert_file = "${cert}"\ntls_key_file = "${cert}"\n\n[backend]\nuser = "root"\npassword = "pw"\n\n[[users]]\nname = "app"\npassword = "s"\n`,
  );
  const run = spawnSync(process.execPath, [bundle, '--config', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.status, 2, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(
      `server\\.tls_cert_file: cannot read ${cert.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT\\)`,
    ),
  );
});
