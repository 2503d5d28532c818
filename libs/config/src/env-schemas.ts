import { z } from 'zod';

/** Env variables every service shares. Each service extends these with its own fields in its config.ts. */

const csv = z
  .string()
  .min(1)
  .transform((s) =>
    s
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  );

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const envBool = (fallback: boolean) => bool.default(fallback);

export const httpEnv = {
  HTTP_HOST: z.string().default('0.0.0.0'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535),
};

export const kafkaEnv = {
  KAFKA_BROKERS: csv.default(['127.0.0.1:9092']),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().min(1).optional(),
  KAFKA_SSL: envBool(false),
  /** Prefix for every topic name: lets several meshes (or tests) share one cluster. */
  TOPIC_PREFIX: z.string().default(''),
};

export const schemaRegistryEnv = {
  SCHEMA_REGISTRY_URL: z.url().default('http://127.0.0.1:8081'),
};

export const databaseEnv = {
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/flywheel'),
};

export const observabilityEnv = {
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  INSTANCE_ID: z.string().min(1).optional(),
  /** Longest a graceful shutdown (SIGTERM) may take before the process exits 1, logging what was still open. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(30_000),
};

export { csv as envList };
