import { connectKafkaConsumer } from '@flywheel/kafka';
import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadEnrichmentConfig } from './config';

runService({
  name: 'enrichment-api',
  loadConfig: () => loadEnrichmentConfig(),
  module: (context) => AppModule.register(context),
  // Consuming starts after Postgres is migrated, the producer is connected and the LISTEN connection is up.
  beforeListen: async (app, { config }) => {
    await connectKafkaConsumer(app, {
      groupId: config.ENRICHMENT_GROUP_ID,
      stage: 'enrichment-api',
      fromBeginning: config.CONSUMER_FROM_BEGINNING,
      maxBatchSize: config.CONSUMER_MAX_BATCH_SIZE,
      partitionsConsumedConcurrently: config.CONSUMER_PARTITIONS_CONCURRENTLY,
      sessionTimeoutMs: config.CONSUMER_SESSION_TIMEOUT_MS,
    });
  },
});
