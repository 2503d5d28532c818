import 'reflect-metadata';
import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as NestPinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createLogger } from '../logging/ecs-logger';
import { NestEcsLogger } from '../logging/nest-ecs-logger';
import { createMetricsRegistry } from '../metrics/metrics-registry';
import { httpTracingMiddleware } from '../tracing/http-tracing';
import { initTracing } from '../tracing/tracing';
import { armShutdownWatchdog } from './shutdown-watchdog';

/** What every service's config provides to the bootstrap (the rest of its config is its own business). */
export interface BaseServiceConfig {
  HTTP_HOST: string;
  HTTP_PORT: number;
  LOG_LEVEL: string;
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  INSTANCE_ID?: string;
  /** Longest a graceful shutdown may take before the process exits 1 with what was still open. */
  SHUTDOWN_TIMEOUT_MS: number;
}

export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  metrics: Registry;
  instance: string;
}

export interface ServiceDefinition<C extends BaseServiceConfig> {
  name: string;
  /** The service's config.ts loader; throwing here (ConfigError) exits 1 with the message. */
  loadConfig: () => C;
  module: (context: ServiceContext<C>) => DynamicModule | Type<unknown>;
  /** Start Kafka consumers and the like, after the HTTP app exists and before it listens. */
  beforeListen?: (app: INestApplication, context: ServiceContext<C>) => Promise<void>;
}

/**
 * The one start-up sequence of every service: config (fail fast) → tracing → ECS logger and metrics →
 * Nest app with shutdown hooks → consumers → HTTP. SIGTERM closes consumers after their in-flight batch
 * and lets in-flight HTTP requests finish.
 */
export async function startService<C extends BaseServiceConfig>(
  definition: ServiceDefinition<C>,
): Promise<{ app: INestApplication; context: ServiceContext<C> }> {
  const config = definition.loadConfig();
  const instance = config.INSTANCE_ID ?? `${definition.name}-${process.pid}`;
  initTracing({ service: definition.name, instance, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL, instance });
  const metrics = createMetricsRegistry(definition.name, instance);
  const context: ServiceContext<C> = { config, logger, metrics, instance };

  const app = await NestFactory.create(definition.module(context), {
    // ECS from the first line: Nest's messages while it builds the app (and why it could not).
    logger: new NestEcsLogger(logger),
    forceCloseConnections: false,
    // Nest's default on a failing module init (Postgres down ...) is process.exit(1) with the reason in
    // its buffered logger, never written: throw instead, so runService logs it as ECS.
    abortOnError: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  // First middleware: the request span covers everything after it (body reading included).
  app.use(httpTracingMiddleware());
  app.enableShutdownHooks();
  await definition.beforeListen?.(app, context);
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.HTTP_PORT;
  logger.info({ 'url.port': port, instance }, `${definition.name} listening`);
  return { app, context };
}

/**
 * main.ts entry: start, or log why not and exit 1 (a supervisor restarts; a human reads the reason). Every
 * line is ECS JSON on stdout, the failure included, so Fluent Bit ships it with the service's other logs.
 */
export function runService<C extends BaseServiceConfig>(definition: ServiceDefinition<C>): void {
  const fallback = createLogger({ service: definition.name });
  exitOnUncaughtErrors(definition.name, fallback);
  // The watchdog is the process's, so here and not in startService (which tests also run in their own process).
  startService(definition).then(
    ({ context }) => armShutdownWatchdog(context.logger, context.config.SHUTDOWN_TIMEOUT_MS),
    (error: unknown) => {
      fallback.fatal({ error }, `${definition.name} failed to start`);
      process.exit(1);
    },
  );
}

/**
 * Node's own report of an uncaught exception or unhandled rejection is plain text on stderr: log it as ECS
 * instead, then exit 1 as Node would have.
 */
function exitOnUncaughtErrors(service: string, logger: Logger): void {
  process.on('uncaughtException', (error) => {
    logger.fatal({ error }, `${service}: uncaught exception; exiting`);
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    logger.fatal({ error: reason }, `${service}: unhandled promise rejection; exiting`);
    process.exit(1);
  });
}
