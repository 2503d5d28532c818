import { type LabelEvent, LabelQueue, labelFor } from './labels';
import { Population } from './population';
import { deriveSeed, Random } from './random';
import { type EventSink, sleep } from './sinks/event-sink';
import { type DriftPoint, type Phase, TrafficModel, type Transaction } from './traffic';

/** When the drift happens: after N transactions, or N seconds after the first one. */
export type DriftSchedule = { transactions: number } | { seconds: number };

export interface GeneratorOptions {
  sink: EventSink;
  /** Transactions per second. */
  rate: number;
  /** The world: the same (accounts, merchants, seed) as the reference data loaded into enrichment-api. */
  accounts: number;
  merchants: number;
  seed: number;
  /** Reuse a population already built (it must match accounts/merchants/seed). */
  population?: Population;
  /** Seed of this run's traffic (default: derived from `seed`); different segments of one world use different ones. */
  trafficSeed?: number;
  /** Stop after this many seconds of event time, and/or after this many transactions; neither = until stopped. */
  durationSeconds?: number | null;
  events?: number | null;
  drift?: DriftSchedule | null;
  /** Account-takeover share before the drift (default 0.04). */
  fraudRate?: number;
  /** Mean delay of labels (chargebacks / settlement confirmations) after their transaction (default 10 s). */
  labelDelayMs?: number;
  /** Transactions per request (labels due at the same time ride along, as many again at most). ≤ 500. */
  batchSize?: number;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** A partial batch waits at most this long for more events (default 100 ms). */
  flushIntervalMs?: number;
  /** Event time of the first transaction (default now). In the past = a backfill: everything already due goes at once. */
  startTime?: number;
  /** After the last transaction, keep going until every label is sent (default true). */
  waitForLabels?: boolean;
  signal?: AbortSignal;
}

export interface GeneratorStats {
  startedAt: number;
  /** Transactions and labels the sink acknowledged. */
  transactions: number;
  labels: number;
  fraud: number;
  rejected: number;
  retries: number;
  /** Labels generated but not yet due. */
  pendingLabels: number;
  phase: Phase;
  /** Wall time at which the first after-drift transaction was generated, and how many came before it. */
  driftedAt: number | null;
  driftedAfterTransactions: number | null;
  /** Event time of the newest transaction generated. */
  eventTime: number;
  lastRejections: string[];
  finished: boolean;
  error: string | null;
}

export interface RunningGenerator {
  /** Live counters (updated as batches are acknowledged). */
  readonly stats: GeneratorStats;
  readonly population: Population;
  /** Resolves when the run ends (limits reached, or stopped); rejects when the sink gave up. */
  readonly done: Promise<GeneratorStats>;
  /** Stops sending now (in-flight requests are cancelled) and resolves with the final stats. */
  stop(): Promise<GeneratorStats>;
}

/** Runs the generator to its end (limits) or until `options.signal` aborts. */
export function runGenerator(options: GeneratorOptions): Promise<GeneratorStats> {
  return startGenerator(options).done;
}

/**
 * Paces the traffic model in real time: a transaction is sent once the wall clock reaches its event time,
 * a label once it reaches its label_time. Event times are the model's schedule, not the send time, so a
 * sender that falls behind (backpressure) sends late but keeps the traffic's shape.
 */
export function startGenerator(options: GeneratorOptions): RunningGenerator {
  const batchSize = options.batchSize ?? 250;
  if (!(batchSize >= 1 && batchSize <= 500)) throw new Error('batchSize must be in 1..500');
  if (!(options.rate > 0)) throw new Error('rate must be > 0');
  const population =
    options.population ??
    new Population({ accounts: options.accounts, merchants: options.merchants, seed: options.seed });
  const startTime = options.startTime ?? Date.now();
  const drift: DriftPoint | null = !options.drift
    ? null
    : 'transactions' in options.drift
      ? { transactions: options.drift.transactions }
      : { eventTime: startTime + options.drift.seconds * 1000 };
  const model = new TrafficModel(population, {
    rate: options.rate,
    startTime,
    fraudRate: options.fraudRate ?? 0.04,
    drift,
    seed: options.trafficSeed ?? deriveSeed(options.seed, 'live'),
  });
  const labelRandom = new Random(deriveSeed(options.trafficSeed ?? options.seed, 'labels'));
  const labelDelayMs = options.labelDelayMs ?? 10_000;
  const concurrency = options.concurrency ?? 4;
  const flushIntervalMs = options.flushIntervalMs ?? 100;
  const endTime = options.durationSeconds ? startTime + options.durationSeconds * 1000 : Number.POSITIVE_INFINITY;
  const maxTransactions = options.events ?? Number.POSITIVE_INFINITY;

  const stats: GeneratorStats = {
    startedAt: Date.now(),
    transactions: 0,
    labels: 0,
    fraud: 0,
    rejected: 0,
    retries: 0,
    pendingLabels: 0,
    phase: model.phase,
    driftedAt: null,
    driftedAfterTransactions: null,
    eventTime: startTime,
    lastRejections: [],
    finished: false,
    error: null,
  };
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(new Error('stopped'));
  if (options.signal?.aborted) onOuterAbort();
  else options.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;

  const labels = new LabelQueue();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;

  const submit = (transactions: Transaction[], due: LabelEvent[], fraud: number) => {
    const sending = options.sink.send({ transactions, labels: due }, signal).then(
      (result) => {
        stats.transactions += transactions.length;
        stats.labels += due.length;
        stats.fraud += fraud;
        stats.rejected += result.rejected;
        stats.retries += result.retries;
        if (result.reasons.length > 0) stats.lastRejections = result.reasons;
      },
      (error: unknown) => {
        if (!signal.aborted) {
          failure = error;
          controller.abort(error);
        }
      },
    );
    const tracked = sending.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const loop = async (): Promise<GeneratorStats> => {
    let generating = true;
    const waitForLabels = options.waitForLabels ?? true;
    const exhausted = () => model.count >= maxTransactions || model.peekTime() >= endTime;
    try {
      while (!signal.aborted) {
        // Everything due by now goes out in full batches; event times come from the model, not from this
        // clock, so sending every flush interval changes latency only, never the traffic.
        const now = Date.now();
        for (;;) {
          const batch: Transaction[] = [];
          let fraud = 0;
          while (generating && batch.length < batchSize && model.peekTime() <= now) {
            if (exhausted()) break;
            const generated = model.next();
            batch.push(generated.transaction);
            if (generated.fraud) fraud++;
            labels.push(labelFor(generated, labelDelayMs, labelRandom));
            stats.eventTime = generated.transaction.event_time;
            stats.phase = model.phase;
            if (generated.phase === 'after-drift' && stats.driftedAt === null) {
              stats.driftedAt = now;
              stats.driftedAfterTransactions = model.count - 1;
            }
          }
          if (generating && exhausted()) generating = false;
          const due = labels.takeDue(now, batchSize);
          if (batch.length === 0 && due.length === 0) break;
          while (inFlight.size >= concurrency && !signal.aborted) await Promise.race(inFlight);
          if (signal.aborted) break;
          submit(batch, due, fraud);
          if (batch.length < batchSize && due.length < batchSize) break;
        }
        stats.pendingLabels = labels.size;
        if (!generating && (labels.size === 0 || !waitForLabels)) break;
        const next = Math.min(generating ? model.peekTime() : Number.POSITIVE_INFINITY, labels.nextTime());
        await sleep(Math.min(1_000, Math.max(flushIntervalMs, next - Date.now())), signal).catch(() => undefined);
      }
      await Promise.all(inFlight);
    } finally {
      options.signal?.removeEventListener('abort', onOuterAbort);
      stats.finished = true;
      stats.pendingLabels = labels.size;
    }
    if (failure) {
      stats.error = failure instanceof Error ? failure.message : String(failure);
      throw failure;
    }
    return stats;
  };

  const done = loop();
  return {
    stats,
    population,
    done,
    stop: async () => {
      controller.abort(new Error('stopped'));
      return done.catch(() => stats);
    },
  };
}
