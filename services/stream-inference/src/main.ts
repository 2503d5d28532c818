import { BatchConsumer, connectKafkaConsumer } from '@flywheel/kafka';
import { runService, type ServiceContext } from '@flywheel/observability';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from './app.module';
import { loadStreamInferenceConfig, type StreamInferenceConfig } from './config';
import { InferenceMetrics } from './inference.metrics';
import { ModelsService } from './models/models.service';

runService({
  name: 'stream-inference',
  loadConfig: () => loadStreamInferenceConfig(),
  module: (context) => AppModule.register(context),
  beforeListen: startScoring,
});

/**
 * Reads the model lifecycle to its end (start-up fails if it cannot), then lets HTTP open with readiness
 * false; the feature-vector consumer group is joined only once a model is loaded and warmed up.
 */
async function startScoring(app: INestApplication, context: ServiceContext<StreamInferenceConfig>): Promise<void> {
  const { config, logger } = context;
  const models = app.get(ModelsService);
  await models.start();
  models.store
    .whenServing()
    .then(async () => {
      const transport = await connectKafkaConsumer(app, {
        groupId: config.CONSUMER_GROUP,
        stage: 'stream-inference',
        fromBeginning: config.CONSUMER_FROM_BEGINNING,
        maxBatchSize: config.BATCH_MAX_ROWS,
        maxWaitTimeInMs: config.BATCH_MAX_WAIT_MS,
        partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENCY,
        sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
      });
      watchIdle(transport.unwrap<BatchConsumer>(), InferenceMetrics.for(context.metrics));
      logger.info({ group: config.CONSUMER_GROUP }, 'scoring features.vectors.v1');
    })
    .catch((error: unknown) => {
      logger.fatal({ error }, 'could not start the feature-vector consumer');
      process.exit(1);
    });
}

/** flywheel_inference_idle follows the assignment (libs/kafka logs the idle join itself). */
function watchIdle(consumer: BatchConsumer, metrics: InferenceMetrics): void {
  const update = () => metrics.idle.set(consumer.health().ok && consumer.assignedPartitionCount === 0 ? 1 : 0);
  update();
  setInterval(update, 1_000).unref();
}
