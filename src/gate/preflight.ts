import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/errors.ts';
import type { ArmSource, ProxyArmSpec } from '../engine/arms.ts';
import type { Reference } from './reference.ts';

/**
 * Refuses, before MySQL is provisioned, a base-vs-head run whose base arm cannot start: the base
 * proxy runs from a fresh git worktree next to the head, on a port only known at run time. A
 * custom proxy that listens where its own config says collides with the head (EADDRINUSE, then
 * retries and exit 3 minutes later), and one started from files a build makes finds nothing there.
 * Pure but for the disk it is shown through a `FileView`; returns warnings for what it cannot tell.
 */

const PORT_MENTION = /ATHENA_BENCH_PROXY_PORT/;
/** Past this a file is not scanned: the check must take milliseconds, not read a toolchain. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;
const MAX_FILES = 40;

/** What the check may know of the disk: a file's bytes, and whether git tracks it. */
export interface FileView {
  /** null when absent, not a regular file, or too large to scan. */
  read(absPath: string): Buffer | null;
  /** null when it cannot tell (not a git checkout). */
  tracked(absPath: string): boolean | null;
  /** The names in a directory; [] when it cannot be read. */
  list(dir: string): string[];
}

/** A word of the start command that names a file under its working directory. */
interface Referenced {
  word: string;
  abs: string;
  bytes: Buffer | null;
  tracked: boolean | null;
}

export function preflightGate(
  request: { reference: Reference; arms: readonly ArmSource[] },
  files: FileView,
): string[] {
  const { reference } = request;
  if (reference.kind !== 'base-ref') return [];
  const head = request.arms.find(
    (arm): arm is ProxyArmSpec => typeof arm !== 'function' && arm.name === reference.headArm,
  );
  // A factory is this repository's Athena: its base arm gets a config rendered on its own ports.
  if (!head) return [];
  const refs = referencedFiles(head.start, head.cwd, files);
  if (head.build === undefined) refuseUnbuilt(head.start, refs, reference.ref);
  return checkPort(head, nestedTexts(refs, head.cwd, files), implicitConfig(head.cwd, files));
}

/** The words of a command or a script that could name a file. */
function pathWords(text: string): string[] {
  const words = (text.match(/[^\s'"`;&|()<>]+/g) ?? [])
    .map((w) => (w.startsWith('-') && w.includes('=') ? w.slice(w.indexOf('=') + 1) : w))
    .filter((w) => /^[\w./+-]+$/.test(w) && /^[\w.]/.test(w) && /\w/.test(w));
  return [...new Set(words)];
}

/** Words of the command that name files (scripts, configs, binaries), relative to its directory. */
function referencedFiles(command: string, cwd: string, files: FileView): Referenced[] {
  const out: Referenced[] = [];
  for (const word of pathWords(command)) {
    const abs = path.resolve(cwd, word);
    const bytes = files.read(abs);
    if (bytes !== null || word.includes('/')) out.push({ word, abs, bytes, tracked: files.tracked(abs) });
  }
  // `npm start` and friends run a script of package.json: its text says what they listen on.
  if (/^\s*(npm|pnpm|yarn)\b/.test(command)) {
    const abs = path.join(cwd, 'package.json');
    out.push({ word: 'package.json', abs, bytes: files.read(abs), tracked: files.tracked(abs) });
  }
  return out;
}

/**
 * The text files the command's scripts run or read in turn (a wrapper script that execs the one
 * reading $ATHENA_BENCH_PROXY_PORT), a few levels and files deep: the check stays quick.
 */
function nestedTexts(refs: Referenced[], cwd: string, files: FileView): Referenced[] {
  const seen = new Map(refs.map((r) => [r.abs, r]));
  let level = refs;
  for (let depth = 0; depth < 3 && seen.size < MAX_FILES; depth++) {
    const next: Referenced[] = [];
    for (const r of level.filter(isText)) {
      for (const word of pathWords(r.bytes!.toString())) {
        for (const abs of [path.resolve(path.dirname(r.abs), word), path.resolve(cwd, word)]) {
          if (seen.has(abs) || seen.size >= MAX_FILES) continue;
          const bytes = files.read(abs);
          if (bytes === null) continue;
          const found = { word, abs, bytes, tracked: null };
          seen.set(abs, found);
          next.push(found);
        }
      }
    }
    level = next;
  }
  return [...seen.values()];
}

/**
 * A config the proxy may read without being told (docker-compose.yml, config/*.toml) that names
 * the variable: the file in the working directory or its config/ that does, if any.
 */
function implicitConfig(cwd: string, files: FileView): string | null {
  for (const dir of ['.', 'config']) {
    const names = files.list(path.join(cwd, dir)).filter((n) => !/\.(md|txt|html|rst)$/i.test(n));
    for (const name of names.slice(0, MAX_FILES)) {
      const bytes = files.read(path.join(cwd, dir, name));
      if (bytes && !bytes.includes(0) && PORT_MENTION.test(bytes.toString())) return path.join(dir, name);
    }
  }
  return null;
}

function isText(r: Referenced): boolean {
  return r.bytes !== null && !r.bytes.includes(0);
}

/** The base's worktree holds only what is committed: a start command needing more needs a build. */
function refuseUnbuilt(start: string, refs: Referenced[], ref: string): void {
  const unbuilt = refs.find((r) => r.tracked === false && !writtenBy(start, r.word));
  if (!unbuilt) return;
  throw new UsageError(
    `proxy-start runs \`${unbuilt.word}\` (in \`${start}\`), which is not committed, and there is no ` +
      `proxy-build: in base-vs-head mode the base proxy runs from a fresh git worktree of ${ref} that ` +
      `holds only committed files, nothing built. Give proxy-build (CLI: --proxy-build) the command ` +
      `that makes \`${unbuilt.word}\`, e.g. \`cargo build --release\` or \`npm ci && npm run build\`; ` +
      `it runs in both checkouts.`,
  );
}

/** A file the command makes itself (a redirect's target, a directory it creates) needs no build. */
function writtenBy(command: string, word: string): boolean {
  const escaped = word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(>|mkdir( -p)?)\\s*["']?${escaped}`).test(command);
}

/** The base learns its port only from $ATHENA_BENCH_PROXY_PORT: something must read it. */
function checkPort(head: ProxyArmSpec, refs: Referenced[], implicit: string | null): string[] {
  const texts = refs.filter(isText);
  const opaque = refs.filter((r) => r.bytes !== null && !isText(r));
  if (
    PORT_MENTION.test(head.start) ||
    texts.some((r) => PORT_MENTION.test(r.bytes!.toString())) ||
    opaque.some((r) => r.bytes!.includes('ATHENA_BENCH_PROXY_PORT'))
  ) {
    return [];
  }
  const literal = new RegExp(`(?<![\\w.])${head.port}(?!\\w)`);
  const inFile = texts.find((r) => literal.test(r.bytes!.toString()));
  if (!literal.test(head.start) && !inFile && implicit !== null) {
    return [
      `base-vs-head: nothing in \`${head.start}\` mentions $ATHENA_BENCH_PROXY_PORT, but ` +
        `\`${implicit}\` does; if the proxy reads it from there it listens where it should, so it ` +
        `runs as given. If the base proxy fails with EADDRINUSE, make it listen on ` +
        `$ATHENA_BENCH_PROXY_PORT (README, "Gating another proxy").`,
    ];
  }
  if (!literal.test(head.start) && !inFile && opaque.length > 0) {
    return [
      `base-vs-head: nothing in \`${head.start}\` mentions $ATHENA_BENCH_PROXY_PORT and ` +
        `\`${opaque[0]!.word}\` is a binary the gate cannot read, so it runs as given. The base proxy ` +
        `runs next to the head on a port of its own: if it fails with EADDRINUSE, make it listen on ` +
        `$ATHENA_BENCH_PROXY_PORT (README, "Gating another proxy").`,
    ];
  }
  const inCommand = literal.test(head.start);
  const where = inCommand ? ` in \`${head.start}\`` : inFile ? ` in \`${inFile.word}\`` : `, the proxy-port`;
  throw new UsageError(
    `proxy-start listens on a fixed port (${head.port}${where}): in base-vs-head mode the base and ` +
      `head proxies run side by side, each on its own port, and the base's is only known at run ` +
      `time; nothing in \`${head.start}\` mentions $ATHENA_BENCH_PROXY_PORT. Make it listen on ` +
      `$ATHENA_BENCH_PROXY_PORT, e.g. ${portFix(head, inCommand ? null : (inFile?.word ?? null))}. ` +
      `Any other port it opens (metrics, admin) must differ per arm too; README, "Gating another ` +
      `proxy", has worked examples.`,
  );
}

/** The smallest change that makes the start command take its port from the gate. */
function portFix(head: ProxyArmSpec, configFile: string | null): string {
  const variable = '"$ATHENA_BENCH_PROXY_PORT"';
  const literal = new RegExp(`(?<![\\w.])${head.port}(?!\\w)`, 'g');
  if (configFile === null && literal.test(head.start)) {
    return `\`${head.start.replace(literal, variable)}\``;
  }
  const file = configFile ?? 'proxy.conf';
  const rendered = '"$dir/' + path.basename(file) + '"';
  const start =
    configFile === null ? `${head.start} --config ${rendered}` : head.start.split(file).join(rendered);
  const render = `dir=$(mktemp -d) && sed "s/${head.port}/$ATHENA_BENCH_PROXY_PORT/g" ${file} > ${rendered} && exec ${start}`;
  return configFile === null
    ? `\`${head.start} --port ${variable}\` if it takes such a flag, or a config rendered per arm: \`${render}\``
    : `a config rendered per arm: \`${render}\``;
}

/** The disk as the gate sees it: files up to MAX_SCAN_BYTES, tracked status from git. */
export const diskFiles: FileView = {
  read(absPath) {
    try {
      const stat = statSync(absPath);
      return stat.isFile() && stat.size <= MAX_SCAN_BYTES ? readFileSync(absPath) : null;
    } catch {
      return null;
    }
  },
  list(dir) {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
  tracked(absPath) {
    // git answers from the nearest directory that exists (a build's output directory may not yet).
    let dir = path.dirname(absPath);
    while (!isDirectory(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
    try {
      execFileSync('git', ['ls-files', '--error-unmatch', '--', path.relative(dir, absPath)], {
        cwd: dir,
        stdio: 'ignore',
      });
      return true;
    } catch (error) {
      // Exit 1: the directory is in a repository that does not track the file; else git cannot tell.
      return (error as { status?: number }).status === 1 ? false : null;
    }
  },
};

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
