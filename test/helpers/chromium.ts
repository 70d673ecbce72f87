// Headless Chromium for page tests: run it on a file, catch the page's own errors, check a screenshot.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { inflateSync } from 'node:zlib';

export const CHROMIUM = '/usr/bin/chromium';

/** Runs headless Chromium with a fresh profile under `dir`. */
export function chromium(dir: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
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
export function pageErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => /Uncaught|:CONSOLE\(\d+\)\]|Failed to load resource/.test(l));
}

/**
 * Decodes an 8-bit RGB/RGBA PNG (what Chromium writes) into pixel statistics; `near` counts the
 * pixels within 40 (per channel) of the colour 0xRRGGBB, when given.
 */
export function pngStats(
  png: Buffer,
  near?: number,
): { width: number; height: number; nonWhiteShare: number; colors: number; nearCount: number } {
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
  let nearCount = 0;
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
      if (
        near !== undefined &&
        Math.abs(r - (near >> 16)) <= 40 &&
        Math.abs(g - ((near >> 8) & 0xff)) <= 40 &&
        Math.abs(bl - (near & 0xff)) <= 40
      )
        nearCount++;
    }
    cur.copy(prev);
  }
  return { width, height, nonWhiteShare: nonWhite / (width * height), colors: colors.size, nearCount };
}
