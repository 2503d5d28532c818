import { ApiKeyStore, ApiKeyVerifier } from '@flywheel/api-keys';
import { FlywheelProducer, TopicNames } from '@flywheel/kafka';
import { HealthService, METRICS_REGISTRY, ROOT_LOGGER } from '@flywheel/observability';
import { type BeforeApplicationShutdown, Inject, Injectable, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { COLLECTOR_CONFIG, type CollectorConfig } from '../config';
import { CollectorMetrics } from './collector.metrics';
import { EventsController } from './events.controller';
import { IngestService } from './ingest.service';
import { RateLimiter } from './rate-limiter';

export const COLLECTOR_INSTANCE = Symbol('COLLECTOR_INSTANCE');

/** Readiness: Kafka acknowledging our produces, and not shutting down. */
@Injectable()
export class CollectorLifecycle implements BeforeApplicationShutdown {
  private draining = false;

  constructor(
    health: HealthService,
    ingest: IngestService,
    @Inject(COLLECTOR_CONFIG) private readonly config: CollectorConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    health.register('kafka-produce', () =>
      ingest.produceHealthy() ? { ok: true } : { ok: false, detail: 'Kafka did not acknowledge a recent produce' },
    );
    health.register('draining', () => (this.draining ? { ok: false, detail: 'shutting down' } : { ok: true }));
  }

  /** Runs before the HTTP server closes: readiness goes down first so a load balancer stops sending. */
  async beforeApplicationShutdown(): Promise<void> {
    this.draining = true;
    this.logger.info({ drainDelayMs: this.config.COLLECTOR_DRAIN_DELAY_MS }, 'collector draining');
    if (this.config.COLLECTOR_DRAIN_DELAY_MS > 0) {
      await new Promise((resolve) => setTimeout(resolve, this.config.COLLECTOR_DRAIN_DELAY_MS));
    }
  }
}

@Module({
  controllers: [EventsController],
  providers: [
    {
      provide: CollectorMetrics,
      inject: [METRICS_REGISTRY],
      useFactory: (registry: Registry) => new CollectorMetrics(registry),
    },
    {
      provide: ApiKeyVerifier,
      inject: [DataSource, COLLECTOR_CONFIG],
      useFactory: (db: DataSource, config: CollectorConfig) =>
        new ApiKeyVerifier(new ApiKeyStore(db), config.COLLECTOR_API_KEY_CACHE_MS),
    },
    {
      provide: IngestService,
      inject: [
        COLLECTOR_CONFIG,
        FlywheelProducer,
        TopicNames,
        ApiKeyVerifier,
        CollectorMetrics,
        ROOT_LOGGER,
        COLLECTOR_INSTANCE,
      ],
      useFactory: (
        config: CollectorConfig,
        producer: FlywheelProducer,
        topicNames: TopicNames,
        verifier: ApiKeyVerifier,
        metrics: CollectorMetrics,
        logger: Logger,
        instance: string,
      ) =>
        new IngestService({
          config,
          producer,
          topicName: (topic) => topicNames.of(topic),
          verifier,
          limiter: new RateLimiter(config.COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND, config.COLLECTOR_RATE_LIMIT_BURST),
          metrics,
          logger,
          instance,
        }),
    },
    CollectorLifecycle,
  ],
  exports: [CollectorMetrics],
})
export class IngestModule {}
