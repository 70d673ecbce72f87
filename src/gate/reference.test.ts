import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Environment } from '../results/schema.ts';
import { loadSuite } from '../suite/load.ts';
import type { Baseline } from '../verdict/baseline.ts';
import { BASE_ENVIRONMENT } from '../../test/helpers/results.ts';
import { chooseReference, type ReferenceDeps, type ReferenceRequest } from './reference.ts';

const HEAD = 'a'.repeat(40);
const MERGE_BASE = 'c'.repeat(40);
const CHECKOUT = '/src/proxy';
const DEFAULT = '/src/proxy/baselines/quick.json';
const suite = await loadSuite('quick');

/** A baseline of the time channel, or of both channels with counts. */
function baseline(environment: Partial<Environment> = {}, counts = false): Baseline {
  const metrics = counts
    ? { tps: { samples: [1], median: 1 }, instructions_per_query: { samples: [1], median: 1 } }
    : { tps: { samples: [1], median: 1 } };
  return {
    environment: { ...BASE_ENVIRONMENT, ...environment },
    workloads: [{ id: 'select', arms: { proxy: { role: 'proxy', metrics } } }],
  } as unknown as Baseline;
}

function request(overrides: Partial<ReferenceRequest> = {}): ReferenceRequest {
  return {
    suite,
    measure: 'time',
    baseRef: null,
    baseline: null,
    noBaseline: false,
    defaultBaselines: [{ file: DEFAULT, forAthena: false }],
    athena: true,
    proxyDir: CHECKOUT,
    fallback: { kind: 'head' },
    names: { baseRef: '--base-ref', baseline: '--baseline', makeBaseline: 'make one' },
    ...overrides,
  };
}

/** Fake git (a checkout at CHECKOUT, or none), fake files and this runner's fingerprint. */
function fakes(
  opts: { files?: Record<string, Baseline>; runner?: Partial<Environment>; inGit?: boolean } = {},
) {
  const log: string[] = [];
  const git: string[] = [];
  const files = opts.files ?? {};
  const deps: ReferenceDeps = {
    git: {
      toplevel: async () => (opts.inGit === false ? null : CHECKOUT),
      resolveCommit: async (_root, ref) => {
        git.push(`resolve:${ref}`);
        if (ref === 'nope') throw new Error('unknown revision');
        return ref === MERGE_BASE ? MERGE_BASE : HEAD;
      },
      mergeBase: async (_root, a, b) => {
        git.push(`merge-base:${a}:${b}`);
        return MERGE_BASE;
      },
    },
    loadBaseline: async (file) => files[file]!,
    fingerprint: async () => ({ ...BASE_ENVIRONMENT, ...opts.runner }),
    log: (line) => log.push(line),
    exists: (file) => file in files,
  };
  return { deps, log, git };
}

test('an explicit base-ref wins over any baseline: base-vs-head against its commit', async () => {
  const f = fakes({ files: { [DEFAULT]: baseline() } });
  const chosen = await chooseReference(request({ baseRef: 'origin/main', baseline: DEFAULT }), f.deps);
  assert.deepEqual(chosen.reference, {
    kind: 'base-ref',
    ref: 'origin/main',
    commit: HEAD,
    headArm: 'proxy',
    baseArm: 'base',
  });
  assert.equal(chosen.checkout, CHECKOUT);
  await assert.rejects(
    chooseReference(request({ baseRef: 'nope' }), f.deps),
    /--base-ref nope: not a commit in \/src\/proxy/,
  );
});

test('an explicit baseline is used as asked, whatever the fingerprint; a missing one names the input', async () => {
  const f = fakes({ files: { '/b.json': baseline({ cpuModel: 'elsewhere' }) } });
  const chosen = await chooseReference(request({ baseline: '/b.json' }), f.deps);
  assert.equal(chosen.reference.kind, 'baseline');
  await assert.rejects(
    chooseReference(request({ baseline: '/absent.json' }), f.deps),
    /^UsageError: --baseline: \/absent\.json does not exist \(make one\)/,
  );
});

test('the default baseline is used when the machine matches for the time channel', async () => {
  const f = fakes({ files: { [DEFAULT]: baseline() } });
  const chosen = await chooseReference(request(), f.deps);
  assert.equal(chosen.reference.kind, 'baseline');
  assert.equal(chosen.skipped, null);
});

test('another machine: skipped in one line naming the fields, base-vs-head against HEAD in a checkout', async () => {
  const f = fakes({ files: { [DEFAULT]: baseline() }, runner: { cpuModel: 'Other CPU', cores: 4 } });
  const chosen = await chooseReference(request(), f.deps);
  assert.equal(chosen.reference.kind, 'base-ref');
  assert.equal(chosen.reference.kind === 'base-ref' && chosen.reference.ref, 'HEAD');
  const lines = f.log.filter((l) => l.includes('not used'));
  assert.equal(lines.length, 1);
  assert.match(
    lines[0]!,
    /quick\.json not used: the machine differs \(cpuModel Test CPU @ 2\.0GHz in it, Other CPU here, cores 2 in it, 4 here\); comparing with HEAD instead/,
  );
});

test('outside git the CLI measures only; on a pull request the merge-base is the reference', async () => {
  const other = { runner: { cores: 8 }, files: { [DEFAULT]: baseline() } };
  const none = await chooseReference(request(), fakes({ ...other, inGit: false }).deps);
  assert.deepEqual(none.reference, { kind: 'none' });
  assert.match(none.skipped ?? '', /cores 2 in it, 8 here/);

  const f = fakes(other);
  const pr = await chooseReference(
    request({ fallback: { kind: 'merge-base', baseSha: 'b'.repeat(40) } }),
    f.deps,
  );
  assert.equal(pr.reference.kind === 'base-ref' && pr.reference.commit, MERGE_BASE);
  assert.deepEqual(f.git, [`merge-base:${'b'.repeat(40)}:HEAD`, `resolve:${MERGE_BASE}`]);
});

test('the work channel: the counts fingerprint decides, the machine may differ', async () => {
  const counts = baseline({ cpuModel: 'Other CPU', valgrindVersion: '3.19.0' }, true);
  const same = fakes({ files: { [DEFAULT]: counts }, runner: { valgrindVersion: '3.19.0' } });
  assert.equal((await chooseReference(request({ measure: 'work' }), same.deps)).reference.kind, 'baseline');
  assert.equal(
    (await chooseReference(request({ measure: 'both' }), same.deps)).reference.kind,
    'baseline',
    'one channel matching is enough',
  );

  const newer = fakes({ files: { [DEFAULT]: counts }, runner: { valgrindVersion: '3.22.0' } });
  const chosen = await chooseReference(request({ measure: 'both' }), newer.deps);
  assert.equal(chosen.reference.kind, 'base-ref');
  assert.match(
    chosen.skipped ?? '',
    /the counts' software differs \(valgrindVersion 3\.19\.0 in it, 3\.22\.0 here\); the machine differs \(cpuModel/,
  );

  const timeOnly = fakes({ files: { [DEFAULT]: baseline() } });
  const work = await chooseReference(request({ measure: 'work' }), timeOnly.deps);
  assert.match(work.skipped ?? '', /it holds no work-channel counts/);
});

test("a custom proxy skips athena-bench's own baseline, not the project's; --no-baseline measures only", async () => {
  const files = { [DEFAULT]: baseline() };
  const athenas = await chooseReference(
    request({ athena: false, defaultBaselines: [{ file: DEFAULT, forAthena: true }] }),
    fakes({ files }).deps,
  );
  assert.match(athenas.skipped ?? '', /recorded for this repository's Athena/);
  assert.equal(athenas.reference.kind, 'base-ref');
  const own = await chooseReference(request({ athena: false }), fakes({ files }).deps);
  assert.equal(own.reference.kind, 'baseline');
  const none = await chooseReference(request({ noBaseline: true }), fakes({ files }).deps);
  assert.deepEqual(none, { reference: { kind: 'none' }, checkout: null, skipped: null });
});

test('no default baseline: base-vs-head against HEAD without a skip line', async () => {
  const f = fakes();
  const chosen = await chooseReference(request(), f.deps);
  assert.equal(chosen.reference.kind, 'base-ref');
  assert.equal(chosen.skipped, null);
  assert.ok(!f.log.some((l) => l.includes('not used')));
});

test('a door may decline the HEAD fallback, saying why in one line', async () => {
  const f = fakes();
  const chosen = await chooseReference(
    request({ fallback: { kind: 'none', why: 'it cannot run twice' } }),
    f.deps,
  );
  assert.deepEqual(chosen.reference, { kind: 'none' });
  assert.deepEqual(f.log, ['no comparison: it cannot run twice']);
});
