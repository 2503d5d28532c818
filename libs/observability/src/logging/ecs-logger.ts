import { hostname } from 'node:os';
import { type Context, trace } from '@opentelemetry/api';
import pino, { type Logger, type LoggerOptions } from 'pino';

export interface LoggerSettings {
  service: string;
  level?: string;
  instance?: string;
  /** Where to write; defaults to stdout (what Fluent Bit ships). Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream;
}

/** Config variables that hold credentials, at the top level or one object down (a logged config). */
const SECRET_CONFIG_KEYS = [
  'DATABASE_URL',
  'FEATURES_DATABASE_URL',
  'KAFKA_SASL_PASSWORD',
  'ENRICHMENT_ADMIN_TOKEN',
  'REGISTRY_ADMIN_TOKEN',
  'REGISTRY_READ_TOKEN',
  'REGISTRY_TOKEN',
  'TRAINER_REGISTRY_TOKEN',
  'ALERTER_ADMIN_TOKEN',
  'ALERT_WEBHOOKS',
];

/**
 * Paths that may carry credentials. Redaction happens in pino before serialization, so a secret never
 * reaches stdout even when a caller logs a whole request or config object by mistake.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'credential',
  '*.credential',
  'authorization',
  'connectionString',
  '*.connectionString',
  'sasl',
  '*.sasl',
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  ...SECRET_CONFIG_KEYS,
  ...SECRET_CONFIG_KEYS.map((key) => `*.${key}`),
];

/** `scheme://user:password@` in free text (an error naming a connection string): the password goes. */
const URL_CREDENTIALS = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:@/]*:)[^\s@/]+@/gi;

/** Masks passwords of URLs in a text; cheap when the text holds no URL. */
export function scrubCredentials(text: string): string {
  return text.includes('://') ? text.replace(URL_CREDENTIALS, '$1[redacted]@') : text;
}

/** ECS error fields, so Kibana shows type, message and stack in their usual columns. */
export function ecsError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    return {
      type: error.name,
      message: scrubCredentials(error.message),
      stack_trace: error.stack === undefined ? undefined : scrubCredentials(error.stack),
    };
  }
  if (error !== null && typeof error === 'object') {
    // Already ECS-shaped (or a plain { message }): keep its fields, scrubbed.
    const { type, message, stack_trace } = error as Record<string, unknown>;
    return {
      type,
      message: typeof message === 'string' ? scrubCredentials(message) : message,
      stack_trace: typeof stack_trace === 'string' ? scrubCredentials(stack_trace) : stack_trace,
    };
  }
  return { message: scrubCredentials(String(error)) };
}

/** `trace.id`/`span.id` of a context's span, as ECS fields (empty when there is no valid span). */
export function traceFieldsOf(ctx: Context | undefined): Record<string, unknown> {
  const spanContext = ctx ? trace.getSpanContext(ctx) : undefined;
  if (!spanContext || !trace.isSpanContextValid(spanContext)) return {};
  return { trace: { id: spanContext.traceId }, span: { id: spanContext.spanId } };
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
      // nestjs-pino, pino-http and a few call sites log `err`: move it to ECS `error` (one column in Kibana).
      log: (object) => {
        if (!('err' in object)) return object;
        const { err, ...rest } = object;
        return 'error' in rest ? object : { ...rest, error: err };
      },
    },
    serializers: {
      error: ecsError,
      err: ecsError,
    },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    hooks: {
      // A message text may quote a connection string (a library's error text logged as the message).
      logMethod(args, method) {
        for (let i = 0; i < args.length; i++) {
          if (typeof args[i] === 'string') args[i] = scrubCredentials(args[i] as string);
        }
        return method.apply(this, args as Parameters<typeof method>);
      },
    },
    mixin: activeTraceFields,
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

function activeTraceFields(): Record<string, unknown> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  if (!trace.isSpanContextValid(span.spanContext())) return {};
  return { trace: { id: traceId }, span: { id: spanId } };
}
