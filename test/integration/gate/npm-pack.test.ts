// The published package: `npm pack` makes a tarball that installs offline (everything the CLI
// runs is bundled into dist/, so it has no dependencies) and whose `athena-bench` bin runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function npm(args: string[], cwd: string): string {
  const result = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 120_000 });
  assert.equal(result.status, 0, `npm ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

test('npm pack: the tarball installs offline and `athena-bench --help` prints the usage', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'athena-bench-pack-'));
  try {
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], repoRoot)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const files = packed!.files.map((f) => f.path);
    for (const needed of ['dist/cli.js', 'package.json', 'README.md', 'LICENSE', 'baselines/default.json']) {
      assert.ok(files.includes(needed), `${needed} is in the package`);
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/')), 'no sources or tests');
    const project = path.join(dir, 'project');
    mkdirSync(project);
    npm(['init', '-y'], project);
    npm(['install', '--offline', '--no-audit', '--no-fund', path.join(dir, packed!.filename)], project);
    assert.deepEqual(readdirSync(path.join(project, 'node_modules')).sort(), [
      '.bin',
      '.package-lock.json',
      'athena-bench',
    ]);
    const help = spawnSync(path.join(project, 'node_modules/.bin/athena-bench'), ['--help'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: athena-bench <command>/);
    assert.match(help.stdout, /\brun\b.*benchmark a MySQL proxy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
