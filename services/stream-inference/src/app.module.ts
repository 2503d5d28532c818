import { topics } from '@flywheel/contracts';
import { KafkaModule, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { initBackend } from '@flywheel/ml';
import { ObservabilityModule, type ServiceContext } from '@flywheel/observability';
import { type DynamicModule, Module } from '@nestjs/common';
import type { StreamInferenceConfig } from './config';
import { ModelsService } from './models/models.service';
import { PredictController } from './predict/predict.controller';
import { ScoringHandler } from './scoring/scoring.handler';
import { ScoringService } from './scoring/scoring.service';
import { ShadowProducer } from './scoring/shadow-producer';
import { INFERENCE_CONFIG, ML_BACKEND } from './tokens';

/** Wiring only. */
@Module({})
export class AppModule {
  static register(context: ServiceContext<StreamInferenceConfig>): DynamicModule {
    const { config } = context;
    return {
      module: AppModule,
      imports: [
        ObservabilityModule.forRoot({ logger: context.logger, registry: context.metrics }),
        KafkaModule.forRoot({
          connection: kafkaConnectionFromEnv(config, 'stream-inference'),
          schemaRegistryUrl: config.SCHEMA_REGISTRY_URL,
          topicPrefix: config.TOPIC_PREFIX,
          metrics: context.metrics,
          logger: context.logger,
          produces: [topics.predictions, topics.predictionsShadow],
        }),
      ],
      controllers: [ScoringHandler, PredictController],
      providers: [
        { provide: INFERENCE_CONFIG, useValue: config },
        {
          provide: ML_BACKEND,
          useFactory: async () => {
            const backend = await initBackend(config.ML_BACKEND);
            context.logger.info({ backend: backend.name, detail: backend.detail }, `tfjs backend: ${backend.name}`);
            return backend;
          },
        },
        ModelsService,
        ScoringService,
        ShadowProducer,
      ],
    };
  }
}
