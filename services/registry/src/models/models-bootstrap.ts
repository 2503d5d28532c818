import { connectKafkaConsumer } from '@flywheel/kafka';
import type { ServiceContext } from '@flywheel/observability';
import type { INestApplication } from '@nestjs/common';
import { json, raw } from 'express';
import type { RegistryConfig } from '../config';

/**
 * What the model registry needs on the app before it listens (main.ts's beforeListen, and the in-process test app):
 *
 * - Body parsers registered ahead of Nest's global ones (which are added at init, after this): artifact uploads are
 *   read raw whatever their content type, so a JSON artifact keeps its exact bytes (and sha256), up to
 *   REGISTRY_ARTIFACT_MAX_BYTES; model API bodies (baselines) may exceed Nest's 100 kB JSON default.
 * - The models.trained.v1 consumer, when REGISTRY_KAFKA_ENABLED.
 */
export async function modelsBeforeListen(
  app: INestApplication,
  context: ServiceContext<RegistryConfig>,
): Promise<void> {
  const { config } = context;
  app.use('/v1/artifacts', raw({ type: () => true, limit: config.REGISTRY_ARTIFACT_MAX_BYTES }));
  app.use('/v1/models', json({ limit: '16mb' }));
  if (config.REGISTRY_KAFKA_ENABLED) {
    await connectKafkaConsumer(app, {
      groupId: config.REGISTRY_CONSUMER_GROUP ?? `${config.TOPIC_PREFIX}registry`,
      stage: 'registry',
      // A new group registers every candidate still retained; run_id makes the replay harmless.
      fromBeginning: true,
      maxBatchSize: 16,
    });
  } else {
    context.logger.warn(
      'REGISTRY_KAFKA_ENABLED is false: models.trained.v1 is not consumed and lifecycle changes wait in the outbox',
    );
  }
}
