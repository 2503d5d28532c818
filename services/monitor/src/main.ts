import { connectKafkaConsumer } from '@flywheel/kafka';
import { runService, type ServiceContext } from '@flywheel/observability';
import type { INestApplication } from '@nestjs/common';
import { AppModule } from './app.module';
import { loadMonitorConfig, type MonitorConfig } from './config';
import { MonitorService } from './drift/monitor.service';

runService({
  name: 'monitor',
  loadConfig: () => loadMonitorConfig(),
  module: (context) => AppModule.register(context),
  beforeListen: startMonitoring,
});

/** Knows the Production version and its calibrated detectors before the first vector is read. */
async function startMonitoring(app: INestApplication, context: ServiceContext<MonitorConfig>): Promise<void> {
  const { config, logger } = context;
  await app.get(MonitorService).start();
  await connectKafkaConsumer(app, {
    groupId: config.CONSUMER_GROUP,
    stage: 'monitor',
    fromBeginning: config.CONSUMER_FROM_BEGINNING,
    maxBatchSize: config.BATCH_MAX_ROWS,
  });
  logger.info({ group: config.CONSUMER_GROUP }, 'monitoring features.vectors.v1, predictions.v1, labels.v1');
}
