// Bundles the three entry points with esbuild: the Action (dist/index.js), the CLI (dist/cli.js)
// and the proxy (proxy/dist/athena.js), and writes the suite files' JSON Schema
// (dist/suite.schema.json, generated from the zod schema). Output is deterministic so `check-dist`
// can diff it.
import { build } from 'esbuild';
import { Buffer } from 'node:buffer';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLES, bundleOptions, repoRoot } from './bundles.mjs';

const proxyOnly = process.argv.includes('--proxy-only');
const targets = proxyOnly ? ['proxy'] : ['proxy', 'action', 'cli'];

// Each bundle is written to a temp file and renamed into place: tests and benchmark runs start
// proxy/dist/athena.js while another process may be rebuilding it, and must never read half a file.
async function buildAtomically(name) {
  const options = bundleOptions(name);
  const result = await build({ ...options, write: false });
  const output = result.outputFiles.find((f) => f.path === options.outfile) ?? result.outputFiles[0];
  await writeAtomically(options.outfile, output.contents, BUNDLES[name].executable ? 0o755 : 0o644);
}

async function writeAtomically(file, contents, mode = 0o644) {
  const temp = `${file}.${process.pid}.tmp`;
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(temp, contents, { mode });
  await rename(temp, file);
}

// The schema module is bundled in memory and imported, so the build needs no TypeScript loader.
async function writeSuiteSchema() {
  const result = await build({
    ...bundleOptions('cli'),
    entryPoints: ['src/suite/jsonSchema.ts'],
    banner: {},
    outfile: undefined,
    write: false,
  });
  const code = Buffer.from(result.outputFiles[0].contents).toString('base64');
  const schema = await import(`data:text/javascript;base64,${code}`);
  await writeAtomically(path.join(repoRoot, schema.SUITE_SCHEMA_PATH), schema.renderSuiteJsonSchema());
}

await Promise.all([...targets.map(buildAtomically), ...(proxyOnly ? [] : [writeSuiteSchema()])]);
