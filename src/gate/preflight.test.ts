import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { UsageError } from '../util/errors.ts';
import type { ProxyArmSpec } from '../engine/arms.ts';
import { diskFiles, preflightGate, type FileView } from './preflight.ts';
import type { Reference } from './reference.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const baseRef: Reference = { kind: 'base-ref', ref: 'main', commit: null, headArm: 'proxy', baseArm: 'base' };

/** A disk of the given files under /repo, all committed unless listed as untracked. */
function disk(files: Record<string, string | Buffer>, untracked: string[] = []): FileView {
  return {
    read: (abs) => {
      const f = files[path.relative('/repo', abs)];
      return f === undefined ? null : Buffer.from(f);
    },
    tracked: (abs) => {
      const rel = path.relative('/repo', abs);
      return files[rel] !== undefined && !untracked.includes(rel);
    },
    list: (dir) => {
      const rel = path.relative('/repo', dir);
      const prefix = rel === '' ? '' : `${rel}/`;
      return Object.keys(files)
        .filter((f) => f.startsWith(prefix) && !f.slice(prefix.length).includes('/'))
        .map((f) => f.slice(prefix.length));
    },
  };
}

function head(start: string, build?: string, port = 3307): ProxyArmSpec {
  return {
    name: 'proxy',
    role: 'proxy',
    start,
    port,
    cwd: '/repo',
    trafficCheck: false,
    ...(build ? { build } : {}),
  };
}

function refusal(fn: () => unknown): UsageError {
  const started = Date.now();
  try {
    fn();
  } catch (error) {
    assert.ok(Date.now() - started < 10_000);
    assert.ok(error instanceof UsageError, String(error));
    assert.equal(error.exitCode, 2);
    return error;
  }
  assert.fail('expected a refusal');
}

test('a fixed port is refused with the port, where it is, and the fix', () => {
  const e = refusal(() =>
    preflightGate(
      { reference: baseRef, arms: [head('node pipe.mjs --port 3307')] },
      disk({ 'pipe.mjs': 'x' }),
    ),
  );
  assert.match(e.message, /fixed port \(3307 in `node pipe\.mjs --port 3307`\)/);
  assert.match(e.message, /e\.g\. `node pipe\.mjs --port "\$ATHENA_BENCH_PROXY_PORT"`/);
  const cfg = refusal(() =>
    preflightGate(
      { reference: baseRef, arms: [head('proxysql -f -c proxysql.cnf', undefined, 6033)] },
      disk({ 'proxysql.cnf': 'mysql_variables= { interfaces="127.0.0.1:6033" }' }),
    ),
  );
  assert.match(cfg.message, /6033 in `proxysql\.cnf`/);
  assert.match(
    cfg.message,
    /sed "s\/6033\/\$ATHENA_BENCH_PROXY_PORT\/g" proxysql\.cnf > "\$dir\/proxysql\.cnf" && exec proxysql -f -c "\$dir\/proxysql\.cnf"/,
  );
});

test('a command or a script that reads $ATHENA_BENCH_PROXY_PORT passes; other modes are not checked', () => {
  const files = disk({ 'start.sh': 'exec ./bin --listen "$ATHENA_BENCH_PROXY_PORT"', 'npm.json': '' });
  for (const start of ['./start.sh', 'sh start.sh', 'exec ./bin --port ${ATHENA_BENCH_PROXY_PORT}']) {
    assert.deepEqual(preflightGate({ reference: baseRef, arms: [head(start, 'make')] }, files), [], start);
  }
  const wrapped = disk({
    'run.sh': 'exec node proxy/main.js',
    'proxy/main.js': "import { port } from './contract.js';",
    'proxy/contract.js': 'export const port = Number(process.env.ATHENA_BENCH_PROXY_PORT);',
  });
  assert.deepEqual(preflightGate({ reference: baseRef, arms: [head('./run.sh', 'make')] }, wrapped), []);
  const pkg = disk({ 'package.json': '{"scripts":{"start":"node p.js --port $ATHENA_BENCH_PROXY_PORT"}}' });
  assert.deepEqual(preflightGate({ reference: baseRef, arms: [head('npm start', 'npm ci')] }, pkg), []);
  for (const reference of [{ kind: 'none' } as const]) {
    assert.deepEqual(preflightGate({ reference, arms: [head('./fixed --port 3307')] }, disk({})), []);
  }
  // This repository's Athena (a factory): its base arm gets a config on its own ports.
  assert.deepEqual(preflightGate({ reference: baseRef, arms: [async () => head('x')] }, disk({})), []);
});

test('a binary it cannot read runs, with a warning; one that names the variable passes silently', () => {
  const binary = Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2]);
  const warned = preflightGate(
    { reference: baseRef, arms: [head('./proxy', 'make')] },
    disk({ proxy: binary }),
  );
  assert.equal(warned.length, 1);
  assert.match(warned[0]!, /cannot read.*EADDRINUSE/s);
  const reads = Buffer.concat([binary, Buffer.from('ATHENA_BENCH_PROXY_PORT')]);
  assert.deepEqual(
    preflightGate({ reference: baseRef, arms: [head('./proxy', 'make')] }, disk({ proxy: reads })),
    [],
  );
});

test('a config the proxy reads without being told, naming the variable, lets it run with a warning', () => {
  const compose = disk({
    'docker-compose.yml': 'ports: ["${ATHENA_BENCH_PROXY_PORT}:3306"]',
    'README.md': '$ATHENA_BENCH_PROXY_PORT',
  });
  const warned = preflightGate({ reference: baseRef, arms: [head('docker compose up', 'true')] }, compose);
  assert.equal(warned.length, 1);
  assert.match(warned[0]!, /but `docker-compose\.yml` does/);
  const docsOnly = disk({ 'README.md': '$ATHENA_BENCH_PROXY_PORT' });
  refusal(() => preflightGate({ reference: baseRef, arms: [head('docker compose up', 'true')] }, docsOnly));
});

test('without a build, a start command that runs what is not committed is refused', () => {
  const e = refusal(() =>
    preflightGate(
      { reference: baseRef, arms: [head('node proxy/dist/athena.js --port "$ATHENA_BENCH_PROXY_PORT"')] },
      disk({ 'proxy/dist/athena.js': 'x' }, ['proxy/dist/athena.js']),
    ),
  );
  assert.match(
    e.message,
    /`proxy\/dist\/athena\.js`.*not committed.*fresh git worktree of main.*proxy-build/s,
  );
  // A committed script, or a file the command writes itself, needs no build.
  const ok = disk({ 'scripts/pipe.mjs': 'x' });
  const own = 'mkdir -p run && echo "$ATHENA_BENCH_PROXY_PORT" > run/port && node scripts/pipe.mjs run/port';
  assert.deepEqual(preflightGate({ reference: baseRef, arms: [head(own)] }, ok), []);
});

/** The proxy-build/proxy-start/proxy-port of every Action step in the README's yaml blocks. */
function readmeShapes(): Array<{ start: string; build?: string; port: number }> {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const shapes: Array<{ start: string; build?: string; port: number }> = [];
  for (const [, block] of readme.matchAll(/```yaml\n([\s\S]*?)```/g)) {
    for (const doc of parseAllDocuments(block!)) {
      const visit = (node: unknown): void => {
        if (Array.isArray(node)) node.forEach(visit);
        else if (node && typeof node === 'object') {
          const w = (node as { with?: Record<string, unknown> }).with;
          if (typeof w?.['proxy-start'] === 'string') {
            shapes.push({
              start: w['proxy-start'],
              ...(typeof w['proxy-build'] === 'string' ? { build: w['proxy-build'] } : {}),
              port: Number(w['proxy-port'] ?? 3307),
            });
          }
          Object.values(node).forEach(visit);
        }
      };
      visit(doc.toJS());
    }
  }
  return shapes;
}

test("every README example's proxy passes the base-vs-head preflight", () => {
  const shapes = readmeShapes();
  assert.ok(shapes.length >= 2, 'the athena-rs and ProxySQL examples');
  for (const shape of shapes) {
    const warnings = preflightGate(
      { reference: baseRef, arms: [head(shape.start, shape.build, shape.port)] },
      diskFiles,
    );
    assert.deepEqual(warnings, [], shape.start);
  }
});

test('each README example with its port written in is refused in seconds with the fix', () => {
  for (const shape of readmeShapes()) {
    const fixed = shape.start.replace(/\$?\{?ATHENA_BENCH_PROXY_PORT\}?/g, String(shape.port));
    const arms = [head(fixed, shape.build, shape.port)];
    const e = refusal(() => preflightGate({ reference: baseRef, arms }, diskFiles));
    assert.match(e.message, new RegExp(`fixed port \\(${shape.port} in `));
    assert.match(e.message, /Make it listen on \$ATHENA_BENCH_PROXY_PORT/);
  }
});
