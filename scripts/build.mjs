// Bundles the three entry points with esbuild: the Action (dist/index.js), the CLI (dist/cli.js)
// and the proxy (proxy/dist/athena.js). Output is deterministic so `check-dist` can diff it.
import { build } from 'esbuild';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const proxyOnly = process.argv.includes('--proxy-only');

// mysql2 and @actions/* are CommonJS inside: give the ESM bundle a real `require` for them.
const requireShim =
  "import { createRequire as __athenaCreateRequire } from 'node:module';\nconst require = __athenaCreateRequire(import.meta.url);";

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  legalComments: 'none',
  logLevel: 'warning',
  absWorkingDir: root,
};

const targets = [
  {
    entryPoints: ['proxy/src/main.ts'],
    outfile: 'proxy/dist/athena.js',
    banner: { js: `#!/usr/bin/env node\n${requireShim}` },
  },
];
if (!proxyOnly) {
  targets.push(
    { entryPoints: ['src/index.ts'], outfile: 'dist/index.js', banner: { js: requireShim } },
    {
      entryPoints: ['src/cli.ts'],
      outfile: 'dist/cli.js',
      banner: { js: `#!/usr/bin/env node\n${requireShim}` },
    },
  );
}

// Each bundle is written to a temp file and renamed into place: tests and benchmark runs start
// proxy/dist/athena.js while another process may be rebuilding it, and must never read half a file.
async function buildAtomically(target) {
  const result = await build({ ...common, ...target, write: false });
  const outfile = path.join(root, target.outfile);
  const output = result.outputFiles.find((f) => f.path === outfile) ?? result.outputFiles[0];
  const temp = `${outfile}.${process.pid}.tmp`;
  await mkdir(path.dirname(outfile), { recursive: true });
  await writeFile(temp, output.contents, { mode: target.banner.js.startsWith('#!') ? 0o755 : 0o644 });
  await rename(temp, outfile);
}

await Promise.all(targets.map(buildAtomically));
