import { connectKafkaConsumer } from '@flywheel/kafka';
import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadTrainerConfig } from './config';

runService({
  name: 'trainer',
  loadConfig: () => loadTrainerConfig(),
  module: (context) => AppModule.register(context),
  beforeListen: async (app, { config }) => {
    await connectKafkaConsumer(app, {
      groupId: config.TRAINER_CONSUMER_GROUP ?? `${config.TOPIC_PREFIX}trainer`,
      stage: 'trainer',
      // A request published before the trainer's first start is still answered.
      fromBeginning: true,
      maxBatchSize: 1,
      // One run blocks the partition for its whole duration: the session must outlive it.
      sessionTimeoutMs: config.TRAINER_SESSION_TIMEOUT_MS,
      consumerConfig: { rebalanceTimeout: config.TRAINER_SESSION_TIMEOUT_MS },
    });
  },
});
