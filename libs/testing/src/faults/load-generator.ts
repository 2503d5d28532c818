import { randomUUID } from 'node:crypto';
import type { ServiceEndpoint } from './mesh-service';

export interface RequestOutcome {
  started: number;
  ended: number;
  /** HTTP status; 0 = no answer (connection refused or reset, timeout). */
  status: number;
  target: string;
  events: number;
  /** true when this was a re-send of a batch that failed before (same event_ids). */
  retry: boolean;
  /** Why there was no answer (status 0): e.g. TimeoutError, ECONNREFUSED, ECONNRESET. */
  error?: string;
}

export interface LoadOptions {
  /** The collectors; requests go to the ready ones (as a load balancer with health checks would route them). */
  collectors: ServiceEndpoint[];
  apiKey: string;
  eventsPerSecond?: number;
  batchSize?: number;
  clients?: number;
  accounts?: number;
  /** Per-request deadline; an answer that takes longer counts as no answer (status 0) and is re-sent. */
  requestTimeoutMs?: number;
}

/**
 * A steady stream of card transactions through the collectors' HTTP API, behaving like a well-written producer:
 * every event carries its own event_id, and a batch that was not acknowledged (non-2xx, or no answer) is sent again
 * with the same event_ids until it is — so a 503'd batch that reached Kafka anyway is a duplicate downstream dedupe
 * removes, never a different event. Records every acknowledged event_id (with the time of its 2xx) and every
 * request's outcome.
 *
 * Routing: a health-checking balancer's view — each collector's /health/ready is polled every 200 ms and requests
 * go round-robin to the ready ones; when none is ready, to all of them (fail open), so a whole-mesh outage is seen
 * as the collector's own answers.
 */
export class LoadGenerator {
  /** event_id → wall clock of the 2xx that acknowledged it. */
  readonly acknowledged = new Map<string, number>();
  /** Every event_id this generator made (acknowledged or not). */
  readonly generated = new Set<string>();
  readonly requests: RequestOutcome[] = [];
  /** Batches still not acknowledged when the generator stopped (their events are "not acknowledged"). */
  abandonedEvents = 0;
  private running = false;
  private clients: Promise<void>[] = [];
  private readonly readiness = new Map<ServiceEndpoint, boolean>();
  private poller?: NodeJS.Timeout;
  private next = 0;
  private sequence = 0;
  private stopDeadline = Number.POSITIVE_INFINITY;

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopDeadline = Number.POSITIVE_INFINITY;
    const poll = () => {
      for (const collector of this.options.collectors) {
        void collector.ready().then((ok) => this.readiness.set(collector, ok));
      }
    };
    poll();
    this.poller = setInterval(poll, 200);
    const clients = this.options.clients ?? 2;
    this.clients = Array.from({ length: clients }, () => this.client(clients));
  }

  /**
   * Stops making new batches; unacknowledged batches keep being re-sent for up to `graceMs` (a producer does not
   * drop what it was asked to deliver), then are given up and counted as abandoned.
   */
  async stop(graceMs = 30_000): Promise<void> {
    this.running = false;
    this.stopDeadline = Date.now() + graceMs;
    await Promise.all(this.clients);
    clearInterval(this.poller);
  }

  /** Acknowledged events so far (for waiting on progress). */
  get acknowledgedCount(): number {
    return this.acknowledged.size;
  }

  /** Non-2xx answers and requests without an answer, by status (0 = none, with the reason: `0 ECONNRESET`). */
  errorsByStatus(from = 0, to = Number.POSITIVE_INFINITY): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.requests) {
      if (r.status >= 200 && r.status < 300) continue;
      if (r.started < from || r.started > to) continue;
      const key = r.status === 0 ? `0 ${r.error ?? 'no answer'}` : String(r.status);
      out[key] = (out[key] ?? 0) + 1;
    }
    return out;
  }

  private async client(clients: number): Promise<void> {
    const batchSize = this.options.batchSize ?? 20;
    const rate = this.options.eventsPerSecond ?? 200;
    const intervalMs = (clients * batchSize * 1000) / rate;
    while (this.running) {
      const began = Date.now();
      await this.deliver(this.batch(batchSize));
      const wait = intervalMs - (Date.now() - began);
      if (wait > 0) await sleep(wait);
    }
  }

  private batch(size: number): Array<Record<string, unknown>> {
    const accounts = this.options.accounts ?? 60;
    return Array.from({ length: size }, () => {
      const i = this.sequence++;
      const id = randomUUID();
      this.generated.add(id);
      return {
        event_id: id,
        type: 'transaction',
        event_time: Date.now(),
        account_id: `acct-${i % accounts}`,
        merchant_id: `m-${i % 17}`,
        // quarter units keep every sum exact, so feature aggregates compare exactly with a recomputation
        amount: (1 + (i % 997)) / 4,
        currency: 'EUR',
        channel: (['pos', 'ecom', 'atm'] as const)[i % 3],
        card_present: i % 2 === 0,
      };
    });
  }

  /** Sends one batch until a 2xx acknowledges it (or the stop grace runs out). */
  private async deliver(events: Array<Record<string, unknown>>): Promise<void> {
    const body = JSON.stringify(events);
    for (let attempt = 0; ; attempt++) {
      if (Date.now() > this.stopDeadline) {
        this.abandonedEvents += events.length;
        return;
      }
      const target = this.pick();
      const started = Date.now();
      let status = 0;
      let retryAfterMs = 200;
      let accepted: string[] = [];
      let error: string | undefined;
      try {
        const response = await fetch(`${target.url}/v1/events`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', authorization: `Bearer ${this.options.apiKey}` },
          signal: AbortSignal.timeout(this.options.requestTimeoutMs ?? 30_000),
        });
        status = response.status;
        const text = await response.text();
        if (status >= 200 && status < 300) {
          const json = JSON.parse(text) as { results: Array<{ status: string; event_id: string }> };
          accepted = json.results.filter((r) => r.status === 'accepted').map((r) => r.event_id);
        } else {
          const header = Number(response.headers.get('retry-after'));
          if (Number.isFinite(header) && header > 0) retryAfterMs = Math.min(1_000, header * 1_000);
        }
      } catch (caught) {
        status = 0;
        const cause = (caught as { cause?: { code?: string } }).cause;
        error = cause?.code ?? (caught as Error).name;
      }
      const ended = Date.now();
      this.requests.push({
        started,
        ended,
        status,
        target: target.id,
        events: events.length,
        retry: attempt > 0,
        error,
      });
      if (status >= 200 && status < 300) {
        for (const id of accepted) this.acknowledged.set(id, ended);
        return;
      }
      await sleep(retryAfterMs);
    }
  }

  private pick(): ServiceEndpoint {
    const all = this.options.collectors;
    const ready = all.filter((c) => this.readiness.get(c));
    const pool = ready.length > 0 ? ready : all;
    return pool[this.next++ % pool.length];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
