import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadFeatureMaterializerConfig } from './config';
import { MaterializerRunner } from './stream/materializer.runner';

runService({
  name: 'feature-materializer',
  loadConfig: () => loadFeatureMaterializerConfig(),
  module: (context) => AppModule.register(context),
  // Consume only once migrations ran and the producer registered its schemas (both done at module init).
  beforeListen: async (app) => {
    await app.get(MaterializerRunner).start();
  },
});
