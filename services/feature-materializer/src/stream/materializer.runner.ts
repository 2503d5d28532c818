import type { FeatureSet } from '@flywheel/features';
import { AvroSerde, FlywheelProducer, KAFKA_CLIENT, TopicNames } from '@flywheel/kafka';
import { HealthService, METRICS_REGISTRY, ROOT_LOGGER } from '@flywheel/observability';
import { type BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { FeatureMaterializerConfig } from '../config';
import { FEATURE_SET, FEATURE_STORE, MATERIALIZER_CONFIG, namespaceFor } from '../feature-set.provider';
import type { FeatureStore } from '../store/feature-store';
import { Materializer } from './materializer';

/** Owns the live Materializer: started from beforeListen, stopped before the pool and producer close. */
@Injectable()
export class MaterializerRunner implements BeforeApplicationShutdown {
  private materializer?: Materializer;

  constructor(
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly producer: FlywheelProducer,
    private readonly topicNames: TopicNames,
    private readonly health: HealthService,
    @Inject(FEATURE_STORE) private readonly store: FeatureStore,
    @Inject(FEATURE_SET) private readonly featureSet: FeatureSet,
    @Inject(MATERIALIZER_CONFIG) private readonly config: FeatureMaterializerConfig,
    @Inject(METRICS_REGISTRY) private readonly metrics: Registry,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const namespace = namespaceFor(this.config, this.featureSet);
    this.materializer = new Materializer({
      kafka: this.kafka,
      serde: this.serde,
      producer: this.producer,
      store: this.store,
      featureSet: this.featureSet,
      namespace,
      groupId: this.config.FEATURES_GROUP_ID,
      stage: 'feature-materializer',
      topicPrefix: this.topicNames.prefix,
      emitVectors: true,
      consumeLabels: true,
      partitionsConcurrently: this.config.FEATURES_PARTITIONS_CONCURRENTLY,
      maxWaitTimeInMs: this.config.FEATURES_MAX_WAIT_MS,
      maxBytesPerPartition: this.config.FEATURES_MAX_BYTES_PER_PARTITION,
      sessionTimeoutMs: this.config.FEATURES_SESSION_TIMEOUT_MS,
      metrics: this.metrics,
      logger: this.logger,
    });
    const materializer = this.materializer;
    this.health.register('materializer', () => materializer.health());
    await materializer.start();
    this.logger.info(
      { feature_set: this.featureSet.name, feature_set_version: this.featureSet.version, namespace },
      'materializing features',
    );
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.materializer?.stop();
  }
}
