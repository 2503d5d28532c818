import { topics } from '@flywheel/contracts';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { initBackend } from '@flywheel/ml';
import { HealthService, ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { Pool } from 'pg';
import type { TrainerConfig } from './config';
import { FEATURES_POOL, TRAINER, TRAINER_CONFIG } from './tokens';
import { createFeaturesPool } from './training/features-db';
import { RegistryClient } from './training/registry.client';
import { RetrainHandler } from './training/retrain.handler';
import { RetrainService } from './training/retrain.service';
import { settingsFrom } from './training/settings';
import { Trainer } from './training/trainer';
import { TrainerMetrics } from './training/trainer.metrics';

/** Closes the feature-store pool last; readiness includes it. */
@Injectable()
class FeaturesPoolLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(FEATURES_POOL) private readonly pool: Pool,
    health: HealthService,
  ) {
    health.register('features-db', async () => {
      await this.pool.query('SELECT 1');
      return { ok: true };
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/** Wiring only. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<TrainerConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'trainer'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: [topics.modelsTrained, topics.modelsTrainRefused],
        }),
      ],
      controllers: [RetrainHandler],
      providers: [
        { provide: TRAINER_CONFIG, useValue: config },
        { provide: FEATURES_POOL, useFactory: () => createFeaturesPool(config.FEATURES_DATABASE_URL) },
        FeaturesPoolLifecycle,
        {
          provide: TRAINER,
          inject: [FEATURES_POOL],
          useFactory: async (pool: Pool) => {
            const backend = await initBackend(config.ML_BACKEND);
            context.logger.info({ backend: backend.name, detail: backend.detail }, `tfjs backend: ${backend.name}`);
            return new Trainer({
              db: pool,
              registry: new RegistryClient({
                baseUrl: config.REGISTRY_URL,
                token: config.TRAINER_REGISTRY_TOKEN,
                timeoutMs: config.REGISTRY_TIMEOUT_MS,
              }),
              metrics: TrainerMetrics.for(context.metrics),
              logger: context.logger,
              settings: settingsFrom(config),
            });
          },
        },
        RetrainService,
      ],
    };
  }
}
