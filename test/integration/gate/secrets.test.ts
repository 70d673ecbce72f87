// No secret reaches anything the gate writes: a run with a distinctive random MySQL password and a
// token in the environment, one that passes and one that fails (sysbench printing garbage, so the
// failure path prints a driver's output and a log tail), then every byte of stdout, stderr, the out
// directory (results.json, report.md, report.html, generated configs, proxy logs) and the run's
// private TMPDIR is searched for both.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { which } from '../../../src/util/which.ts';
import { privateTmp, runCli } from '../../helpers/cli.ts';
import { gateSkip, startGateBench, type GateBench } from '../../helpers/gate.ts';

let bench: GateBench;

before(async () => {
  if (gateSkip.skip === false) bench = await startGateBench();
});

after(async () => {
  await bench?.close();
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const full = path.join(dir, name);
    try {
      if (statSync(full).isDirectory()) out.push(...filesUnder(full));
      else out.push(full);
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

function leaks(secrets: string[], texts: Array<[string, string]>): string[] {
  const found: string[] = [];
  for (const [where, text] of texts) {
    for (const s of secrets) if (text.includes(s)) found.push(`${where} contains a secret`);
  }
  return found;
}

test(
  'no MySQL password or token in stdout, stderr, the out dir or temp files, passing or failing',
  gateSkip,
  async () => {
    const token = `ghs_${randomBytes(16).toString('hex')}`;
    const secrets = [bench.server.password, token];
    const env = { GITHUB_TOKEN: token, INPUT_GITHUB_TOKEN: token, ATHENA_BENCH_TOKEN: token };
    const texts: Array<[string, string]> = [];

    const okOut = path.join(bench.scratch, 'secrets-ok');
    const okTmp = privateTmp(bench.scratch);
    const ok = await runCli(bench.runArgs('secretsok', okOut, 1, 1), { ...env, TMPDIR: okTmp });
    assert.equal(ok.code, 0, ok.stderr);
    texts.push(['stdout (pass)', ok.stdout], ['stderr (pass)', ok.stderr]);
    const okFiles = [...filesUnder(okOut), ...filesUnder(okTmp)];
    assert.ok(
      okFiles.some((f) => f.endsWith('results.json')),
      'no results.json written',
    );
    for (const f of okFiles) texts.push([f, readFileSync(f, 'latin1')]);

    const fakeDir = path.join(bench.scratch, 'fake-sysbench-secrets');
    mkdirSync(fakeDir, { recursive: true });
    writeFileSync(
      path.join(fakeDir, 'sysbench'),
      `#!/bin/sh\nfor a in "$@"; do [ "$a" = run ] && { echo "args: $*"; echo "garbage"; exit 0; }; done\nexec ${which('sysbench')!} "$@"\n`,
    );
    chmodSync(path.join(fakeDir, 'sysbench'), 0o755);
    const badOut = path.join(bench.scratch, 'secrets-bad');
    const badTmp = privateTmp(bench.scratch);
    const bad = await runCli(bench.runArgs('secretsbad', badOut, 1, 1), {
      ...env,
      TMPDIR: badTmp,
      PATH: `${fakeDir}:${process.env.PATH ?? ''}`,
    });
    assert.equal(bad.code, 3, bad.stderr);
    texts.push(['stdout (fail)', bad.stdout], ['stderr (fail)', bad.stderr]);
    for (const f of [...filesUnder(badOut), ...filesUnder(badTmp)])
      texts.push([f, readFileSync(f, 'latin1')]);

    assert.deepEqual(leaks(secrets, texts), []);
  },
);
