import { type EventSink, type OutgoingBatch, type SendResult, SinkRefusedError, sleep } from './event-sink';

interface CollectorAnswer {
  accepted?: number;
  rejected?: number;
  results?: { status: string; reason?: string; field?: string }[];
}

const MAX_BACKOFF_MS = 5_000;

/**
 * Sends through the collector's `POST /v1/events` as any producer would: one JSON array per batch
 * (transactions and labels together; the collector routes them by `type`), authenticated with an API key.
 * Transactions carry their own event_id, so a retry after a 503 or a lost answer is removed downstream by
 * the dedupe on event_id instead of becoming a second payment.
 */
export class CollectorSink implements EventSink {
  readonly description: string;
  problem: string | null = null;
  private readonly url: string;

  constructor(
    baseUrl: string,
    private readonly apiKey: string,
  ) {
    this.url = `${baseUrl.replace(/\/+$/, '')}/v1/events`;
    this.description = `collector ${baseUrl}`;
  }

  async send(batch: OutgoingBatch, signal: AbortSignal): Promise<SendResult> {
    const body = JSON.stringify([
      ...batch.transactions.map((t) => ({ type: 'transaction', ...t })),
      ...batch.labels.map((l) => ({ type: 'label', ...l })),
    ]);
    let retries = 0;
    let backoff = 100;
    for (;;) {
      let response: Response;
      try {
        response = await fetch(this.url, {
          method: 'POST',
          headers: { authorization: `Bearer ${this.apiKey}`, 'content-type': 'application/json' },
          body,
          signal,
        });
      } catch (error) {
        if (signal.aborted) throw signal.reason;
        // Connection refused or reset: the collector is (re)starting or overloaded. Keep the batch and retry.
        this.problem = `collector unreachable (${causeOf(error)}), retrying`;
        retries++;
        await sleep(backoff, signal);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        continue;
      }
      const text = await response.text();
      if (response.status === 200 || response.status === 422) {
        this.problem = null;
        const answer = (text ? JSON.parse(text) : {}) as CollectorAnswer;
        const reasons = (answer.results ?? [])
          .filter((r) => r.status === 'rejected')
          .slice(0, 3)
          .map((r) => `${r.field ? `${r.field}: ` : ''}${r.reason ?? 'rejected'}`);
        return { accepted: answer.accepted ?? 0, rejected: answer.rejected ?? 0, reasons, retries };
      }
      // 429 and 503 say when to come back; any other 5xx is the server's trouble, not the batch's (seen: a 500
      // when the API-key lookup timed out on a busy Postgres). Resending is safe: the event ids are ours.
      if (response.status === 429 || response.status >= 500) {
        this.problem = `collector answered ${response.status}, retrying`;
        retries++;
        const retryAfter = Number(response.headers.get('retry-after') ?? Number.NaN);
        await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : backoff, signal);
        backoff = Math.min(MAX_BACKOFF_MS, backoff * 2);
        continue;
      }
      throw new SinkRefusedError(`collector answered ${response.status} to POST ${this.url}: ${text.slice(0, 300)}`);
    }
  }

  async close(): Promise<void> {}
}

function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
