import { topics } from '@flywheel/contracts';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import type { MonitorConfig } from './config';
import { DriftController } from './drift/drift.controller';
import { MonitorHandler } from './drift/monitor.handler';
import { MonitorService } from './drift/monitor.service';
import { MONITOR_CONFIG } from './tokens';

/** Wiring only. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<MonitorConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'monitor'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: [topics.monitorDrift, topics.modelsRetrainRequested],
        }),
      ],
      controllers: [MonitorHandler, DriftController],
      providers: [{ provide: MONITOR_CONFIG, useValue: config }, MonitorService],
    };
  }
}
