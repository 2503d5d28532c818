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

const EnrichmentEnv = z.object({
  ...httpEnv,
  HTTP_PORT: httpEnv.HTTP_PORT.default(8082),
  ...kafkaEnv,
  ...schemaRegistryEnv,
  ...databaseEnv,
  ...observabilityEnv,
  /** Bearer token for reference-data writes. Unset: every write answers 403 (read-only deployment). */
  ENRICHMENT_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  ENRICHMENT_GROUP_ID: z.string().min(1).default('enrichment-api'),
  /** A brand-new group starts at the oldest retained event, so nothing produced before the first start is skipped. */
  CONSUMER_FROM_BEGINNING: envBool(true),
  CONSUMER_MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(5_000).default(500),
  /** How long a silent (crashed) member keeps its partitions before the group hands them to another instance. */
  CONSUMER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).max(300_000).default(30_000),
  CONSUMER_PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(3),
  /** ISO-4217 code amounts are converted to (EnrichedEvent.base_currency); it always has rate 1. */
  BASE_CURRENCY: z
    .string()
    .regex(/^[A-Z]{3}$/, 'must be an ISO-4217 code in upper case')
    .default('EUR'),
  /** Rule amount-max: events whose amount in BASE_CURRENCY exceeds this are dead-lettered. */
  MAX_AMOUNT_BASE: z.coerce.number().positive().default(1_000_000),
  /** Rule event-time-not-future: tolerated clock skew between producers and this service. */
  MAX_CLOCK_SKEW_MS: z.coerce.number().int().min(0).default(300_000),
  /** LRU capacity per reference kind (accounts, merchants, currency rates), entries. */
  CACHE_MAX_ENTRIES: z.coerce.number().int().min(1).default(100_000),
  /** Safety net behind LISTEN/NOTIFY invalidation: an entry is re-read at least this often. */
  CACHE_TTL_MS: z.coerce.number().int().min(0).default(30_000),
});

export type EnrichmentConfig = Readonly<z.infer<typeof EnrichmentEnv>>;

/** The one place enrichment-api reads its environment; tests pass their own `env`. */
export function loadEnrichmentConfig(env: NodeJS.ProcessEnv = process.env): EnrichmentConfig {
  return loadConfig(EnrichmentEnv, env);
}
