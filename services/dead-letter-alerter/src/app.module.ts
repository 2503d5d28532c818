import { topics } from '@flywheel/contracts';
import { DatabaseModule } from '@flywheel/database';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import { AlertDispatcher } from './alerts/alert-dispatcher.service';
import { AlertingService } from './alerts/alerting.service';
import { AlertsController } from './alerts/alerts.controller';
import { DlqBrowseController } from './browse/dlq-browse.controller';
import { DlqBrowseService } from './browse/dlq-browse.service';
import type { AlerterConfig } from './config';
import { DlqConsumerService } from './consumer/dlq-consumer.service';
import { createDlqSerde } from './consumer/dlq-serde';
import { SeenKindsRepository } from './consumer/seen-kinds.repository';
import { DATABASE_SCHEMA } from './database-schema';
import { AlerterMetrics } from './metrics/alerter-metrics';
import { CreateAlerter1767225600000 } from './migrations/1767225600000-create-alerter';
import { AdminTokenGuard } from './replay/admin-token.guard';
import { ReplayController } from './replay/replay.controller';
import { ReplayRepository } from './replay/replay.repository';
import { ReplayService } from './replay/replay.service';
import { ALERTER_CONFIG, DLQ_SERDE } from './tokens';

/** Wiring only. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<AlerterConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        DatabaseModule.forRoot({
          url: config.DATABASE_URL,
          schema: DATABASE_SCHEMA,
          entities: [],
          migrations: [CreateAlerter1767225600000],
        }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'dead-letter-alerter'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: [topics.alerts],
        }),
      ],
      controllers: [DlqBrowseController, ReplayController, AlertsController],
      providers: [
        { provide: ALERTER_CONFIG, useValue: config },
        { provide: DLQ_SERDE, useFactory: () => createDlqSerde(config.SCHEMA_REGISTRY_URL) },
        AlerterMetrics,
        AlertDispatcher,
        AlertingService,
        SeenKindsRepository,
        DlqConsumerService,
        DlqBrowseService,
        ReplayRepository,
        ReplayService,
        AdminTokenGuard,
      ],
    };
  }
}
