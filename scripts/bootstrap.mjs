// Installs what `npm run bench` and `npm test` need on a fresh clone:
//  - npm packages (`npm ci`) when node_modules is missing or older than package-lock.json;
//  - system packages (MariaDB server and client, sysbench, haproxy, valgrind; chromium with --for-tests) through apt-get when their
//    binaries are missing and we are root or have passwordless sudo; otherwise it stops and
//    prints the exact command to run.
// Usage: node scripts/bootstrap.mjs [--npm-only | --for-tests]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npmOnly = process.argv.includes('--npm-only');
const forTests = process.argv.includes('--for-tests');

function say(message) {
  process.stderr.write(`[bootstrap] ${message}\n`);
}

function npmPackagesCurrent() {
  // A node_modules that is a link (a git worktree sharing another checkout's install) belongs to
  // that checkout: `npm ci` here would empty it through the link.
  if (isSymlink(path.join(root, 'node_modules'))) return true;
  const marker = path.join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return false;
  return statSync(marker).mtimeMs >= statSync(path.join(root, 'package-lock.json')).mtimeMs;
}

function isSymlink(file) {
  try {
    return lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

function onPath(binary) {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
}

if (!npmPackagesCurrent()) {
  say('installing npm packages (npm ci)');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

if (!npmOnly) {
  // Each requirement: any of these binaries satisfies it; the Debian package that provides it.
  const requirements = [
    { binaries: ['mariadbd', 'mysqld'], pkg: 'mariadb-server' },
    { binaries: ['mariadb', 'mysql'], pkg: 'mariadb-client' },
    { binaries: ['mariadb-slap', 'mysqlslap'], pkg: 'mariadb-client' },
    { binaries: ['sysbench'], pkg: 'sysbench' },
    { binaries: ['haproxy'], pkg: 'haproxy' },
    // The work channel counts the proxy's instructions under valgrind's callgrind.
    { binaries: ['callgrind_control'], pkg: 'valgrind' },
    // Only the tests need a browser: the HTML report's test renders it in headless Chromium.
    ...(forTests ? [{ binaries: ['chromium', 'chromium-browser'], pkg: 'chromium' }] : []),
  ];
  // mariadbd lives in /usr/sbin, which is not on every user's PATH.
  process.env.PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/local/sbin`;
  const missing = [...new Set(requirements.filter((r) => !r.binaries.some(onPath)).map((r) => r.pkg))];
  if (missing.length > 0) {
    const install = ['apt-get', 'install', '-y', '--no-install-recommends', ...missing];
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    const sudo =
      !isRoot && onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
    if (!isRoot && !sudo) {
      say(`missing system packages: ${missing.join(', ')}. Install them with:`);
      say(`  sudo apt-get update && sudo ${install.join(' ')}`);
      process.exit(1);
    }
    const prefix = sudo ? ['sudo'] : [];
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    say(`installing system packages: ${missing.join(', ')}`);
    for (const args of [['apt-get', 'update', '-qq'], install]) {
      const cmd = [...prefix, ...args];
      execFileSync(cmd[0], cmd.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env });
    }
  }
}
