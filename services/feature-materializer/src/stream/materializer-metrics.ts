import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class MaterializerMetrics {
  readonly events: Counter<'outcome'>;
  readonly vectorsEmitted: Counter;
  readonly lateEvents: Counter;
  readonly commitDuration: Histogram;
  readonly entities: Gauge;
  readonly labels: Counter;
  readonly rebalanceSkips: Counter<'reason'>;

  constructor(registry: Registry, entityCount: () => Promise<number>) {
    const registers = [registry];
    this.events = new Counter({
      name: 'flywheel_features_events_total',
      help: 'Enriched events applied exactly once, by outcome (vector, late, duplicate, invalid); rate() = events/s',
      labelNames: ['outcome'],
      registers,
    });
    this.vectorsEmitted = new Counter({
      name: 'flywheel_features_vectors_emitted_total',
      help: 'Feature vectors produced to features.vectors.v1 (acknowledged; re-emissions after a crash count again)',
      registers,
    });
    this.lateEvents = new Counter({
      name: 'flywheel_features_late_events_total',
      help: 'Events older than the allowed lateness: not counted, dead-lettered as late-event',
      registers,
    });
    this.commitDuration = new Histogram({
      name: 'flywheel_features_commit_duration_seconds',
      help: 'One partition batch: state + offsets + logs transaction, including the vector produce before COMMIT',
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.entities = new Gauge({
      name: 'flywheel_features_state_entities',
      help: 'Entities with state in this namespace',
      registers,
      async collect() {
        this.set(await entityCount());
      },
    });
    this.labels = new Counter({
      name: 'flywheel_features_labels_total',
      help: 'Labels stored from labels.v1',
      registers,
    });
    this.rebalanceSkips = new Counter({
      name: 'flywheel_features_skipped_messages_total',
      help: 'Messages fetched but not applied because Postgres already held them (redelivery, rebalance, restart)',
      labelNames: ['reason'],
      registers,
    });
  }
}
