// The esbuild settings of this repository's three bundles, in one place: scripts/build.mjs writes
// them to dist/ and proxy/dist/, and the end-to-end tests bundle the same entry points into temp
// files with exactly these settings.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// mysql2 and @actions/* are CommonJS inside: give the ESM bundle a real `require` for them.
const requireShim =
  "import { createRequire as __athenaCreateRequire } from 'node:module';\nconst require = __athenaCreateRequire(import.meta.url);";

/** The bundles by name: entry point, committed output path, and whether it is an executable. */
export const BUNDLES = {
  proxy: { entry: 'proxy/src/main.ts', outfile: 'proxy/dist/athena.js', executable: true },
  action: { entry: 'src/index.ts', outfile: 'dist/index.js', executable: false },
  cli: { entry: 'src/cli.ts', outfile: 'dist/cli.js', executable: true },
};

/** esbuild options for bundle `name`, written to `outfile` (absolute, or relative to the repo). */
export function bundleOptions(name, outfile = BUNDLES[name].outfile) {
  const bundle = BUNDLES[name];
  return {
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    legalComments: 'none',
    logLevel: 'warning',
    absWorkingDir: repoRoot,
    entryPoints: [bundle.entry],
    outfile: path.resolve(repoRoot, outfile),
    banner: { js: bundle.executable ? `#!/usr/bin/env node\n${requireShim}` : requireShim },
  };
}
