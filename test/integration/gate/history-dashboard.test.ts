// `athena-bench history show`: the static dashboard, checked as text and rendered in headless Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { historyCommand } from '../../../src/cli/history.ts';
import { writeSuiteHistory } from '../../../src/history/store.ts';
import { CHROMIUM, chromium, pageErrors, pngStats } from '../../helpers/chromium.ts';
import { syntheticHistory, syntheticSeries, syntheticSha } from '../../helpers/series.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'history-dashboard-'));
});
after(async () => {
  // KEEP_TEST_ARTIFACTS=1 keeps the page and its screenshot to look at.
  if (process.env.KEEP_TEST_ARTIFACTS !== '1') await rm(dir, { recursive: true, force: true });
});

/** A store with a stepped CPU series, a noise-free count with two steps and a flat noisy TPS. */
async function writeDashboard(): Promise<string> {
  const store = path.join(dir, 'store');
  await writeSuiteHistory(
    store,
    syntheticHistory('default', {
      cpu_us_per_query: syntheticSeries({
        length: 40,
        noise: 0.01,
        seed: 3,
        step: 0.05,
        stepAt: 22,
        level: 50,
      }),
      instructions_per_query: [
        ...Array(12).fill(41_000),
        ...Array(14).fill(43_500),
        ...Array(14).fill(42_000),
      ],
      tps: syntheticSeries({ length: 40, noise: 0.08, seed: 4, level: 1200 }),
    }),
  );
  const out = path.join(dir, 'dashboard.html');
  let stdout = '';
  const code = await historyCommand(['show', '--store', store, '--html', out], {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stdout += s),
    env: {},
    cwd: dir,
  });
  assert.equal(code, 0, stdout);
  assert.match(stdout, /wrote .*dashboard\.html: 1 suite\(s\), 3 change point\(s\)/);
  return out;
}

test('the dashboard is one self-contained page: a chart per series, change points marked, commits on hover', async () => {
  const html = await readFile(await writeDashboard(), 'utf8');
  assert.ok(
    !/<script|<link|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html),
    'nothing fetched at view time',
  );
  assert.equal(html.match(/<svg /g)?.length, 3, 'one chart per series');
  assert.equal(html.match(/class="marker"/g)?.length, 3, 'one marker per change point');
  assert.match(html, new RegExp(`<title>change point at ${syntheticSha(22).slice(0, 7)}: \\+[45]\\.\\d\\d%`));
  // Every point's dot names its commit on hover.
  for (let i = 0; i < 40; i++)
    assert.ok(html.includes(`<title>${syntheticSha(i).slice(0, 7)} · `), `point ${i}`);
  assert.match(html, /<td>cpu_us_per_query<\/td>.*worse/);
  // The work channel's counts come first, whatever the store's order.
  const titles = [...html.matchAll(/class="chart-title">([^<]+)</g)].map((m) => m[1]);
  assert.deepEqual(titles, [
    'instructions/query (instr) — proxy',
    'proxy CPU/query (µs) — proxy',
    'TPS (tx/s) — proxy',
  ]);
});

test(
  'headless Chromium renders the dashboard without console errors, charts and markers drawn',
  { skip: !existsSync(CHROMIUM) && 'chromium not installed' },
  async (t) => {
    const url = `file://${await writeDashboard()}`;
    const dom = await chromium(dir, ['--dump-dom', url]);
    assert.deepEqual(pageErrors(dom.stderr), []);
    assert.equal(dom.stdout.match(/<svg /g)?.length, 3, 'every chart is in the rendered DOM');
    assert.equal(dom.stdout.match(/<circle /g)?.length, 3 * 40, 'every point is drawn');

    const shot = path.join(dir, 'dashboard.png');
    const run = await chromium(dir, ['--window-size=1280,1400', `--screenshot=${shot}`, url]);
    assert.deepEqual(pageErrors(run.stderr), []);
    t.diagnostic(`screenshot: ${shot}`);
    const stats = pngStats(await readFile(shot), 0xd62728);
    assert.equal(stats.width, 1280);
    assert.ok(stats.colors > 50, `colours ${stats.colors}`);
    assert.ok(stats.nonWhiteShare > 0.03, `non-white share ${stats.nonWhiteShare}`);
    // The change-point lines and the "worse" label are the only red on the page; the label alone
    // made 118 such pixels, with the lines there were 470.
    assert.ok(stats.nearCount > 300, `red pixels ${stats.nearCount}`);
    t.diagnostic(`red pixels: ${stats.nearCount}`);
  },
);
