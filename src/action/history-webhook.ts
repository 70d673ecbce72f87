import { createHash } from 'node:crypto';
import { formatShift } from '../report/dashboard.ts';
import type { ChangePoint } from '../history/detect.ts';
import { shortNumber } from '../util/format.ts';

/**
 * The optional webhook of the history mode: a JSON message posted when a change point is newly
 * detected on the default branch. Slack-compatible (its incoming webhooks read `text`); the
 * structured fields beside it are for any other receiver. The URL is a secret: no message, log
 * line or error here ever contains it.
 */

export interface WebhookChange {
  workload: string;
  arm: string;
  metric: string;
  /** The shift came after `from` and with `to` (the first commit measured after it). */
  commitRange: { from: string; to: string };
  /** after − before, in `unit` (% of the before-median, or the metric's own unit). */
  magnitude: number;
  unit: '%' | 'points';
  direction: 'worse' | 'better' | null;
  before: number;
  after: number;
  runUrl: string | null;
}

export interface WebhookMessage {
  text: string;
  suite: string;
  /** The run that detected the change points. */
  runUrl: string | null;
  changePoints: WebhookChange[];
}

export function webhookMessage(
  suite: string,
  changes: readonly ChangePoint[],
  runUrl: string | null,
): WebhookMessage {
  const lines = changes.map(
    (c) =>
      `• ${c.workload} ${c.metric} ${formatShift(c)}${c.direction ? ` (${c.direction})` : ''} in ` +
      `${c.previousCommit.slice(0, 7)}..${c.commit.slice(0, 7)}: ${shortNumber(c.before.median)} → ${shortNumber(c.after.median)}`,
  );
  const text = [
    `athena-bench: ${changes.length} new change point(s) in suite ${suite} on the default branch`,
    ...lines,
    ...(runUrl ? [`Run: ${runUrl}`] : []),
  ].join('\n');
  return {
    text,
    suite,
    runUrl,
    changePoints: changes.map((c) => ({
      workload: c.workload,
      arm: c.arm,
      metric: c.metric,
      commitRange: { from: c.previousCommit, to: c.commit },
      magnitude: c.shift,
      unit: c.unit,
      direction: c.direction,
      before: c.before.median,
      after: c.after.median,
      runUrl: c.runUrl,
    })),
  };
}

export interface WebhookOptions {
  url: string;
  message: WebhookMessage;
  /** Per attempt. */
  timeoutMs: number;
  /**
   * Total attempts, the first included. Only answers and errors that say the message was not
   * taken are retried: 5xx, 429, and a connection that was never made. A timeout or a connection
   * lost mid-request is not: the receiver may have posted the message already.
   */
  attempts: number;
  sleep: (ms: number) => Promise<void>;
  log: (line: string) => void;
}

export const DEFAULT_WEBHOOK = { timeoutMs: 10_000, attempts: 3 } as const;

/** A failed delivery, described without the URL. */
export class WebhookError extends Error {
  override name = 'WebhookError';
}

type AttemptResult = { ok: true } | { ok: false; retry: boolean; why: string };

/** Errors of a connection that was never made: the message cannot have arrived. */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/**
 * The same for every attempt at one message, and for the same change points in any run: a
 * receiver that honours Idempotency-Key drops a repeat of a message it already took.
 */
export function idempotencyKey(message: WebhookMessage): string {
  const points = message.changePoints.map((c) => [c.workload, c.arm, c.metric, c.commitRange.to]);
  return createHash('sha256')
    .update(JSON.stringify([message.suite, points]))
    .digest('hex')
    .slice(0, 32);
}

async function attempt(o: WebhookOptions): Promise<AttemptResult> {
  try {
    const response = await fetch(o.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey(o.message) },
      body: JSON.stringify(o.message),
      signal: AbortSignal.timeout(o.timeoutMs),
      redirect: 'error',
    });
    await response.body?.cancel();
    if (response.ok) return { ok: true };
    const status = response.status;
    return { ok: false, retry: status >= 500 || status === 429, why: `HTTP ${status}` };
  } catch (error) {
    // Only the error's kind and code: fetch's messages may quote the URL.
    if (error instanceof Error && error.name === 'TimeoutError') {
      return {
        ok: false,
        retry: false,
        why: `no answer within ${o.timeoutMs / 1000} s (not retried: it may have arrived)`,
      };
    }
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    const known = typeof code === 'string' ? code : null;
    if (known !== null && NOT_CONNECTED.has(known)) {
      return { ok: false, retry: true, why: `could not connect (${known})` };
    }
    return {
      ok: false,
      retry: false,
      why: `the connection failed${known ? ` (${known})` : ''} (not retried: it may have arrived)`,
    };
  }
}

/** Posts the message; throws WebhookError (naming no URL) once the attempts are used up. */
export async function postWebhook(o: WebhookOptions): Promise<{ attempts: number }> {
  for (let n = 1; ; n++) {
    const result = await attempt(o);
    if (result.ok) return { attempts: n };
    if (!result.retry || n >= o.attempts) {
      throw new WebhookError(`the webhook failed after ${n} attempt(s): ${result.why}`);
    }
    const wait = 1000 * 2 ** (n - 1);
    o.log(`The webhook failed (${result.why}); retry ${n} in ${wait / 1000} s.`);
    await o.sleep(wait);
  }
}

/**
 * Posts the change points that are new (and not improvements) since the last run, when a webhook
 * is configured. Never throws: the benchmark run must not fail because a chat service is down.
 */
export async function notifyNewChangePoints(o: {
  url: string | null;
  suite: string;
  fresh: readonly ChangePoint[];
  runUrl: string | null;
  sleep: (ms: number) => Promise<void>;
  info: (line: string) => void;
  warning: (line: string) => void;
  timeoutMs?: number;
}): Promise<'posted' | 'failed' | 'nothing'> {
  if (!o.url || o.fresh.length === 0) return 'nothing';
  try {
    const { attempts } = await postWebhook({
      url: o.url,
      message: webhookMessage(o.suite, o.fresh, o.runUrl),
      timeoutMs: o.timeoutMs ?? DEFAULT_WEBHOOK.timeoutMs,
      attempts: DEFAULT_WEBHOOK.attempts,
      sleep: o.sleep,
      log: o.info,
    });
    o.info(`Posted ${o.fresh.length} new change point(s) to the webhook (attempt ${attempts}).`);
    return 'posted';
  } catch (error) {
    const why = error instanceof WebhookError ? error.message : 'the webhook failed unexpectedly';
    o.warning(`Could not post to webhook-url: ${why}. The history and the alert issue are unaffected.`);
    return 'failed';
  }
}
