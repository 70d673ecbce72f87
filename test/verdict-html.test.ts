import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { baselineFromResults } from '../src/verdict/baseline.ts';
import { compareToBaseline } from '../src/verdict/compare.ts';
import { renderHtmlReport } from '../src/verdict/html.ts';
import { niceTicks } from '../src/verdict/svg.ts';
import { armsFor, makeResults } from './verdict-fixtures.ts';

const CHROMIUM = '/usr/bin/chromium';
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'verdict-html-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function chromium(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const profile = path.join(dir, `profile-${Math.random().toString(36).slice(2)}`);
  const base = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${profile}`,
    '--enable-logging=stderr',
    '--v=0',
  ];
  return new Promise((resolve, reject) => {
    execFile(
      CHROMIUM,
      [...base, ...args],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
  });
}

/** Lines where the page itself reported a problem: uncaught exceptions and console messages. */
function pageErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /Uncaught|:CONSOLE\(\d+\)\]|Failed to load resource/.test(l));
}

/** Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) into pixel statistics. */
function pngStats(png: Buffer): { width: number; height: number; nonWhiteShare: number; colors: number } {
  assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8).toString('latin1');
    const data = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth');
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(channels > 0, `colour type ${data[9]}`);
    } else if (type === 'IDAT') idat.push(data);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const prev = Buffer.alloc(stride);
  const cur = Buffer.alloc(stride);
  let nonWhite = 0;
  const colors = new Set<number>();
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? cur[x - channels]! : 0;
      const b = prev[x]!;
      const c = x >= channels ? prev[x - channels]! : 0;
      let v = line[x]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[x] = v & 0xff;
    }
    for (let x = 0; x < width; x++) {
      const r = cur[x * channels]!;
      const g = cur[x * channels + 1]!;
      const bl = cur[x * channels + 2]!;
      if (r < 245 || g < 245 || bl < 245) nonWhite++;
      colors.add((r << 16) | (g << 8) | bl);
    }
    cur.copy(prev);
  }
  return { width, height, nonWhiteShare: nonWhite / (width * height), colors: colors.size };
}

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
    const brokenRun = await chromium(['--dump-dom', `file://${broken}`]);
    assert.ok(pageErrors(brokenRun.stderr).length > 0, `detector missed the error:\n${brokenRun.stderr}`);

    const dom = await chromium(['--dump-dom', url]);
    assert.deepEqual(pageErrors(dom.stderr), []);
    assert.equal(dom.stdout.match(/<svg /g)?.length, 16, 'every SVG chart is in the rendered DOM');

    const shot = path.join(dir, 'shot.png');
    const run = await chromium(['--window-size=1280,2000', `--screenshot=${shot}`, url]);
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
