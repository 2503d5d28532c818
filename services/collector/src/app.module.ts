import { API_KEY_MIGRATIONS } from '@flywheel/api-keys';
import { dlqTopicFor, topics } from '@flywheel/contracts';
import { DatabaseModule } from '@flywheel/database';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Global, Module } from '@nestjs/common';
import { COLLECTOR_CONFIG, type CollectorConfig } from './config';
import { DATABASE_SCHEMA } from './database-schema';
import { COLLECTOR_INSTANCE, IngestModule } from './ingest/ingest.module';

/** Topics the collector writes; their schemas are registered at start-up (fail fast). */
export const COLLECTOR_TOPICS = [
  topics.eventsRaw,
  topics.labels,
  dlqTopicFor(topics.eventsRaw),
  dlqTopicFor(topics.labels),
];

@Global()
@Module({})
class ConfigModule {
  static register(context: ServiceContext<CollectorConfig>): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: COLLECTOR_CONFIG, useValue: context.config },
        { provide: COLLECTOR_INSTANCE, useValue: context.instance },
      ],
      exports: [COLLECTOR_CONFIG, COLLECTOR_INSTANCE],
    };
  }
}

/** Wiring only. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<CollectorConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ConfigModule.register(context),
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: DATABASE_SCHEMA,
          entities: [],
          migrations: [...API_KEY_MIGRATIONS],
        }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'collector'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: COLLECTOR_TOPICS,
          producerLanes: config.COLLECTOR_PRODUCER_LANES,
        }),
        IngestModule,
      ],
    };
  }
}
