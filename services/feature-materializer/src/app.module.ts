import { dlqTopicFor, topics } from '@flywheel/contracts';
import { DatabaseModule } from '@flywheel/database';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import type { FeatureMaterializerConfig } from './config';
import { DATABASE_SCHEMA } from './database-schema';
import { FEATURE_SET, FEATURE_STORE, featureSetFor, MATERIALIZER_CONFIG } from './feature-set.provider';
import { FEATURE_MIGRATIONS } from './migrations';
import { FeaturesController } from './online/features.controller';
import { FeatureStore } from './store/feature-store';
import { MaterializerRunner } from './stream/materializer.runner';

@Injectable()
class PoolLifecycle implements OnApplicationShutdown {
  constructor(@Inject(FEATURE_STORE) private readonly store: FeatureStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.pool.end();
  }
}

/** Wiring only. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<FeatureMaterializerConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: DATABASE_SCHEMA,
          entities: [],
          migrations: FEATURE_MIGRATIONS,
          poolSize: 2,
        }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'feature-materializer'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: [topics.featureVectors, dlqTopicFor(topics.eventsEnriched), dlqTopicFor(topics.labels)],
        }),
      ],
      controllers: [FeaturesController],
      providers: [
        { provide: MATERIALIZER_CONFIG, useValue: config },
        { provide: FEATURE_SET, useValue: featureSetFor(config) },
        {
          provide: FEATURE_STORE,
          useFactory: () => {
            const pool = new Pool({ connectionString: config.DATABASE_URL, max: config.FEATURES_DB_POOL_SIZE });
            // A connection Postgres ends (restart, failover) emits 'error' — on the pool while idle, on the client
            // while a batch holds it between two queries (e.g. awaiting the vectors' produce inside its transaction).
            // Unhandled, either crashed the process (fault suite, Postgres restart). With listeners the batch's next
            // query fails (it is retried), the pool drops the dead client and connects anew when needed.
            const closed = (error: Error) =>
              context.logger.warn({ error }, 'a Postgres connection was closed; the pool reconnects');
            pool.on('error', closed);
            pool.on('connect', (client) => client.on('error', closed));
            return new FeatureStore(pool);
          },
        },
        PoolLifecycle,
        MaterializerRunner,
      ],
    };
  }
}
