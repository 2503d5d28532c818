import { METRICS_REGISTRY } from '@flywheel/observability';
import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Pending outbox rows and the age of the oldest, read from Postgres at scrape time. */
export type OutboxProbe = () => Promise<{ pending: number; oldestAgeSeconds: number }>;

@Injectable()
export class ModelRegistryMetrics {
  readonly versionsRegistered: Counter<'source'>;
  readonly stageChanges: Counter<'to_stage' | 'actor'>;
  readonly promotionDecisions: Counter<'decision'>;
  readonly outboxPending: Gauge;
  readonly outboxOldestAge: Gauge;
  readonly relaySendLatency: Histogram;
  readonly relaySent: Counter;
  readonly relayErrors: Counter;
  private probe?: OutboxProbe;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    this.versionsRegistered = new Counter({
      name: 'flywheel_registry_models_versions_registered_total',
      help: 'Model versions registered, by source (api, or models.trained.v1 event)',
      labelNames: ['source'],
      registers: [registry],
    });
    this.stageChanges = new Counter({
      name: 'flywheel_registry_models_stage_changes_total',
      help: 'Stage changes of model versions (including implied archiving), by target stage and actor kind',
      labelNames: ['to_stage', 'actor'],
      registers: [registry],
    });
    this.promotionDecisions = new Counter({
      name: 'flywheel_registry_models_promotion_decisions_total',
      help: 'Promotion policy verdicts on models.trained.v1 candidates (promoted, refused, manual)',
      labelNames: ['decision'],
      registers: [registry],
    });
    for (const decision of ['promoted', 'refused', 'manual']) this.promotionDecisions.inc({ decision }, 0);
    const metrics = this;
    this.outboxPending = new Gauge({
      name: 'flywheel_registry_models_outbox_pending',
      help: 'Lifecycle changes committed but not yet acknowledged by Kafka',
      registers: [registry],
      async collect() {
        const probed = await metrics.probe?.().catch(() => undefined);
        if (probed) {
          this.set(probed.pending);
          metrics.outboxOldestAge.set(probed.oldestAgeSeconds);
        }
      },
    });
    this.outboxOldestAge = new Gauge({
      name: 'flywheel_registry_models_outbox_oldest_pending_age_seconds',
      help: 'Age of the oldest unsent outbox row (0 when none); a climb means the relay is stuck',
      registers: [registry],
    });
    this.relaySendLatency = new Histogram({
      name: 'flywheel_registry_models_relay_send_duration_seconds',
      help: 'Time for the relay to send a batch of lifecycle events and get the Kafka acknowledgement',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.relaySent = new Counter({
      name: 'flywheel_registry_models_relay_sent_total',
      help: 'Lifecycle events sent to models.lifecycle.v1 and marked sent',
      registers: [registry],
    });
    this.relayErrors = new Counter({
      name: 'flywheel_registry_models_relay_errors_total',
      help: 'Relay rounds that failed (Kafka or Postgres); the rows stay pending and are retried',
      registers: [registry],
    });
  }

  setOutboxProbe(probe: OutboxProbe): void {
    this.probe = probe;
  }
}
