import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseCallgrind, type FunctionCost } from './callgrind.ts';
import { PerfMap } from './perfMap.ts';

/** How many functions per arm and workload the results keep (enough to diff two arms). */
export const KEPT_FUNCTIONS = 200;

export interface FunctionPerQuery {
  name: string;
  object: string;
  irPerQuery: number;
}

/** The JIT symbol maps of the given processes (V8 writes /tmp/perf-<pid>.map with --perf-basic-prof). */
export function loadPerfMaps(pids: readonly number[], dir = '/tmp'): Map<number, PerfMap> {
  const maps = new Map<number, PerfMap>();
  for (const pid of pids) {
    const file = `${dir}/perf-${pid}.map`;
    if (existsSync(file)) maps.set(pid, PerfMap.parse(readFileSync(file, 'utf8')));
  }
  return maps;
}

/**
 * Self instructions per query of each function over several dump files (the kept windows), JIT
 * addresses named from the perf maps, heaviest first.
 */
export function functionsPerQuery(
  dumps: ReadonlyArray<{ file: string; pid: number }>,
  queries: number,
  perfMaps: ReadonlyMap<number, PerfMap>,
): FunctionPerQuery[] {
  const merged = new Map<string, FunctionCost>();
  for (const dump of dumps) {
    const map = perfMaps.get(dump.pid);
    for (const fn of parseCallgrind(readFileSync(dump.file, 'utf8')).functions) {
      const name = comparableName(map ? map.symbolize(fn.name) : fn.name);
      const key = `${fn.object}\u0000${name}`;
      const entry = merged.get(key) ?? { name, object: fn.object, selfIr: 0, selfSyscalls: 0 };
      entry.selfIr += fn.selfIr;
      merged.set(key, entry);
    }
  }
  return [...merged.values()]
    .filter((f) => f.selfIr > 0)
    .sort((a, b) => b.selfIr - a.selfIr)
    .slice(0, KEPT_FUNCTIONS)
    .map((f) => ({ name: f.name, object: f.object, irPerQuery: queries > 0 ? f.selfIr / queries : 0 }));
}

/**
 * A JavaScript function's name as two builds of the same code share it: V8's perf map says
 * `JS:*forward file:///…/proxy/dist/athena.js:23034:10`, whose tier marker (* optimised, ^
 * baseline, ~ interpreted), checkout path and line move between base and head; what stays is the
 * function and its file's name: `JS forward (athena.js)`. Other names are kept as they are.
 */
export function comparableName(name: string): string {
  const match = /^JS:[*^~+-]?(\S*) (.*?)(?::\d+:\d+)?$/.exec(name);
  if (!match) return name;
  const file = match[2]!.split('/').at(-1) || match[2]!;
  return `JS ${match[1] || '(anonymous)'} (${file})`;
}

/**
 * Copies a dump with its JIT addresses (`fn=0x…`, `cfn=0x…`) replaced by V8's names, so KCachegrind
 * or a flame-graph converter shows JavaScript functions. Strings must be uncompressed (the work
 * channel runs callgrind with --compress-strings=no).
 */
export function writeSymbolizedDump(source: string, target: string, perfMap: PerfMap | undefined): void {
  const text = readFileSync(source, 'utf8');
  const out = perfMap
    ? text.replace(/^(c?fn=)(0x[0-9a-fA-F]+)$/gm, (_, key: string, address: string) => {
        const name = perfMap.symbolize(address);
        return `${key}${name === address ? address : `${name} [${address}]`}`;
      })
    : text;
  writeFileSync(target, out);
}

export interface FunctionDelta {
  name: string;
  object: string;
  base: number;
  head: number;
  delta: number;
}

/** The functions whose self instructions per query grew (or shrank) most from base to head. */
export function functionDeltas(
  base: readonly FunctionPerQuery[],
  head: readonly FunctionPerQuery[],
  limit = 10,
): FunctionDelta[] {
  const key = (f: FunctionPerQuery) => `${f.object}\u0000${f.name}`;
  const all = new Map<string, FunctionDelta>();
  for (const f of base)
    all.set(key(f), { name: f.name, object: f.object, base: f.irPerQuery, head: 0, delta: 0 });
  for (const f of head) {
    const entry = all.get(key(f)) ?? { name: f.name, object: f.object, base: 0, head: 0, delta: 0 };
    entry.head = f.irPerQuery;
    all.set(key(f), entry);
  }
  for (const entry of all.values()) entry.delta = entry.head - entry.base;
  return [...all.values()].sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta)).slice(0, limit);
}
