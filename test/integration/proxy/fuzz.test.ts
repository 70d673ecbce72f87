// Hostile bytes: >= 10,000 mutated and random packets against the real proxy bundle, pre-auth
// and post-auth. Parameters: FUZZ_DEFAULTS in test/helpers/fuzzer.ts, or ATHENA_FUZZ_SEED / _PACKETS /
// _CONCURRENCY for a longer soak, ATHENA_FUZZ_ONLY=N-M to replay some cases of a seed (`ATHENA_FUZZ_PACKETS=200000 node scripts/run-tests.mjs test/integration/proxy/fuzz.test.ts`).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzOptionsFromEnv, runProxyFuzz, type FuzzReport } from '../../helpers/fuzzer.ts';
import { ensureProxyBundle } from '../../helpers/proxy.ts';

const options = fuzzOptionsFromEnv(process.env);

before(() => ensureProxyBundle());

function describe(report: FuzzReport): string {
  const { proxyStderrTail, failures, ...figures } = report;
  return `${JSON.stringify(figures, null, 2)}\nfailures: ${JSON.stringify(failures, null, 2)}\nproxy stderr (tail):\n${proxyStderrTail}`;
}

test(`fuzzing the proxy with ${options.packets} packets (seed ${options.seed}): no crash, no hang, no leak`, async (t) => {
  const report = await runProxyFuzz({ ...options, log: (line) => t.diagnostic(line) });
  const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
  t.diagnostic(
    `packets ${report.packetsSent} in ${report.cases} connections (${report.preAuthCases} pre-auth, ${report.postAuthCases} post-auth), ` +
      `ERR received ${report.errPacketsReceived}, stalled handshakes dropped ${report.stallsDropped}, crashes ${report.crashes}, hangs ${report.hangs}, auth failures ${report.authFailures}, ` +
      `RSS ${mb(report.rssBeforeBytes)} -> peak ${mb(report.rssPeakBytes)} -> ${mb(report.rssAfterBytes)}, ` +
      `oversized streams refused ${report.oversized.refused}/${report.oversized.streams} (at most ${mb(report.oversized.maxBytesTaken)} accepted of 48 MB, RSS ${mb(report.oversized.rssBeforeBytes)} -> peak ${mb(report.oversized.rssPeakBytes)}), ` +
      `pre-auth flood ${report.flood.sockets} sockets: ${report.flood.greeted} greeted, ${report.flood.refused} refused, legit login ${report.flood.legitServed ? `served in ${report.flood.legitMs} ms` : 'FAILED'} (RSS peak ${mb(report.flood.rssPeakBytes)}), ` +
      `slowest /metrics ${report.slowestScrapeMs} ms (cases in flight: ${report.casesDuringSlowestScrape.join(',')}), slowest auth ${report.slowestAuthMs} ms, good client ${report.goodClient.queries} queries / ${report.goodClient.errors} errors, canary rows ${report.canaryRows}, ${report.durationMs} ms`,
  );
  const details = describe(report);
  assert.equal(report.crashes, 0, `the proxy exited\n${details}`);
  if (options.onlyCases === undefined) {
    assert.ok(report.packetsSent >= options.packets, `only ${report.packetsSent} packets sent\n${details}`);
    assert.ok(report.preAuthCases > 0 && report.postAuthCases > 0, details);
    assert.equal(report.stallsDropped, options.stallCases, `stalled handshakes not dropped\n${details}`);
    assert.ok(report.errPacketsReceived > 0, `the proxy never answered with ERR\n${details}`);
  }
  assert.equal(report.authFailures, 0, `valid authentications failed\n${details}`);
  assert.equal(report.hangs, 0, `connections hung or misbehaved\n${details}`);
  assert.equal(
    report.connectionsActiveAfter,
    0,
    `client sessions left open after every client left\n${details}`,
  );
  assert.equal(
    report.poolActiveAfter,
    0,
    `backend connections still checked out after every client left\n${details}`,
  );
  assert.ok(
    report.rssAfterBytes <= report.rssBeforeBytes + options.rssSlackBytes,
    `RSS did not come back: ${mb(report.rssBeforeBytes)} -> ${mb(report.rssAfterBytes)}\n${details}`,
  );
  assert.equal(
    report.goodClient.errors,
    0,
    `the well-behaved client was affected: ${report.goodClient.firstError}\n${details}`,
  );
  assert.ok(report.goodClient.queries > 0, details);
  assert.equal(
    report.goodClient.rowsFound,
    report.goodClient.rowsExpected,
    `rows lost or doubled\n${details}`,
  );
  assert.ok(report.proxyAliveAfter, details);
  if (options.onlyCases === undefined) {
    const { oversized, flood } = report;
    assert.equal(
      oversized.refused,
      oversized.streams,
      `oversized commands not refused with ERR 1153\n${details}`,
    );
    assert.ok(
      oversized.maxBytesTaken < 3 * 16 * 1048576,
      `the proxy took a whole oversized stream\n${details}`,
    );
    // Each stream may leave a command under the cap (16 MiB) and its buffers behind until the
    // garbage collector runs; growth as large as everything sent would mean nothing was capped.
    assert.ok(
      oversized.rssPeakBytes - oversized.rssBeforeBytes < oversized.streams * 3 * 16 * 1048576,
      `proxy RSS grew by as much as the oversized streams sent\n${details}`,
    );
    assert.equal(flood.greeted, options.handshakesPerIp, `flood sockets greeted\n${details}`);
    assert.equal(flood.refused, flood.sockets - options.handshakesPerIp, `flood sockets refused\n${details}`);
    assert.ok(
      flood.legitServed,
      `a login from another address failed during the flood: ${flood.legitError}\n${details}`,
    );
  }
  assert.equal(report.canaryRows, 0, `a command sent before authentication reached the backend\n${details}`);
});
