export interface RetryPolicy {
  /** Attempts per message (or batch) before it is dead-lettered. */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /**
   * A message failing with a retriable error (a dependency down: Postgres restarting, Kafka failing over) is
   * retried at least this long, not only maxAttempts times, before it is dead-lettered: an outage shorter than
   * this delays the partition but never dead-letters what it touched. Non-retriable errors are not retried.
   */
  retryForMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxAttempts: 5,
  initialBackoffMs: 200,
  maxBackoffMs: 5_000,
  retryForMs: 120_000,
};

/** Exponential backoff with full jitter, so a fleet retrying the same outage does not retry in lockstep. */
export function backoffMs(
  policy: Pick<RetryPolicy, 'initialBackoffMs' | 'maxBackoffMs'>,
  attempt: number,
  random = Math.random,
): number {
  const ceiling = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
