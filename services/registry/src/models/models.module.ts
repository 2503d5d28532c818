import { type DynamicModule, Injectable, Module, type OnModuleInit, type Provider } from '@nestjs/common';
import { TokenCheck } from './admin-auth';
import { ArtifactsController } from './artifacts.controller';
import { CreateModelRegistry1764900000000 } from './migrations/1764900000000-create-model-registry';
import { ModelRegistryMetrics } from './model-registry.metrics';
import { ModelRegistryService } from './model-registry.service';
import { ModelsController } from './models.controller';
import { MODELS_OPTIONS, type ModelsOptions } from './models.tokens';
import { ModelsTrainedHandler } from './models-trained.handler';
import { OutboxRelayService } from './outbox-relay.service';

/** Handed to DatabaseModule.forRoot by AppModule next to the schema registry's (raw SQL: no entities). */
export const MODEL_REGISTRY_MIGRATIONS = [CreateModelRegistry1764900000000] as const;

/**
 * The model registry: artifacts, versions, stages, aliases, history, the promotion policy, and the lifecycle
 * outbox. With Kafka enabled it also runs the outbox relay and the models.trained.v1 handler (KafkaModule must be
 * imported by the app then).
 */
@Module({})
export class ModelsModule {
  static register(options: ModelsOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: MODELS_OPTIONS, useValue: options },
      {
        provide: TokenCheck,
        useValue: new TokenCheck(options.adminToken, options.readToken, options.readsRequireToken),
      },
      ModelRegistryMetrics,
      ModelRegistryService,
      OutboxGauge,
    ];
    if (options.kafkaEnabled) providers.push(OutboxRelayService);
    return {
      module: ModelsModule,
      controllers: [ModelsController, ArtifactsController, ...(options.kafkaEnabled ? [ModelsTrainedHandler] : [])],
      providers,
    };
  }
}

/** Wires the pending-outbox gauge to Postgres (read at scrape time). */
@Injectable()
class OutboxGauge implements OnModuleInit {
  constructor(
    private readonly metrics: ModelRegistryMetrics,
    private readonly registry: ModelRegistryService,
  ) {}

  onModuleInit(): void {
    this.metrics.setOutboxProbe(() => this.registry.outboxBacklog());
  }
}
