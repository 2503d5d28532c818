import { type DynamicModule, Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { HealthController } from './health/health.controller';
import { HealthService } from './health/health.service';
import { traceFieldsOf } from './logging/ecs-logger';
import { MetricsController } from './metrics/metrics.controller';
import { METRICS_REGISTRY, ROOT_LOGGER } from './tokens';
import { HttpTraceContextInterceptor, requestTraceContext } from './tracing/http-tracing';
import { shutdownTracing } from './tracing/tracing';

export interface ObservabilityOptions {
  logger: Logger;
  registry: Registry;
}

/**
 * /metrics, /health/*, request logging through the service's ECS logger (with the request's trace.id),
 * HTTP handlers run inside their request span, and queued spans flushed at shutdown. Imported once by
 * AppModule.
 */
@Global()
@Module({})
export class ObservabilityModule implements OnApplicationShutdown {
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
            // The request line is written when the response finishes, outside the request's span.
            customSuccessObject: (req, _res, value) => ({ ...value, ...traceFieldsOf(requestTraceContext(req)) }),
            customErrorObject: (req, _res, _error, value) => ({
              ...value,
              ...traceFieldsOf(requestTraceContext(req)),
            }),
          },
        }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        HealthService,
        { provide: METRICS_REGISTRY, useValue: options.registry },
        { provide: ROOT_LOGGER, useValue: options.logger },
        { provide: APP_INTERCEPTOR, useClass: HttpTraceContextInterceptor },
      ],
      exports: [HealthService, METRICS_REGISTRY, ROOT_LOGGER],
    };
  }

  /** Spans of the last requests and batches are still queued: export them before the process exits. */
  async onApplicationShutdown(): Promise<void> {
    await shutdownTracing().catch(() => undefined);
  }
}
