import { randomUUID } from 'node:crypto';
import { CollectorRequestError } from './errors';
import type { EventInput, EventResult, SendResult } from './events';
import { retryAfterMs } from './retry-after';

export interface CollectorClientOptions {
  /** Base URL of the collector, e.g. http://127.0.0.1:8080. */
  url: string;
  /** `fw_<id>_<secret>`, from `flywheel keys create --producer <name>`. */
  apiKey: string;
  /** Events per request (the collector takes up to COLLECTOR_MAX_EVENTS_PER_BATCH, default 1000). Default 500. */
  maxBatchEvents?: number;
  /** Bytes per request body (the collector takes up to 1 MiB by default). Default 512 KiB. */
  maxBatchBytes?: number;
  /** Attempts after the first for 429, 503 and unreachable. Default 5. */
  maxRetries?: number;
  /** Longest wait between attempts, even when Retry-After asks for more. Default 30 s. */
  maxRetryDelayMs?: number;
  /** Per request. Default 30 s. */
  timeoutMs?: number;
  /** Told about every retry (for logs). */
  onRetry?: (retry: { attempt: number; status: number | undefined; delayMs: number; reason: string }) => void;
}

interface Batch {
  /** Index of the batch's first event in the caller's array. */
  first: number;
  body: string[];
}

/**
 * Sends events to the collector's `POST /v1/events` with an API key: splits them into batches, retries a batch
 * the collector could not store yet (429/503, honouring Retry-After; or no answer at all) and returns one result
 * per event. A 2xx from the collector means every `accepted` event is durable in Kafka.
 *
 * Retrying is safe because every transaction carries an `event_id` (assigned here when the caller left it out):
 * a batch that was stored although its answer was lost is deduplicated downstream by event_id.
 */
export class CollectorClient {
  private readonly url: string;
  private readonly maxBatchEvents: number;
  private readonly maxBatchBytes: number;
  private readonly maxRetries: number;
  private readonly maxRetryDelayMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: CollectorClientOptions) {
    if (!options.apiKey) throw new Error('CollectorClient needs an apiKey (flywheel keys create --producer <name>)');
    this.url = `${options.url.replace(/\/+$/, '')}/v1/events`;
    this.maxBatchEvents = options.maxBatchEvents ?? 500;
    this.maxBatchBytes = options.maxBatchBytes ?? 512 * 1024;
    this.maxRetries = options.maxRetries ?? 5;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  /**
   * Sends every event; resolves with one result per event, in input order (read `results`: some may be rejected).
   * Throws CollectorRequestError when the collector refuses a whole request (bad key, too large) or stays
   * unavailable past the retries; its `partial` holds the results of the batches answered before.
   */
  async send(events: readonly EventInput[]): Promise<SendResult> {
    const results: EventResult[] = [];
    for (const batch of this.batches(events)) {
      let answer: SendResult;
      try {
        answer = await this.sendBatch(batch);
      } catch (error) {
        if (error instanceof CollectorRequestError) error.partial = summarize(results);
        throw error;
      }
      for (const result of answer.results) results.push({ ...result, index: batch.first + result.index });
    }
    return summarize(results);
  }

  /** Splits into batches under both limits, giving every transaction an event_id. */
  private *batches(events: readonly EventInput[]): Generator<Batch> {
    let batch: Batch = { first: 0, body: [] };
    let bytes = 2;
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      const withId = event.type === 'transaction' && !event.event_id ? { ...event, event_id: randomUUID() } : event;
      const json = JSON.stringify(withId);
      const size = Buffer.byteLength(json) + 1;
      if (batch.body.length > 0 && (batch.body.length >= this.maxBatchEvents || bytes + size > this.maxBatchBytes)) {
        yield batch;
        batch = { first: i, body: [] };
        bytes = 2;
      }
      batch.body.push(json);
      bytes += size;
    }
    if (batch.body.length > 0) yield batch;
  }

  private async sendBatch(batch: Batch): Promise<SendResult> {
    const body = `[${batch.body.join(',')}]`;
    for (let attempt = 0; ; attempt++) {
      let status: number | undefined;
      let reason: string;
      let waitMs: number | undefined;
      try {
        const response = await fetch(this.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.options.apiKey}`, 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        status = response.status;
        const answer = await readJson(response);
        if (status === 200 || status === 422) return asSendResult(answer, batch.body.length, this.url);
        reason = describeAnswer(status, answer);
        if (status !== 429 && status !== 503) {
          throw new CollectorRequestError(`collector refused the request: ${reason}`, status, answer, false);
        }
        waitMs = retryAfterMs(response.headers.get('retry-after'));
        if (attempt >= this.maxRetries) {
          throw new CollectorRequestError(
            `collector still unavailable after ${attempt + 1} attempts: ${reason}`,
            status,
            answer,
            true,
          );
        }
      } catch (error) {
        if (error instanceof CollectorRequestError) throw error;
        // No answer (refused, reset, timed out): the batch may or may not be stored; its event ids make a retry safe.
        reason = `no answer from ${this.url}: ${causeOf(error)}`;
        if (attempt >= this.maxRetries) {
          throw new CollectorRequestError(
            `collector unreachable after ${attempt + 1} attempts: ${reason}`,
            undefined,
            undefined,
            true,
            {
              cause: error,
            },
          );
        }
      }
      const delayMs = Math.min(this.maxRetryDelayMs, waitMs ?? 250 * 2 ** attempt);
      this.options.onRetry?.({ attempt: attempt + 1, status, delayMs, reason });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function asSendResult(answer: unknown, events: number, url: string): SendResult {
  const results = (answer as SendResult | undefined)?.results;
  if (!Array.isArray(results) || results.length !== events) {
    throw new CollectorRequestError(
      `${url} answered without one result per event; is it a Flywheel collector?`,
      undefined,
      answer,
      false,
    );
  }
  return answer as SendResult;
}

function summarize(results: EventResult[]): SendResult {
  const accepted = results.filter((r) => r.status === 'accepted').length;
  return { accepted, rejected: results.length - accepted, results };
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

function describeAnswer(status: number, answer: unknown): string {
  const message =
    typeof answer === 'object' && answer !== null && 'message' in answer
      ? String(answer.message)
      : String(answer ?? '');
  return `HTTP ${status}${message ? ` ${message}` : ''}`;
}

function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  return cause?.code ?? cause?.message ?? error.message;
}
