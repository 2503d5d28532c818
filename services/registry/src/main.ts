import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadRegistryConfig } from './config';

runService({
  name: 'registry',
  loadConfig: () => loadRegistryConfig(),
  module: (context) => AppModule.register(context),
});
