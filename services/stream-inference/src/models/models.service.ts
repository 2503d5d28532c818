import { type ModelLifecycle, topics } from '@flywheel/contracts';
import { AvroSerde, KAFKA_CLIENT, LifecycleFollower, TopicNames } from '@flywheel/kafka';
import type { BackendInfo } from '@flywheel/ml';
import { HealthService, METRICS_REGISTRY, ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { StreamInferenceConfig } from '../config';
import { InferenceMetrics } from '../inference.metrics';
import { INFERENCE_CONFIG, ML_BACKEND } from '../tokens';
import { type ModelRole, ModelStore, type ServingModel } from './model-store';
import { type Target, targetsFrom } from './model-targets';
import { type ModelVersionRef, RegistryClient } from './registry.client';

/**
 * Keeps the right model versions loaded: rebuilds the current state from models.lifecycle.v1 at
 * start-up, loads it, and applies every later lifecycle event in the background.
 */
@Injectable()
export class ModelsService implements OnApplicationShutdown {
  readonly store: ModelStore;
  private readonly registry: RegistryClient;
  private follower?: LifecycleFollower;
  private readonly logger: Logger;

  constructor(
    @Inject(INFERENCE_CONFIG) private readonly config: StreamInferenceConfig,
    @Inject(ML_BACKEND) readonly backend: BackendInfo,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly topicNames: TopicNames,
    private readonly health: HealthService,
    @Inject(ROOT_LOGGER) logger: Logger,
    @Inject(METRICS_REGISTRY) metrics: Registry,
  ) {
    this.logger = logger.child({ component: 'models' });
    this.registry = new RegistryClient({
      baseUrl: config.REGISTRY_URL,
      token: config.REGISTRY_TOKEN,
      timeoutMs: config.ARTIFACT_FETCH_TIMEOUT_MS,
    });
    const inferenceMetrics = InferenceMetrics.for(metrics);
    inferenceMetrics.initialise(config.MODEL_NAME);
    this.store = new ModelStore({
      registry: this.registry,
      metrics: inferenceMetrics,
      logger: this.logger,
      backend: backend.name,
    });
  }

  get serving(): ServingModel | undefined {
    return this.store.serving;
  }

  /**
   * Reads the lifecycle topic to its end (bounded by LIFECYCLE_BOOTSTRAP_TIMEOUT_MS; throws after) and
   * starts loading what it says. Does not wait for the load: `store.whenServing()` does.
   */
  async start(): Promise<void> {
    this.health.register('model', () => {
      const model = this.store.serving;
      return model
        ? { ok: true, detail: `${model.name} v${model.version} (${this.backend.name})` }
        : { ok: false, detail: `no version of ${this.config.MODEL_NAME} loaded yet` };
    });
    this.follower = new LifecycleFollower({
      kafka: this.kafka,
      serde: this.serde,
      topic: this.topicNames.of(topics.modelsLifecycle),
      modelName: this.config.MODEL_NAME,
      groupPrefix: this.config.CONSUMER_GROUP,
      bootstrapTimeoutMs: this.config.LIFECYCLE_BOOTSTRAP_TIMEOUT_MS,
      logger: this.logger,
    });
    const latest = await this.follower.start((event) => {
      void this.apply(event);
    });
    if (latest) void this.apply(latest);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.follower?.stop();
    this.store.dispose();
  }

  /** Applies one lifecycle state to both roles; failures are logged and counted, never thrown. */
  private async apply(event: ModelLifecycle): Promise<void> {
    const targets = targetsFrom(event, {
      servingAlias: this.config.SERVING_ALIAS,
      shadowAlias: this.config.SHADOW_ALIAS,
    });
    this.logger.info(
      {
        'model.name': event.model_name,
        'model.version': event.version,
        change: event.change,
        change_id: event.change_id,
        production_version: event.production_version,
      },
      'model lifecycle event',
    );
    await Promise.all([this.applyRole('serving', targets.serving), this.applyRole('shadow', targets.shadow)]);
  }

  private async applyRole(role: ModelRole, target: Target): Promise<void> {
    if (target.kind === 'none') {
      if (role === 'shadow' && !this.config.SHADOW_ALIAS) return;
      await this.store.request(role, null);
      return;
    }
    let ref: ModelVersionRef;
    if (target.kind === 'ref') {
      ref = target.ref;
    } else {
      try {
        ref = await this.registry.version(this.config.MODEL_NAME, target.version);
      } catch (error) {
        this.store.refuse(role, this.config.MODEL_NAME, target.version, 'registry-lookup', error);
        return;
      }
    }
    await this.store.request(role, ref);
  }
}
