import { nodeWorkFlags } from '../engine/arms.ts';

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
