import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { findFreePort } from '../../../src/util/net.ts';
import {
  actionWorkspace,
  explain,
  mysqlInputs,
  quickSelectSuite,
  runAction,
  type ActionWorkspace,
} from '../../helpers/action.ts';

/**
 * mode calibrate through the bundled Action, on the real engine: this repository's Athena against
 * its identical twin in one run, the calibration table in the job summary and the `calibration`
 * output, and no verdict, comment or failure. The workspace is a local clone, so the builds do not
 * touch this checkout.
 */

let fixture: ActionWorkspace;

before(async () => {
  fixture = await actionWorkspace('action-e2e-calibrate-');
});
after(() => fixture?.remove());

test('mode calibrate: the A/A table in the job summary and the calibration output', async () => {
  const { tmp, workspace, bundle, server } = fixture;
  const suiteFile = path.join(tmp, 'suite.json');
  await writeFile(suiteFile, JSON.stringify(quickSelectSuite('quick-select-aa', 3, 4)));
  const eventPath = path.join(tmp, 'event.json');
  await writeFile(eventPath, JSON.stringify({ ref: 'refs/heads/main' }));
  const run = await runAction({
    bundle,
    tmp,
    name: 'calibrate',
    inputs: {
      ...mysqlInputs(server),
      mode: 'calibrate',
      suite: suiteFile,
      'results-dir': path.join(tmp, 'results'),
      'proxy-port': String(await findFreePort()),
    },
    eventName: 'push',
    eventPath,
    workspace,
    env: {
      GITHUB_REPOSITORY: 'acme/proxy',
      GITHUB_SHA: 'a'.repeat(40),
      GITHUB_API_URL: 'http://127.0.0.1:9',
    },
  });
  assert.equal(run.exitCode, 0, explain(run));
  assert.match(run.stdout, /starting arm "twin"/);
  const table =
    /\| Workload \| Metric \| A\/A Δ \| ± \(95%\) \| Samples \| Threshold \| Smallest detectable \| Samples for 5% \|/;
  assert.match(run.outputs.calibration ?? '', table);
  assert.match(run.outputs.calibration ?? '', /\| select \| TPS \| [+−±]\d+\.\d+% \|/);
  assert.match(run.outputs.summary ?? '', /^A\/A verdict: (pass|inconclusive|improved|regressed)/);
  assert.match(run.summary, /^## athena-bench: calibration\n/);
  assert.match(run.summary, table);
  assert.equal(run.outputs.verdict, undefined, 'a calibration gives no verdict');
});
