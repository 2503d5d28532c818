import { runService } from '@flywheel/observability';
import { AppModule } from './app.module';
import { loadCollectorConfig } from './config';
import { CollectorMetrics } from './ingest/collector.metrics';
import { captureRawBody } from './ingest/raw-body.middleware';

runService({
  name: 'collector',
  loadConfig: () => loadCollectorConfig(),
  module: (context) => AppModule.register(context),
  // Mounted here, before the app initializes, so it runs ahead of Nest's JSON body parser.
  beforeListen: async (app, context) => {
    const metrics = app.get(CollectorMetrics);
    app.use(
      '/v1/events',
      captureRawBody(context.config.COLLECTOR_MAX_BODY_BYTES, () => metrics.requests.inc({ status: '413' })),
    );
  },
});
