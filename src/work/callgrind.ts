/**
 * Reads callgrind's profile files (the "callgrind format" valgrind writes on every dump): the
 * window's total instruction count, and each function's self cost, for "where did it go".
 *
 * Two event columns are read: Ir (instructions executed, always the first) and, when the `events:`
 * line names it, sysCount (system calls, which `--collect-systime` adds: each call is counted to
 * the function that made it). Names may be compressed — `(12) name` defines id 12 in its
 * namespace, a later `(12)` refers to it — or written out; both are handled. A cost line right
 * after `calls=` is the inclusive cost of that call, already counted in the callee's own lines,
 * so it is not added to the caller's self cost.
 */

export interface FunctionCost {
  /** The function's name, or its entry address (`0x…`) when the code has no symbols (JIT code). */
  name: string;
  /** The object file (a binary or shared library), `???` for anonymous memory such as JIT code. */
  object: string;
  /** Instructions executed in the function itself (not in what it called). */
  selfIr: number;
  /** System calls the function itself made (0 when the dump has no sysCount column). */
  selfSyscalls: number;
}

export interface CallgrindProfile {
  pid: number | null;
  /** The `part:` number: which dump of the process this file is. */
  part: number | null;
  /** Instructions executed in the window (the `summary:`/`totals:` line). */
  totalIr: number;
  /**
   * System calls in the window: the sum of the functions' own (callgrind's `totals:` line; its
   * `summary:` line may differ by the call in flight at the dump), null without a sysCount column.
   */
  totalSyscalls: number | null;
  functions: FunctionCost[];
}

const NAMESPACES = new Map([
  ['ob', 'ob'],
  ['cob', 'ob'],
  ['fl', 'fl'],
  ['fi', 'fl'],
  ['fe', 'fl'],
  ['cfi', 'fl'],
  ['cfl', 'fl'],
  ['fn', 'fn'],
  ['cfn', 'fn'],
]);

class NameTable {
  private readonly tables = new Map<string, Map<string, string>>();

  resolve(key: string, value: string): string {
    const namespace = NAMESPACES.get(key) ?? key;
    let table = this.tables.get(namespace);
    if (!table) {
      table = new Map();
      this.tables.set(namespace, table);
    }
    const match = /^\((\d+)\)(?:\s(.*))?$/.exec(value);
    if (!match) return value;
    const [, id, name] = match;
    if (name !== undefined) {
      table.set(id!, name);
      return name;
    }
    return table.get(id!) ?? `(${id})`;
  }
}

/** Parses one callgrind output file. Throws on a file that is not in the callgrind format. */
export function parseCallgrind(text: string): CallgrindProfile {
  const lines = text.split('\n');
  if (!/^(# callgrind format|version:|creator:)/.test(lines[0] ?? '')) {
    throw new Error('not a callgrind profile (expected "# callgrind format" on the first line)');
  }
  const reader = new CallgrindReader();
  for (const raw of lines) reader.line(raw.trimEnd());
  return reader.profile();
}

/** The state of one pass over a callgrind file: names, the current object and function, the header. */
class CallgrindReader {
  private readonly names = new NameTable();
  private readonly costs = new Map<string, FunctionCost>();
  private pid: number | null = null;
  private part: number | null = null;
  private total: number | null = null;
  private object = '???';
  private fn: FunctionCost | null = null;
  private callCostFollows = false;
  /** Where sysCount is among a cost line's words (the position comes first), or null. */
  private syscallColumn: number | null = null;

  line(line: string): void {
    if (line === '' || line.startsWith('#')) return;
    const first = line.charCodeAt(0);
    const isCost = (first >= 48 && first <= 57) || first === 43 || first === 45 || first === 42;
    if (isCost) return this.cost(line);
    const eq = line.indexOf('=');
    const colon = line.indexOf(':');
    if (eq > 0 && (colon < 0 || eq < colon)) this.assignment(line.slice(0, eq), line.slice(eq + 1));
    else if (colon > 0) this.header(line.slice(0, colon), line.slice(colon + 1).trim());
  }

  profile(): CallgrindProfile {
    const functions = [...this.costs.values()];
    let total = this.total;
    if (total === null || !Number.isFinite(total)) {
      total = functions.reduce((sum, f) => sum + f.selfIr, 0);
    }
    const totalSyscalls =
      this.syscallColumn === null ? null : functions.reduce((sum, f) => sum + f.selfSyscalls, 0);
    return { pid: this.pid, part: this.part, totalIr: total, totalSyscalls, functions };
  }

  /** A cost line: the current function's own, unless it is the inclusive cost of a call. */
  private cost(line: string): void {
    if (this.callCostFollows) {
      this.callCostFollows = false;
      return;
    }
    if (this.fn === null) return;
    const words = line.split(/\s+/);
    this.fn.selfIr += Number(words[1] ?? 0) || 0;
    // Trailing zero costs may be left out of a line.
    if (this.syscallColumn !== null) this.fn.selfSyscalls += Number(words[this.syscallColumn] ?? 0) || 0;
  }

  /** `ob=`, `fn=`, `calls=` and the other name specifications. */
  private assignment(key: string, value: string): void {
    if (key === 'calls') this.callCostFollows = true;
    else if (key === 'ob') this.object = this.names.resolve(key, value);
    else if (key === 'fn') this.fn = costOf(this.costs, this.names.resolve(key, value), this.object);
    else if (NAMESPACES.has(key)) this.names.resolve(key, value);
  }

  /** `pid:`, `part:`, `summary:` / `totals:` header lines. */
  private header(key: string, value: string): void {
    if (key === 'pid') this.pid = Number(value);
    else if (key === 'part') this.part = Number(value);
    else if (key === 'events') {
      const index = value.split(/\s+/).indexOf('sysCount');
      this.syscallColumn = index < 0 ? null : index + 1;
    } else if (key === 'summary' || key === 'totals') this.total ??= Number(value.split(/\s+/)[0]);
  }
}

function costOf(costs: Map<string, FunctionCost>, name: string, object: string): FunctionCost {
  const key = `${object}\u0000${name}`;
  let cost = costs.get(key);
  if (!cost) {
    cost = { name, object, selfIr: 0, selfSyscalls: 0 };
    costs.set(key, cost);
  }
  return cost;
}
