import { type DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { MetricsController } from './metrics/metrics.controller';
import { METRICS_REGISTRY, ROOT_LOGGER } from './tokens';

export interface ObservabilityOptions {
  logger: Logger;
  registry: Registry;
}

/** /metrics, /health/*, and request logging through the service's ECS logger. Imported once by AppModule. */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            logger: options.logger,
            // Probes and scrapes every few seconds would drown the useful lines.
            autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
            quietReqLogger: true,
          },
        }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        HealthService,
        { provide: METRICS_REGISTRY, useValue: options.registry },
        { provide: ROOT_LOGGER, useValue: options.logger },
      ],
      exports: [HealthService, METRICS_REGISTRY, ROOT_LOGGER],
    };
  }
}
