import { topics } from '@flywheel/contracts';
import { DatabaseModule } from '@flywheel/database';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import type { EnrichmentConfig } from './config';
import { DATABASE_SCHEMA } from './database-schema';
import { EnrichmentHandler } from './enrichment/enrichment.handler';
import { EnrichmentMetrics } from './enrichment/enrichment.metrics';
import { EnrichmentService } from './enrichment/enrichment.service';
import { AdminTokenGuard } from './http/admin-token.guard';
import { EnrichController } from './http/enrich.controller';
import { ReferenceController } from './http/reference.controller';
import { CreateReferenceData1767000000000 } from './reference/migrations/1767000000000-create-reference-data';
import { REFERENCE_ENTITIES } from './reference/reference.entities';
import { ReferenceService } from './reference/reference.service';
import { ReferenceStore } from './reference/reference.store';
import { ReferenceCache } from './reference/reference-cache';
import { ReferenceChangeListener } from './reference/reference-change.listener';
import { ENRICHMENT_CONFIG } from './tokens';

/** Wiring only. The consumer (EnrichmentHandler) is started by main.ts once everything else is up. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<EnrichmentConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: DATABASE_SCHEMA,
          entities: [...REFERENCE_ENTITIES],
          migrations: [CreateReferenceData1767000000000],
        }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'enrichment-api'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: [topics.eventsEnriched],
        }),
      ],
      controllers: [ReferenceController, EnrichController, EnrichmentHandler],
      providers: [
        { provide: ENRICHMENT_CONFIG, useValue: config },
        EnrichmentMetrics,
        ReferenceStore,
        ReferenceCache,
        ReferenceChangeListener,
        ReferenceService,
        EnrichmentService,
        AdminTokenGuard,
      ],
    };
  }
}
