import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadAlerterConfig } from './config';
import { DlqConsumerService } from './consumer/dlq-consumer.service';

runService({
  name: 'dead-letter-alerter',
  loadConfig: () => loadAlerterConfig(),
  module: (context) => AppModule.register(context),
  // consume only once Postgres (migrations, seen kinds) and the producer are up; HTTP opens after
  beforeListen: async (app) => {
    await app.get(DlqConsumerService).start();
  },
});
