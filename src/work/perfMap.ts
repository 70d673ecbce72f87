/**
 * JIT symbol maps in the perf format (`/tmp/perf-<pid>.map`, one `START SIZE name` line per code
 * object, hex without 0x), as V8 writes them with --perf-basic-prof. Callgrind names code without
 * symbols by its entry address; the map turns those addresses into JavaScript function names.
 */

export interface PerfMapEntry {
  start: bigint;
  end: bigint;
  name: string;
}

export class PerfMap {
  private constructor(private readonly entries: PerfMapEntry[]) {}

  static parse(text: string): PerfMap {
    const entries: PerfMapEntry[] = [];
    for (const line of text.split('\n')) {
      const match = /^([0-9a-fA-F]+)\s+([0-9a-fA-F]+)\s+(.+)$/.exec(line.trim());
      if (!match) continue;
      const start = BigInt(`0x${match[1]}`);
      entries.push({ start, end: start + BigInt(`0x${match[2]}`), name: match[3]!.trim() });
    }
    // Code moves and addresses are reused: for entries at one address the later line is the live one
    // (the lookup takes the last entry starting at or below an address).
    const ordered = entries
      .map((entry, line) => ({ entry, line }))
      .sort((a, b) =>
        a.entry.start < b.entry.start ? -1 : a.entry.start > b.entry.start ? 1 : a.line - b.line,
      )
      .map((e) => e.entry);
    return new PerfMap(ordered);
  }

  get size(): number {
    return this.entries.length;
  }

  /** The code object containing the address, or null. */
  lookup(address: bigint): string | null {
    let low = 0;
    let high = this.entries.length - 1;
    let found: PerfMapEntry | null = null;
    while (low <= high) {
      const mid = (low + high) >> 1;
      const entry = this.entries[mid]!;
      if (entry.start <= address) {
        found = entry;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    return found !== null && address < found.end ? found.name : null;
  }

  /** A callgrind function name with its `0x…` address replaced by the JIT name, when known. */
  symbolize(name: string): string {
    if (!/^0x[0-9a-fA-F]+$/.test(name)) return name;
    return this.lookup(BigInt(name)) ?? name;
  }
}
