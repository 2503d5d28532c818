import { type Alert, topics } from '@flywheel/contracts';
import { FlywheelProducer, TopicNames } from '@flywheel/kafka';
import { HealthService, ROOT_LOGGER } from '@flywheel/observability';
import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { AlerterConfig } from '../config';
import { AlerterMetrics } from '../metrics/alerter-metrics';
import { ALERTER_CONFIG } from '../tokens';
import { DeliveryOutbox } from './delivery-outbox';
import { toAlertmanager, toPlain } from './webhook-formats';

/**
 * Sends alert state changes to alerts.v1 and to each configured webhook, each sink through its own
 * outbox: a slow or dead sink retries with backoff on its own timer and never delays the DLQ consumer
 * or the other sinks.
 */
@Injectable()
export class AlertDispatcher implements OnModuleInit, BeforeApplicationShutdown {
  private readonly outboxes = new Map<string, DeliveryOutbox<Alert>>();

  constructor(
    @Inject(ALERTER_CONFIG) private readonly config: AlerterConfig,
    private readonly producer: FlywheelProducer,
    private readonly topicNames: TopicNames,
    private readonly metrics: AlerterMetrics,
    private readonly health: HealthService,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    const alertsTopic = this.topicNames.of(topics.alerts);
    this.addSink('kafka', (alerts) =>
      this.producer
        .send(
          alertsTopic,
          alerts.map((a) => ({ key: a.fingerprint, value: a })),
          { timeoutMs: 10_000 },
        )
        .then(() => undefined),
    );
    this.config.ALERT_WEBHOOKS.forEach((hook, index) => {
      const externalUrl =
        this.config.ALERTER_EXTERNAL_URL ?? `http://${this.config.HTTP_HOST}:${this.config.HTTP_PORT}`;
      this.addSink(`webhook-${index}`, async (alerts) => {
        const body =
          hook.format === 'alertmanager'
            ? toAlertmanager(alerts, { receiver: 'flywheel-dead-letter-alerter', externalUrl })
            : toPlain(alerts);
        const response = await fetch(hook.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...hook.headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(this.config.WEBHOOK_TIMEOUT_MS),
        });
        await response.arrayBuffer().catch(() => undefined);
        if (!response.ok) throw new Error(`webhook answered ${response.status}`);
      });
    });
    // Readiness ignores sink failures on purpose: a dead webhook must not take the alerter out of service.
    this.health.register('alert-sinks', () => ({ ok: true, detail: this.describe() }));
  }

  /** Queues alert state changes for every sink; returns at once. */
  publish(alerts: Alert[]): void {
    if (alerts.length === 0) return;
    for (const alert of alerts) {
      const l = alert.labels;
      const labels = { rule: alert.rule, topic: l.topic ?? '', stage: l.stage ?? '', kind: l.failure_kind ?? '' };
      this.metrics.alertState.set(labels, alert.status === 'FIRING' ? 1 : 0);
      this.metrics.alertTransitions.inc({ rule: alert.rule, status: alert.status });
      this.logger.info(
        { rule: alert.rule, status: alert.status, fingerprint: alert.fingerprint, labels: l, value: alert.value },
        `alert ${alert.status}: ${alert.annotations.summary ?? alert.rule}`,
      );
    }
    for (const [sink, outbox] of this.outboxes) {
      outbox.enqueue(...alerts);
      this.metrics.outboxSize.set({ sink }, outbox.size);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await Promise.all([...this.outboxes.values()].map((o) => o.close()));
  }

  private addSink(sink: string, deliver: (alerts: Alert[]) => Promise<void>): void {
    const outbox: DeliveryOutbox<Alert> = new DeliveryOutbox(
      {
        name: sink,
        initialBackoffMs: this.config.WEBHOOK_INITIAL_BACKOFF_MS,
        maxBackoffMs: this.config.WEBHOOK_MAX_BACKOFF_MS,
        maxBatch: 100,
        maxItems: this.config.WEBHOOK_MAX_QUEUE,
        onDelivered: (count) => {
          this.metrics.deliveries.inc({ sink, outcome: 'delivered' }, count);
          this.metrics.outboxSize.set({ sink }, outbox.size);
        },
        onFailed: (error, attempt) => {
          this.metrics.deliveries.inc({ sink, outcome: 'failed' });
          this.logger.warn({ sink, attempt, error: error.message }, 'alert delivery failed; will retry with backoff');
        },
        onDropped: (count) => {
          this.metrics.deliveries.inc({ sink, outcome: 'dropped' }, count);
          this.logger.error({ sink, count }, 'alert outbox full; oldest notifications dropped');
        },
      },
      deliver,
    );
    this.outboxes.set(sink, outbox);
  }

  private describe(): string {
    return [...this.outboxes]
      .map(([sink, o]) => `${sink}: ${o.size} queued${o.failing ? ` (failing: ${o.failing.message})` : ''}`)
      .join('; ');
  }
}
