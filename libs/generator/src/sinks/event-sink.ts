import type { LabelEvent } from '../labels';
import type { Transaction } from '../traffic';

export interface OutgoingBatch {
  transactions: Transaction[];
  labels: LabelEvent[];
}

export interface SendResult {
  accepted: number;
  rejected: number;
  /** A few rejection reasons, to show the user (not every one). */
  reasons: string[];
  /** Attempts that were retried (429, 503, connection errors). */
  retries: number;
}

/** Where generated events go: the collector's HTTP API or straight into Kafka. */
export interface EventSink {
  readonly description: string;
  /** What keeps the current batch from being stored while it is retried (null when all is well), for progress lines. */
  readonly problem?: string | null;
  /**
   * Sends one batch, retrying what is worth retrying, until it is stored or `signal` aborts. Throws on an
   * answer no retry can fix (wrong API key, oversized batch) and when aborted.
   */
  send(batch: OutgoingBatch, signal: AbortSignal): Promise<SendResult>;
  close(): Promise<void>;
}

/** Thrown when a sink gives up for good (bad credentials, a request the server refuses as malformed). */
export class SinkRefusedError extends Error {
  override readonly name = 'SinkRefusedError';
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
