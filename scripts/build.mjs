// Bundles the three entry points with esbuild: the Action (dist/index.js), the CLI (dist/cli.js)
// and the proxy (proxy/dist/athena.js). Output is deterministic so `check-dist` can diff it.
import { build } from 'esbuild';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLES, bundleOptions } from './bundles.mjs';

const proxyOnly = process.argv.includes('--proxy-only');
const targets = proxyOnly ? ['proxy'] : ['proxy', 'action', 'cli'];

// Each bundle is written to a temp file and renamed into place: tests and benchmark runs start
// proxy/dist/athena.js while another process may be rebuilding it, and must never read half a file.
async function buildAtomically(name) {
  const options = bundleOptions(name);
  const result = await build({ ...options, write: false });
  const output = result.outputFiles.find((f) => f.path === options.outfile) ?? result.outputFiles[0];
  const temp = `${options.outfile}.${process.pid}.tmp`;
  await mkdir(path.dirname(options.outfile), { recursive: true });
  await writeFile(temp, output.contents, { mode: BUNDLES[name].executable ? 0o755 : 0o644 });
  await rename(temp, options.outfile);
}

await Promise.all(targets.map(buildAtomically));
