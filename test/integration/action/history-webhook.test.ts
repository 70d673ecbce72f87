import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ActionDeps } from '../../../src/action/deps.ts';
import { recordHistory } from '../../../src/action/history-mode.ts';
import {
  notifyNewChangePoints,
  postWebhook,
  type WebhookMessage,
} from '../../../src/action/history-webhook.ts';
import { readActionConfig } from '../../../src/action/inputs.ts';
import { detectChangePoints, DEFAULT_DETECT_OPTIONS } from '../../../src/history/detect.ts';
import type { HistoryFile } from '../../../src/history/schema.ts';
import type { Suite } from '../../../src/suite/schema.ts';
import { syntheticHistory, syntheticSeries } from '../../helpers/series.ts';
import { armsFor, makeResults } from '../../helpers/results.ts';

/**
 * webhook-url of the history mode against a loopback HTTP server: one message per newly detected
 * change point, a 5xx retried, and a receiver that is down or silent only warned about.
 */

const RUN_URL = 'https://github.test/acme/proxy/actions/runs/5';
const PUSHED = 'f'.repeat(40);

interface Receiver {
  url: string;
  messages: WebhookMessage[];
  /** Status answered to each request in turn; 200 once they are used up. */
  statuses: number[];
  requests: number;
  /** The Idempotency-Key header of each request. */
  keys: string[];
  server: Server;
}

let receiver: Receiver;
let tmp: string;

function startReceiver(): Promise<Receiver> {
  const r = { messages: [], statuses: [], requests: 0, keys: [] } as unknown as Receiver;
  r.server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      r.requests++;
      r.keys.push(String(req.headers['idempotency-key']));
      const status = r.statuses.shift() ?? 200;
      if (status === 200) {
        assert.equal(req.headers['content-type'], 'application/json');
        r.messages.push(JSON.parse(body) as WebhookMessage);
      }
      res.writeHead(status).end();
    });
  });
  return new Promise((resolve) =>
    r.server.listen(0, '127.0.0.1', () => {
      r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}/hooks/secret-path`;
      resolve(r);
    }),
  );
}

before(async () => {
  receiver = await startReceiver();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'history-webhook-'));
});
after(async () => {
  await new Promise((resolve) => receiver.server.close(resolve));
  await rm(tmp, { recursive: true, force: true });
});

/** 40 pushes whose proxy TPS drops by 20% at push 30: before push 33 no change point shows. */
const stepped = syntheticHistory('quick', {
  tps: syntheticSeries({ length: 40, noise: 0.01, seed: 3, step: -0.2, stepAt: 30 }),
});
const upTo = (n: number): HistoryFile => ({ ...stepped, points: stepped.points.slice(0, n) });

/** Runs mode history with doubles around it, the data branch answering with the given histories. */
async function historyRun(histories: { before: HistoryFile; after: HistoryFile }) {
  const log: string[] = [];
  const core = {
    getInput: (name: string) =>
      ({ mode: 'history', suite: 'quick', 'webhook-url': receiver.url })[name] ?? '',
    setSecret: (secret: string) => log.push(`secret:${secret}`),
    info: (m: string) => log.push(`info:${m}`),
    warning: (m: string) => log.push(`warning:${m}`),
    error: (m: string) => log.push(`error:${m}`),
    setFailed: (m: string) => log.push(`failed:${m}`),
    setOutput: () => {},
    writeSummary: async () => {},
  };
  const config = readActionConfig(core);
  const deps = {
    core,
    github: { eventName: 'push', repository: 'acme/proxy', sha: PUSHED, runUrl: RUN_URL },
    git: { repoRoot: async () => tmp },
    sleep: async () => {},
    history: {
      appendToDataBranch: async () => ({ ...histories, added: true, commit: PUSHED, attempts: 1 }),
      issues: () => assert.fail('no token: no issue'),
    },
  } as unknown as ActionDeps;
  const results = makeResults({ workloads: [{ id: 'select', arms: armsFor(3, { tps: 1000 }) }] });
  await recordHistory(
    deps,
    config,
    tmp,
    {
      prepare: async () => ({ name: 'quick' }) as Suite,
      bench: async () => ({
        results,
        resultsPath: '',
        reportPath: '',
        reportMarkdown: '',
        measurementMarkdown: '',
        comparison: null,
      }),
      step: (_part, _check, fn) => fn(),
    },
    () => {},
  );
  return log;
}

test('a change point newly detected on main is posted once, with its fields, and the URL is never logged', async () => {
  const changes = detectChangePoints([upTo(40)], DEFAULT_DETECT_OPTIONS);
  assert.equal(changes.length, 1, 'the fixture has one change point');
  assert.equal(detectChangePoints([upTo(32)], DEFAULT_DETECT_OPTIONS).length, 0);
  receiver.messages = [];

  const runs = [
    await historyRun({ before: upTo(31), after: upTo(32) }), // not yet visible
    await historyRun({ before: upTo(32), after: upTo(40) }), // newly detected
    await historyRun({ before: upTo(40), after: upTo(40) }), // already known
  ];
  assert.equal(receiver.messages.length, 1, JSON.stringify(receiver.messages));
  const [message] = receiver.messages;
  const [change] = changes;
  assert.match(message!.text, /^athena-bench: 1 new change point\(s\) in suite quick/);
  assert.match(message!.text, new RegExp(`select tps −\\d+(\\.\\d+)?% \\(worse\\)`));
  assert.ok(message!.text.includes(RUN_URL));
  assert.equal(message!.suite, 'quick');
  assert.equal(message!.runUrl, RUN_URL);
  assert.deepEqual(message!.changePoints, [
    {
      workload: 'select',
      arm: 'proxy',
      metric: 'tps',
      commitRange: { from: change!.previousCommit, to: change!.commit },
      magnitude: change!.shift,
      unit: '%',
      direction: 'worse',
      before: change!.before.median,
      after: change!.after.median,
      runUrl: null,
    },
  ]);
  for (const log of runs) {
    assert.ok(log.includes(`secret:${receiver.url}`), 'the URL is masked');
    const lines = log.filter((l) => !l.startsWith('secret:'));
    assert.ok(!lines.some((l) => l.includes('secret-path')), lines.join('\n'));
  }
  assert.ok(runs[1]!.some((l) => /^info:Posted 1 new change point/.test(l)));
});

const oneChange = () => detectChangePoints([upTo(40)], DEFAULT_DETECT_OPTIONS);

test('a 5xx answer is retried and the message arrives once', async () => {
  receiver.messages = [];
  receiver.requests = 0;
  receiver.statuses = [500, 503];
  receiver.keys = [];
  const slept: number[] = [];
  const outcome = await postWebhook({
    url: receiver.url,
    message: { text: 'x', suite: 'quick', runUrl: null, changePoints: [] },
    timeoutMs: 5000,
    attempts: 3,
    sleep: async (ms) => void slept.push(ms),
    log: () => {},
  });
  assert.deepEqual(outcome, { attempts: 3 });
  assert.equal(receiver.requests, 3);
  assert.equal(receiver.messages.length, 1);
  assert.equal(slept.length, 2);
  assert.equal(new Set(receiver.keys).size, 1, 'every attempt carries the same idempotency key');
  assert.match(receiver.keys[0]!, /^[0-9a-f]{32}$/);
});

test('a 4xx is not retried, and only warns', async () => {
  receiver.requests = 0;
  receiver.statuses = [404];
  const warnings: string[] = [];
  const outcome = await notifyNewChangePoints({
    url: receiver.url,
    suite: 'quick',
    fresh: oneChange(),
    runUrl: RUN_URL,
    sleep: async () => {},
    info: () => {},
    warning: (w) => warnings.push(w),
  });
  assert.equal(outcome, 'failed');
  assert.equal(receiver.requests, 1);
  assert.match(
    warnings[0]!,
    /^Could not post to webhook-url: the webhook failed after 1 attempt\(s\): HTTP 404/,
  );
});

test('a dead receiver is retried; a silent one is not (it may have taken the message); both only warn, naming no URL', async () => {
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadUrl = `http://127.0.0.1:${(dead.address() as AddressInfo).port}/hooks/secret-path`;
  await new Promise((resolve) => dead.close(resolve));

  // Reads the message and never answers: a receiver that posted it and then hung.
  let silentRequests = 0;
  const silent = createServer((req) => {
    silentRequests++;
    req.resume();
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const silentUrl = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/hooks/secret-path`;
  try {
    for (const [url, why, attempts] of [
      [deadUrl, /could not connect \(ECONNREFUSED\)/, 3],
      [silentUrl, /no answer within 0\.2 s \(not retried: it may have arrived\)/, 1],
    ] as const) {
      const warnings: string[] = [];
      const infos: string[] = [];
      const outcome = await notifyNewChangePoints({
        url,
        suite: 'quick',
        fresh: oneChange(),
        runUrl: RUN_URL,
        sleep: async () => {},
        info: (l) => infos.push(l),
        warning: (w) => warnings.push(w),
        timeoutMs: 200,
      });
      assert.equal(outcome, 'failed');
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, new RegExp(`failed after ${attempts} attempt\\(s\\)`));
      assert.match(warnings[0]!, why);
      assert.equal(infos.length, attempts - 1, 'the retries announced');
      for (const line of [...warnings, ...infos]) assert.ok(!line.includes('secret-path'), line);
    }
    assert.equal(silentRequests, 1, 'a timed-out post is never sent again');
  } finally {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  }
});
