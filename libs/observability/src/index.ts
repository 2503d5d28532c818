export {
  type BaseServiceConfig,
  runService,
  type ServiceContext,
  type ServiceDefinition,
  startService,
} from './bootstrap/start-service';
export { HealthController } from './health/health.controller';
export { type HealthCheck, type HealthCheckResult, HealthService } from './health/health.service';
export {
  createLogger,
  ecsError,
  type LoggerSettings,
  REDACTED_PATHS,
  scrubCredentials,
  traceFieldsOf,
} from './logging/ecs-logger';
export { MetricsController } from './metrics/metrics.controller';
export { createMetricsRegistry } from './metrics/metrics-registry';
export { ObservabilityModule, type ObservabilityOptions } from './observability.module';
export { METRICS_REGISTRY, ROOT_LOGGER } from './tokens';
export { HttpTraceContextInterceptor, httpTracingMiddleware, requestTraceContext } from './tracing/http-tracing';
export { initTracing, isTracingRecorded, shutdownTracing, type TracingSettings } from './tracing/tracing';
