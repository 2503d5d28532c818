import { Counter, Histogram, type Registry } from 'prom-client';

/** flywheel_collector_* series. Labels are bounded: status codes, event types, failure kinds, topics. */
export class CollectorMetrics {
  readonly requests: Counter<'status'>;
  readonly events: Counter<'type' | 'outcome' | 'reason'>;
  readonly produceLatency: Histogram<'outcome'>;
  readonly batchSize: Histogram;
  readonly dlqWriteFailures: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'flywheel_collector_requests_total',
      help: 'POST /v1/events requests by HTTP status',
      labelNames: ['status'],
      registers,
    });
    this.events = new Counter({
      name: 'flywheel_collector_events_total',
      help: 'Events by type and outcome (accepted|rejected); reason is the failure kind of a rejection',
      labelNames: ['type', 'outcome', 'reason'],
      registers,
    });
    this.produceLatency = new Histogram({
      name: 'flywheel_collector_produce_duration_seconds',
      help: "Time for Kafka to acknowledge a request's writes (every topic of the request)",
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'flywheel_collector_batch_size_events',
      help: 'Events per request',
      buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
      registers,
    });
    this.dlqWriteFailures = new Counter({
      name: 'flywheel_collector_dlq_write_failures_total',
      help: 'Whole-body dead letters (400/403) that Kafka did not acknowledge (the client still got its 4xx)',
      registers,
    });
  }
}
