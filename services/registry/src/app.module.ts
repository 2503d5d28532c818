import { topics } from '@flywheel/contracts';
import { DatabaseModule } from '@flywheel/database';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import { type RegistryConfig, schemaRegistryUrlOf } from './config';
import { DATABASE_SCHEMA } from './database-schema';
import { MODEL_REGISTRY_MIGRATIONS, ModelsModule } from './models/models.module';
import { SCHEMA_REGISTRY_ENTITIES, SCHEMA_REGISTRY_MIGRATIONS, SchemasModule } from './schemas/schemas.module';

/** Wiring only: the schema registry and the model registry share one DataSource (schema `registry`). */
@Module({})
export class AppModule {
  static register(context: ServiceContext<RegistryConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: DATABASE_SCHEMA,
          entities: [...SCHEMA_REGISTRY_ENTITIES],
          migrations: [...SCHEMA_REGISTRY_MIGRATIONS, ...MODEL_REGISTRY_MIGRATIONS],
        }),
        SchemasModule,
        ...(config.REGISTRY_KAFKA_ENABLED
          ? [
              KafkaModule.forRoot({
                connection: kafkaConnectionFromEnv(config, 'registry'),
                schemaRegistryUrl: schemaRegistryUrlOf(config),
                topicPrefix: config.TOPIC_PREFIX,
                metrics: context.metrics,
                logger: context.logger,
                // Registered at start-up (fail fast) when the schema registry is another process; when it is this
                // process (SCHEMA_REGISTRY_URL unset) its HTTP port is not open yet, so the first send registers.
                produces: config.SCHEMA_REGISTRY_URL ? [topics.modelsLifecycle] : [],
              }),
            ]
          : []),
        ModelsModule.register({
          adminToken: config.REGISTRY_ADMIN_TOKEN,
          readToken: config.REGISTRY_READ_TOKEN,
          readsRequireToken: config.REGISTRY_READS_REQUIRE_TOKEN,
          artifactMaxBytes: config.REGISTRY_ARTIFACT_MAX_BYTES,
          promotion: {
            policy: config.REGISTRY_PROMOTION_POLICY,
            metric: config.REGISTRY_PROMOTION_METRIC,
            goal: config.REGISTRY_PROMOTION_METRIC_GOAL,
            margin: config.REGISTRY_PROMOTION_MARGIN,
          },
          kafkaEnabled: config.REGISTRY_KAFKA_ENABLED,
          outboxPollMs: config.REGISTRY_OUTBOX_POLL_MS,
          outboxRelayDelayMs: config.REGISTRY_OUTBOX_RELAY_DELAY_MS,
        }),
      ],
    };
  }
}
