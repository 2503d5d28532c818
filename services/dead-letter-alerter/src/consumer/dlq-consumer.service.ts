import { type DeadLetter, isDlqTopic } from '@flywheel/contracts';
import {
  AvroSerde,
  BatchConsumer,
  type DecodedMessage,
  FlywheelProducer,
  isRetriable,
  KAFKA_CLIENT,
  PatternSubscription,
} from '@flywheel/kafka';
import { HealthService, METRICS_REGISTRY, ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { AlertingService } from '../alerts/alerting.service';
import type { AlerterConfig } from '../config';
import { AlerterMetrics } from '../metrics/alerter-metrics';
import { ALERTER_CONFIG, DLQ_SERDE } from '../tokens';
import { PassThroughSerde } from './dlq-serde';
import { SeenKindsRepository } from './seen-kinds.repository';

/**
 * Consumes every `<prefix>*.dlq` topic as one consumer group, re-subscribing when DLQ topics appear, and
 * feeds each envelope to the windows, the metrics and the first-seen check.
 */
@Injectable()
export class DlqConsumerService implements OnApplicationShutdown {
  private subscription: PatternSubscription | undefined;
  private readonly admin: Admin;
  private readonly seen = new Set<string>();
  /** Highest offset handled per topic-partition: a resubscription may redeliver, this skips the repeats. */
  private readonly handledUpTo = new Map<string, bigint>();

  constructor(
    @Inject(ALERTER_CONFIG) private readonly config: AlerterConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    @Inject(DLQ_SERDE) private readonly serde: AvroSerde,
    private readonly producer: FlywheelProducer,
    private readonly alerting: AlertingService,
    private readonly seenKinds: SeenKindsRepository,
    private readonly metrics: AlerterMetrics,
    private readonly health: HealthService,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    this.admin = kafka.admin();
  }

  get topics(): readonly string[] {
    return this.subscription?.topics ?? [];
  }

  /** Topics of this deployment that are DLQs (prefix applied). */
  isOwnDlq(topic: string): boolean {
    const prefix = this.config.TOPIC_PREFIX;
    return isDlqTopic(topic) && topic.startsWith(prefix) && !topic.slice(0, -4).endsWith('.dlq');
  }

  async start(): Promise<void> {
    for (const { topic, kind } of await this.seenKinds.all()) this.seen.add(`${topic}\u0000${kind}`);
    await this.alerting.start();
    await this.admin.connect();
    const passThrough = new PassThroughSerde(this.serde.registry, () => ({}));
    this.subscription = new PatternSubscription({
      admin: this.admin,
      match: (topic) => this.isOwnDlq(topic),
      refreshIntervalMs: this.config.DLQ_REFRESH_INTERVAL_MS,
      logger: this.logger,
      onSubscribed: (topics) => {
        this.metrics.dlqTopics.set(topics.length);
        this.alerting.setDlqTopics(topics);
      },
      createConsumer: (topics) =>
        new BatchConsumer({
          kafka: this.kafka,
          serde: passThrough,
          producer: this.producer,
          groupId: this.config.ALERTER_GROUP_ID,
          stage: 'dead-letter-alerter',
          fromBeginning: this.config.DLQ_FROM_BEGINNING,
          metricsRegistry: this.registry,
          logger: this.logger,
          routes: topics.map((topic) => ({
            topic,
            mode: 'batch' as const,
            handler: (messages: DecodedMessage<Buffer | null>[]) => this.handle(messages),
          })),
        }),
    });
    this.health.register('dlq-consumer', () => this.subscription?.health() ?? { ok: false, detail: 'not started' });
    await this.subscription.start();
  }

  /** Re-reads the topic list now (tests and the API use it; the schedule does it anyway). */
  refresh(): Promise<void> {
    return this.subscription?.refresh() ?? Promise.resolve();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.stop();
    await this.admin.disconnect();
  }

  private async handle(messages: DecodedMessage<Buffer | null>[]): Promise<void> {
    for (const message of messages) {
      const position = `${message.topic}:${message.partition}`;
      const offset = BigInt(message.offset);
      const done = this.handledUpTo.get(position);
      if (done !== undefined && offset <= done) continue;
      let envelope: DeadLetter;
      try {
        envelope = await this.serde.decode<DeadLetter>(message.topic, message.value);
      } catch (error) {
        if (isRetriable(error)) throw error;
        this.metrics.undecodable.inc({ dlq_topic: message.topic });
        this.logger.warn(
          { topic: message.topic, partition: message.partition, offset: message.offset, error },
          'DLQ record is not a DeadLetter envelope; skipped',
        );
        this.handledUpTo.set(position, offset);
        continue;
      }
      const labels = { topic: envelope.original_topic, stage: envelope.stage, kind: envelope.failure_kind };
      this.alerting.deadLetter(labels, envelope.last_failure_time);
      const key = `${labels.topic}\u0000${labels.kind}`;
      if (!this.seen.has(key)) {
        // A database error throws: the batch is retried, so a new kind is never missed.
        const first = await this.seenKinds.record(labels.topic, labels.kind, labels.stage);
        this.seen.add(key);
        if (first) this.alerting.newKind(labels);
      }
      this.handledUpTo.set(position, offset);
    }
  }
}
