/**
 * Retries for GitHub API calls: transient failures (5xx, 429, secondary rate limits, network
 * errors) are retried with exponential backoff; anything else is the caller's to handle.
 */

export interface RetryOptions {
  /** Total attempts, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Told about each retry, e.g. to log it. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: Omit<RetryOptions, 'sleep'> = {
  attempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 15_000,
};

/** HTTP status of an Octokit RequestError (or anything shaped like one); undefined for network errors. */
export function httpStatus(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function isRateLimit(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /rate limit/i.test(message);
}

export function isTransient(error: unknown): boolean {
  const status = httpStatus(error);
  if (status === undefined) return true; // network: reset, DNS, timeout
  if (status >= 500 || status === 429) return true;
  return status === 403 && isRateLimit(error);
}

/** Seconds from a Retry-After header, when the server sent one. */
function retryAfterMs(error: unknown): number | undefined {
  const headers = (error as { response?: { headers?: Record<string, unknown> } } | null)?.response?.headers;
  const value = headers?.['retry-after'];
  const seconds = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

export function withRetries<T>(fn: () => Promise<T>, options: RetryOptions): Promise<T> {
  return retrying(fn, options, () => Promise.resolve(null));
}

/**
 * A create (a comment, an issue) retried without duplicates. A create whose answer was lost (a
 * timeout, a reset connection, a 502 from a proxy in front of the API) may well have happened, so
 * before trying again the caller's `find` looks for what it would have made; only when that finds
 * nothing is the create repeated. Errors that are not transient are thrown at once.
 */
export function createOnce<T>(
  create: () => Promise<T>,
  find: () => Promise<T | null>,
  options: RetryOptions,
): Promise<T> {
  return retrying(create, options, find);
}

/** fn retried on transient errors; after each backoff, `recover` may answer in its place. */
async function retrying<T>(
  fn: () => Promise<T>,
  options: RetryOptions,
  recover: () => Promise<T | null>,
): Promise<T> {
  let delay = options.baseDelayMs;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= options.attempts || !isTransient(error)) throw error;
      const wait = Math.min(retryAfterMs(error) ?? delay, options.maxDelayMs);
      options.onRetry?.(error, attempt, wait);
      await options.sleep(wait);
      delay = Math.min(delay * 2, options.maxDelayMs);
      const recovered = await recover();
      if (recovered !== null) return recovered;
    }
  }
}
