import { databaseEnv, kafkaEnv, loadConfig, observabilityEnv, schemaRegistryEnv } from '@flywheel/config';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

const BatchScorerEnv = z.object({
  /** Where results, runs and checkpoints go (schema `batch_scoring`, created and migrated on start). */
  ...databaseEnv,
  /**
   * The feature store's offline log (`features.offline_vectors`), READ-ONLY, like the trainer's: the offline
   * log is the feature store's published interface for training and batch scoring. Default: DATABASE_URL.
   */
  FEATURES_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  FEATURES_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('features'),
  /** State namespace of the offline log to read; default: the model's feature-set version (the live one). */
  FEATURES_NAMESPACE: optionalString,
  /** Model registry base URL (versions, aliases, artifacts); token sent as Bearer when set. */
  REGISTRY_URL: z.url().default('http://127.0.0.1:8081'),
  REGISTRY_TOKEN: optionalString,
  REGISTRY_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  ML_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Rows per cursor FETCH = rows per checkpoint (one results INSERT + checkpoint per chunk). */
  BATCH_CHUNK_ROWS: z.coerce.number().int().min(1).max(100_000).default(8192),
  /** Rows per tensor (one predict call). */
  BATCH_MICRO_BATCH_ROWS: z.coerce.number().int().min(1).max(65_536).default(2048),
  /** How long to wait for another process's hold on the same run shard (a killed run's backend ending). */
  BATCH_LOCK_TIMEOUT_MS: z.coerce.number().int().min(0).default(15_000),
  /** Progress line period on stderr. */
  BATCH_PROGRESS_INTERVAL_MS: z.coerce.number().int().min(100).default(2_000),
  /** Serve GET /metrics on this port while the run lasts (Prometheus scrapes it); unset = no server. */
  BATCH_METRICS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BATCH_METRICS_HOST: z.string().default('0.0.0.0'),
  /** Write the metrics in Prometheus text format to this file at the end (node_exporter textfile collector). */
  BATCH_METRICS_FILE: optionalString,
  /** --to-topic: Kafka and the schema registry for predictions.batch.v1. */
  ...kafkaEnv,
  ...schemaRegistryEnv,
  PRODUCE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  ...observabilityEnv,
});

export type BatchScorerConfig = Readonly<z.infer<typeof BatchScorerEnv>>;

/** The one place batch-scorer reads its environment; tests and `flywheel score-batch` pass their own `env`. */
export function loadBatchScorerConfig(env: NodeJS.ProcessEnv = process.env): BatchScorerConfig {
  return loadConfig(BatchScorerEnv, env);
}
