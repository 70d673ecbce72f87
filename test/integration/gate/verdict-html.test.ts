import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { baselineFromResults } from '../../../src/verdict/baseline.ts';
import { compareToBaseline } from '../../../src/verdict/compare.ts';
import { renderHtmlReport } from '../../../src/report/html.ts';
import { niceTicks } from '../../../src/report/svg.ts';
import { CHROMIUM, chromium, pageErrors, pngStats } from '../../helpers/chromium.ts';
import { armsFor, makeResults } from '../../helpers/results.ts';

let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'verdict-html-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function reportHtml(): string {
  const ids = ['oltp_read_write', 'oltp_insert'];
  const mk = (seed: number, slowdown: number, commit: string) =>
    makeResults({
      commit,
      workloads: ids.map((id, i) => ({
        id,
        arms: armsFor(8, {
          tps: 1000 + 100 * i,
          seed: seed + i,
          spread: 0.03,
          slowdown: id === 'oltp_insert' ? slowdown : 0,
        }),
      })),
    });
  const history = [
    baselineFromResults(mk(1, 0, 'aaaaaaa1'), { date: '2026-11-01T00:00:00Z' }),
    baselineFromResults(mk(5, 0.02, 'bbbbbbb2'), { date: '2026-11-10T00:00:00Z' }),
  ];
  const current = mk(20, 0.2, 'ddddddd4');
  return renderHtmlReport(current, compareToBaseline(history[1]!, current), history);
}

test('nice ticks cover the data', () => {
  assert.deepEqual(niceTicks(903, 1261, 5), [900, 1000, 1100, 1200, 1300]);
  assert.deepEqual(niceTicks(-12, 7, 4), [-15, -10, -5, 0, 5, 10]);
  const flat = niceTicks(5, 5);
  assert.ok(flat[0]! < 5 && flat[flat.length - 1]! > 5);
});

test('the page is self-contained and has the charts', () => {
  const html = reportHtml();
  assert.ok(
    !/<script|<link|@import|url\(|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html),
    'nothing fetched at view time',
  );
  // Per workload: 2 interval charts + 4 per-round charts + 2 history charts.
  assert.equal(html.match(/<svg /g)?.length, 2 * 8);
  assert.match(html, /TPS over history \(medians\)/);
  assert.match(html, /<span class="badge regressed">regressed<\/span>/);
});

test(
  'headless Chromium renders it without console errors, and the screenshot shows charts',
  { skip: !existsSync(CHROMIUM) && 'chromium not installed' },
  async () => {
    const file = path.join(dir, 'report.html');
    await writeFile(file, reportHtml());
    const url = `file://${file}`;

    // The error detector is real: a page with a script error is caught.
    const broken = path.join(dir, 'broken.html');
    await writeFile(broken, '<!doctype html><html><body><script>undefinedFunction()</script></body></html>');
    const brokenRun = await chromium(dir, ['--dump-dom', `file://${broken}`]);
    assert.ok(pageErrors(brokenRun.stderr).length > 0, `detector missed the error:\n${brokenRun.stderr}`);

    const dom = await chromium(dir, ['--dump-dom', url]);
    assert.deepEqual(pageErrors(dom.stderr), []);
    assert.equal(dom.stdout.match(/<svg /g)?.length, 16, 'every SVG chart is in the rendered DOM');

    const shot = path.join(dir, 'shot.png');
    const run = await chromium(dir, ['--window-size=1280,2000', `--screenshot=${shot}`, url]);
    assert.deepEqual(pageErrors(run.stderr), []);
    const png = await readFile(shot);
    const stats = pngStats(png);
    assert.equal(stats.width, 1280);
    // A blank page is one colour; text-only pages are mostly white. The charts add coloured lines,
    // bands and dots: many colours and a visible share of non-white pixels.
    assert.ok(stats.colors > 50, `colours ${stats.colors}`);
    assert.ok(stats.nonWhiteShare > 0.05, `non-white share ${stats.nonWhiteShare}`);
  },
);

/** A script for a copy of the page: every <text> whose rendered box leaves its <svg>'s box. */
const OVERFLOW_PROBE = `<script>
const out = { texts: 0, overflowing: [] };
for (const svg of document.querySelectorAll('svg')) {
  const box = svg.getBoundingClientRect();
  for (const t of svg.querySelectorAll('text')) {
    out.texts++;
    const r = t.getBoundingClientRect();
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
      out.overflowing.push(t.textContent + ': ' + [r.left - box.left, r.right - box.right].map(Math.round).join(' .. '));
    }
  }
}
const pre = document.createElement('pre');
pre.id = 'overflow';
pre.textContent = encodeURIComponent(JSON.stringify(out));
document.body.append(pre);
</script>`;

test(
  'in Chromium no chart text overflows its chart, the longest metric label included',
  { skip: !existsSync(CHROMIUM) && 'chromium not installed' },
  async () => {
    const html = reportHtml();
    assert.match(html, /proxy CPU\/query, machine-normalised/);
    const file = path.join(dir, 'probed.html');
    await writeFile(file, html.replace('</body>', `${OVERFLOW_PROBE}</body>`));
    const dom = await chromium(dir, ['--window-size=1280,2000', '--dump-dom', `file://${file}`]);
    const encoded = /<pre id="overflow">([^<]*)<\/pre>/.exec(dom.stdout)?.[1];
    assert.ok(encoded, `the probe ran:\n${dom.stderr}`);
    const result = JSON.parse(decodeURIComponent(encoded)) as { texts: number; overflowing: string[] };
    assert.ok(result.texts > 100, `texts measured: ${result.texts}`);
    assert.deepEqual(result.overflowing, []);
  },
);
