// Draws the import picture of the code: every non-test file under src/, proxy/src/ and scripts/ and the
// relative imports between them (type-only imports too: a type is a dependency as well).
//   rooms   the folders (src/report, src/gate, …; a subfolder is part of its folder's room)
//   floors  a topological order of the rooms: a room sits above every room it imports; rooms that
//           import one another can't all be ordered, so the order chosen is the one with the
//           fewest imports against it
//   back-arrows  imports from a room to a room on a floor above it (or on its own floor, another
//           room): the imports the order could not put downhill
//   circles  groups of files that import one another (a strongly connected set of two or more
//           files, or a file importing itself)
// Usage: node scripts/import-graph.mjs [--json] [--check] [dirs…]   (dirs default: src proxy/src scripts)
//   --check  exit 1 when there is a back-arrow or a circle
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const asJson = args.includes('--json');
const check = args.includes('--check');
const dirs = args.filter((a) => !a.startsWith('--'));
const scanned = dirs.length > 0 ? dirs : ['src', 'proxy/src', 'scripts'];

const SOURCE = /\.(?:ts|mts|mjs|js)$/;
const SKIPPED = /\.test\.ts$|\.d\.mts$|\.d\.ts$/;

function walk(dir) {
  const found = [];
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...walk(rel));
    else if (SOURCE.test(entry.name) && !SKIPPED.test(entry.name)) found.push(rel);
  }
  return found;
}

/** The relative specifiers a file imports, each marked type-only or not. */
function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = [];
  const statement = /(?:^|[;\n])\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/g;
  for (const m of code.matchAll(statement)) {
    const clause = m[3];
    const named = /^\{([\s\S]*)\}$/.exec(clause.trim());
    const allTypes =
      named !== null &&
      named[1].split(',').filter((s) => s.trim() !== '').length > 0 &&
      named[1]
        .split(',')
        .filter((s) => s.trim() !== '')
        .every((s) => /^\s*type\s/.test(s));
    found.push({ spec: m[4], typeOnly: Boolean(m[2]) || allTypes });
  }
  for (const m of code.matchAll(/(?:^|[;\n])\s*import\s*['"]([^'"]+)['"]/g))
    found.push({ spec: m[1], typeOnly: false });
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    found.push({ spec: m[1], typeOnly: false });
  return found.filter((i) => i.spec.startsWith('.'));
}

function resolve(from, spec) {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  for (const candidate of [base, `${base}.ts`, `${base}/index.ts`, `${base}.mjs`]) {
    const full = path.join(root, candidate);
    if (existsSync(full) && statSync(full).isFile()) return candidate;
  }
  return base;
}

const files = scanned.flatMap(walk).sort();
/** A file's room: its top folder (src/drivers/sysbench/parse.ts is in src/drivers). */
const roomOf = (file) => path.posix.dirname(file).split('/').slice(0, 2).join('/');
/** file -> [{ to, typeOnly }] */
const edges = new Map();
for (const file of files) {
  const text = readFileSync(path.join(root, file), 'utf8');
  const seen = new Map();
  for (const { spec, typeOnly } of importsOf(text)) {
    const to = resolve(file, spec);
    seen.set(to, (seen.get(to) ?? true) && typeOnly);
  }
  edges.set(
    file,
    [...seen].map(([to, typeOnly]) => ({ to, typeOnly })),
  );
}

/** Tarjan's strongly connected components of a graph given as node -> successors. */
function components(nodes, next) {
  let index = 0;
  const indexOf = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const result = [];
  const visit = (v) => {
    indexOf.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next(v)) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), indexOf.get(w)));
    }
    if (low.get(v) === indexOf.get(v)) {
      const group = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      result.push(group.sort());
    }
  };
  for (const v of nodes) if (!indexOf.has(v)) visit(v);
  return result; // in reverse topological order: a component comes after those it reaches
}

// Circles: files that import one another.
const fileNodes = [...new Set([...files, ...[...edges.values()].flat().map((e) => e.to)])];
const nextFiles = (f) => (edges.get(f) ?? []).map((e) => e.to);
const circles = components(fileNodes, nextFiles).filter(
  (group) => group.length > 1 || nextFiles(group[0]).includes(group[0]),
);

// Rooms and the imports between them.
const roomEdges = new Map(); // "a -> b" -> [{ from, to, typeOnly }]
for (const [from, list] of edges) {
  for (const e of list) {
    const a = roomOf(from);
    const b = roomOf(e.to);
    if (a === b) continue;
    const key = `${a}\0${b}`;
    if (!roomEdges.has(key)) roomEdges.set(key, []);
    roomEdges.get(key).push({ from, ...e });
  }
}
const rooms = [...new Set(fileNodes.map(roomOf))].sort();
const weight = (a, b) => roomEdges.get(`${a}\0${b}`)?.length ?? 0;
const nextRooms = (r) => rooms.filter((s) => s !== r && weight(r, s) > 0);

/** The order of a group of rooms (lowest first) with the fewest imports pointing up it. */
function bestOrder(group) {
  if (group.length === 1) return group;
  const cost = (order) => {
    let c = 0;
    for (let i = 0; i < order.length; i++)
      for (let j = i + 1; j < order.length; j++) c += weight(order[i], order[j]);
    return c;
  };
  if (group.length <= 8) {
    let best = null;
    let bestCost = Infinity;
    const permute = (prefix, rest) => {
      if (rest.length === 0) {
        const c = cost(prefix);
        if (c < bestCost) [best, bestCost] = [prefix, c];
        return;
      }
      for (let i = 0; i < rest.length; i++)
        permute([...prefix, rest[i]], [...rest.slice(0, i), ...rest.slice(i + 1)]);
    };
    permute([], group);
    return best;
  }
  // Larger groups: lowest first, the room importing least of what is left.
  const left = [...group];
  const order = [];
  while (left.length > 0) {
    left.sort(
      (a, b) =>
        left.reduce((s, x) => s + weight(a, x), 0) - left.reduce((s, x) => s + weight(b, x), 0) ||
        (a < b ? -1 : 1),
    );
    order.push(left.shift());
  }
  return order;
}

const order = components(rooms, nextRooms).flatMap(bestOrder); // lowest room first
const position = new Map(order.map((r, i) => [r, i]));
const backArrows = [...roomEdges]
  .map(([key, imports]) => {
    const [from, to] = key.split('\0');
    return { from, to, imports };
  })
  .filter((e) => position.get(e.to) > position.get(e.from))
  .sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1));
const backKeys = new Set(backArrows.map((e) => `${e.from}\0${e.to}`));

// Floors: a room sits one above the highest room it imports downhill.
const floor = new Map();
for (const r of order) {
  let f = 0;
  for (const s of nextRooms(r)) if (!backKeys.has(`${r}\0${s}`)) f = Math.max(f, floor.get(s) + 1);
  floor.set(r, f);
}
const floors = [];
for (const r of order) (floors[floor.get(r)] ??= []).push(r);

const summary = {
  files: files.length,
  rooms: rooms.length,
  imports: [...edges.values()].reduce((s, l) => s + l.length, 0),
  backArrows: backArrows.length,
  backArrowImports: backArrows.reduce((s, e) => s + e.imports.length, 0),
  circles: circles.length,
};

if (asJson) {
  console.log(
    JSON.stringify(
      {
        summary,
        floors: floors.map((rs) => rs.map((r) => ({ room: r, imports: nextRooms(r) }))),
        backArrows,
        circles,
      },
      null,
      2,
    ),
  );
} else {
  const out = [];
  out.push(`Floors (top first; a room imports only rooms below it, but for the back-arrows):`);
  for (let f = floors.length - 1; f >= 0; f--) {
    out.push(`  ${String(f).padStart(2)}  ${floors[f].join('  ')}`);
    for (const r of floors[f]) {
      const below = nextRooms(r).filter((s) => !backKeys.has(`${r}\0${s}`));
      if (below.length > 0) out.push(`        ${r} -> ${below.join(', ')}`);
    }
  }
  out.push('', `Back-arrows (${backArrows.length}, carried by ${summary.backArrowImports} imports):`);
  for (const e of backArrows) {
    out.push(`  ${e.from} -> ${e.to}`);
    for (const i of e.imports) out.push(`      ${i.from} -> ${i.to}${i.typeOnly ? ' (types)' : ''}`);
  }
  out.push('', `Circles (${circles.length}):`);
  for (const group of circles) out.push(`  ${group.join(' <-> ')}`);
  out.push(
    '',
    `${summary.files} files in ${summary.rooms} rooms, ${summary.imports} imports: ` +
      `${summary.backArrows} back-arrows (${summary.backArrowImports} imports), ${summary.circles} circles`,
  );
  console.log(out.join('\n'));
}
if (check && (summary.backArrows > 0 || summary.circles > 0)) process.exit(1);
