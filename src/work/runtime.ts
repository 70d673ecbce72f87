import path from 'node:path';
import { shellQuote } from '../util/shell.ts';

/**
 * The start command a proxy runs with under the work channel, when its arm has none of its own
 * (a --proxy-start command): what its runtime needs for repeatable counts and named functions.
 * - Node: V8's flags (nodeWorkFlags) — one thread, fixed hash and random seeds, a perf map for
 *   the JIT code — added after every `node` the command runs directly (`node server.js`,
 *   `cd dir && exec node dist/main.js`), unless it already gives --single-threaded. NODE_OPTIONS
 *   cannot carry them: Node refuses those V8 flags there. A script that starts node itself must
 *   pass them.
 * - Native code (C, C++, Rust: haproxy, ProxySQL, athena-rs): nothing; its functions are named
 *   from its symbol table, so a stripped binary names only its exported ones (docs/PERF.md).
 */
export function workStartFor(start: string, logDir: string): string {
  if (/--single-threaded\b/.test(start)) return start;
  return start.replace(
    NODE_RUN,
    (_, before: string, node: string) => `${before}${node} ${nodeWorkFlags(logDir)}`,
  );
}

/** `node` as a command word: at the start, after a separator or after `exec`, `env`, `nice`. */
const NODE_RUN = /((?:^|[;&|(]|\b(?:exec|env|nice))\s*)((?:[^\s;&|()'"]*\/)?node)(?=\s)/g;

/**
 * V8 flags for a Node proxy under the work channel. --single-threaded: no concurrent compiler or GC
 * threads, whose share of the work depends on timing. Fixed hash and random seeds: measured on
 * Athena, two seeds differ by 2.5% in instructions per query (hash-table layouts), so two
 * processes must not each draw their own. --perf-basic-prof: V8 writes /tmp/perf-<pid>.map, which
 * names the JIT code in the profiles. Node 20's V8 also opens its own event log for that flag, in
 * the working directory unless told where (isolate-*-v8.log files left in the user's checkout), so
 * the log goes to the run's directory.
 */
export function nodeWorkFlags(logDir: string): string {
  const logFile = shellQuote(path.join(logDir, 'v8-%p.log'));
  return `--single-threaded --hash-seed=1 --random-seed=1 --perf-basic-prof --logfile=${logFile} --no-logfile-per-isolate`;
}
