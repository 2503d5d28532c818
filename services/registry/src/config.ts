import {
  databaseEnv,
  envBool,
  httpEnv,
  kafkaEnv,
  loadConfig,
  observabilityEnv,
  schemaRegistryEnv,
} from '@flywheel/config';
import { z } from 'zod';

const RegistryEnv = z.object({
  ...httpEnv,
  // 8081 is where Confluent clients look for a schema registry by default.
  HTTP_PORT: httpEnv.HTTP_PORT.default(8081),
  ...databaseEnv,
  ...observabilityEnv,
  ...kafkaEnv,
  /**
   * Schema registry the lifecycle producer and the models.trained.v1 consumer use. Unset: this process itself
   * (http://127.0.0.1:HTTP_PORT), registering the lifecycle schema lazily on the first send (it cannot at start-up:
   * the HTTP port is not open yet).
   */
  SCHEMA_REGISTRY_URL: schemaRegistryEnv.SCHEMA_REGISTRY_URL.unwrap().optional(),
  /**
   * The model registry's Kafka side: the outbox relay to models.lifecycle.v1 and the models.trained.v1 consumer.
   * On by default; off only for a schema-registry-only deployment without Kafka topics (the test harness runs it
   * that way). Writes always go to the outbox, so turning it on later sends what queued meanwhile.
   */
  REGISTRY_KAFKA_ENABLED: envBool(true),
  REGISTRY_CONSUMER_GROUP: z.string().min(1).optional(),
  /** Bearer token for model-registry writes. Unset: every write is refused (403). */
  REGISTRY_ADMIN_TOKEN: z.string().min(16).optional(),
  /** When true, model-registry reads (and artifact downloads) need REGISTRY_READ_TOKEN or the admin token. */
  REGISTRY_READS_REQUIRE_TOKEN: envBool(false),
  REGISTRY_READ_TOKEN: z.string().min(16).optional(),
  REGISTRY_ARTIFACT_MAX_BYTES: z.coerce
    .number()
    .int()
    .min(1)
    .default(64 * 1024 * 1024),
  REGISTRY_PROMOTION_POLICY: z.enum(['manual', 'automatic']).default('manual'),
  REGISTRY_PROMOTION_METRIC: z.string().min(1).default('auc'),
  /** max: higher is better (auc); min: lower is better (log_loss). */
  REGISTRY_PROMOTION_METRIC_GOAL: z.enum(['max', 'min']).default('max'),
  REGISTRY_PROMOTION_MARGIN: z.coerce.number().min(0).default(0.01),
  REGISTRY_OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  /** Test hook: outbox rows younger than this are not sent yet, widening the window between commit and send. */
  REGISTRY_OUTBOX_RELAY_DELAY_MS: z.coerce.number().int().min(0).default(0),
});

export type RegistryConfig = Readonly<z.infer<typeof RegistryEnv>>;

/** The one place the registry reads its environment; tests pass their own `env` instead of mutating process.env. */
export function loadRegistryConfig(env: NodeJS.ProcessEnv = process.env): RegistryConfig {
  return loadConfig(RegistryEnv, env);
}

/** SCHEMA_REGISTRY_URL, or this process itself. */
export function schemaRegistryUrlOf(config: RegistryConfig): string {
  return config.SCHEMA_REGISTRY_URL ?? `http://127.0.0.1:${config.HTTP_PORT}`;
}
