import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadRegistryConfig } from './config';
import { modelsBeforeListen } from './models/models-bootstrap';

runService({
  name: 'registry',
  loadConfig: () => loadRegistryConfig(),
  module: (context) => AppModule.register(context),
  beforeListen: (app, context) => modelsBeforeListen(app, context),
});
