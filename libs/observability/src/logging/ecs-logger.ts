import { hostname } from 'node:os';
import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export interface LoggerSettings {
  service: string;
  level?: string;
  instance?: string;
  /** Where to write; defaults to stdout (what Fluent Bit ships). Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream;
}

/**
 * Paths that may carry credentials. Redaction happens in pino before serialization, so a secret never
 * reaches stdout even when a caller logs a whole request or config object by mistake.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'sasl',
  '*.sasl',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
];

/** ECS error fields, so Kibana shows type, message and stack in their usual columns. */
export function ecsError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return { type: error.name, message: error.message, stack_trace: error.stack };
  }
  return { message: String(error) };
}

/**
 * A pino logger writing Elastic Common Schema JSON: `@timestamp`, `log.level`, `message`, `service.name`,
 * `trace.id`/`span.id` of the active OpenTelemetry span, and `error.*`. One line per event on stdout.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    messageKey: 'message',
    errorKey: 'error',
    timestamp: () => `,"@timestamp":"${new Date().toISOString()}"`,
    base: {
      ecs: { version: '8.11.0' },
      service: { name: settings.service, ...(settings.instance ? { node: { name: settings.instance } } : {}) },
      process: { pid: process.pid },
      host: { hostname: hostname() },
    },
    formatters: {
      level: (label) => ({ log: { level: label } }),
    },
    serializers: {
      error: ecsError,
      err: ecsError,
    },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    mixin: traceFields,
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

function traceFields(): Record<string, unknown> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace: { id: traceId }, span: { id: spanId } };
}
