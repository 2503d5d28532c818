import type { SendResult } from './events';

/** The collector refused a whole request (401, 403, 413, 415, ...) or kept answering 429/503 past the retries. */
export class CollectorRequestError extends Error {
  override readonly name = 'CollectorRequestError';
  /** Results of the batches the collector answered before this one failed (later batches were not sent). */
  partial?: SendResult;

  constructor(
    message: string,
    /** HTTP status, or undefined when the collector could not be reached at all. */
    readonly status: number | undefined,
    /** The answer's body (`{error, message}` from the collector) when there was one. */
    readonly body: unknown,
    /** True for 429/503/unreachable: the same events may be sent again later (they carry their event_id). */
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
