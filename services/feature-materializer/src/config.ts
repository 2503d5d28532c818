import { databaseEnv, httpEnv, kafkaEnv, loadConfig, observabilityEnv, schemaRegistryEnv } from '@flywheel/config';
import { z } from 'zod';

const FeatureMaterializerEnv = z.object({
  ...httpEnv,
  HTTP_PORT: httpEnv.HTTP_PORT.default(8083),
  ...kafkaEnv,
  ...schemaRegistryEnv,
  ...databaseEnv,
  ...observabilityEnv,
  /** Consumer group of events.enriched.v1 and labels.v1 (membership only: positions live in Postgres). */
  FEATURES_GROUP_ID: z.string().min(1).default('feature-materializer'),
  /** State namespace (entity state, offsets, online and offline rows); default: the feature set version. */
  FEATURES_NAMESPACE: z.string().min(1).optional(),
  /** Overrides the definition's allowed lateness; this is part of the definition, so it changes the version. */
  FEATURES_ALLOWED_LATENESS_MS: z.coerce.number().int().min(0).optional(),
  FEATURES_PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(12).default(3),
  FEATURES_MAX_WAIT_MS: z.coerce.number().int().min(1).max(10_000).default(500),
  FEATURES_MAX_BYTES_PER_PARTITION: z.coerce.number().int().min(1024).default(1_048_576),
  FEATURES_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(30_000),
  FEATURES_DB_POOL_SIZE: z.coerce.number().int().min(2).max(100).default(6),
});

export type FeatureMaterializerConfig = Readonly<z.infer<typeof FeatureMaterializerEnv>>;

/** The one place feature-materializer reads its environment. */
export function loadFeatureMaterializerConfig(env: NodeJS.ProcessEnv = process.env): FeatureMaterializerConfig {
  return loadConfig(FeatureMaterializerEnv, env);
}
