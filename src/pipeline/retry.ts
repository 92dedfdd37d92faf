// Exponential backoff with full jitter, capped, honouring a server's Retry-After.

export interface RetryPolicy {
  initialMs: number;
  maxMs: number;
}

/** A server asking for more than an hour is not taken literally. */
const MAX_RETRY_AFTER_MS = 3_600_000;

export const DEFAULT_RETRY: RetryPolicy = { initialMs: 200, maxMs: 30_000 };

/** Delay before attempt `attempt` (1 = first retry). */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined && retryAfterMs >= 0) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt - 1, 30));
  // Full jitter, but never below half the step so retries do not bunch at zero.
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Retry-After header value (seconds or HTTP date) in ms, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
