import { API_KEY_CACHE_MS_DEFAULT } from '@flywheel/api-keys';
import { databaseEnv, httpEnv, kafkaEnv, loadConfig, observabilityEnv, schemaRegistryEnv } from '@flywheel/config';
import { z } from 'zod';

const int = (min: number) => z.coerce.number().int().min(min);

const CollectorEnv = z
  .object({
    ...httpEnv,
    HTTP_PORT: httpEnv.HTTP_PORT.default(8080),
    ...kafkaEnv,
    ...schemaRegistryEnv,
    ...databaseEnv,
    ...observabilityEnv,
    /** Largest request body, on the wire and after gzip decompression (413 above it). */
    COLLECTOR_MAX_BODY_BYTES: int(1024).default(1_048_576),
    /** Most events in one request (413 above it: split the batch). */
    COLLECTOR_MAX_EVENTS_PER_BATCH: int(1).default(1_000),
    /** Largest single event (its JSON bytes); a larger one is rejected alone with kind `size`. */
    COLLECTOR_MAX_EVENT_BYTES: int(64).default(32_768),
    /** Per API key and per replica, events per second; 0 turns rate limiting off. */
    COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND: int(0).default(20_000),
    /** Token-bucket capacity (burst), in events; default max(2 × rate, max events per batch). */
    COLLECTOR_RATE_LIMIT_BURST: int(1).optional(),
    /** Kafka must acknowledge a request's writes within this, or the request answers 503. */
    COLLECTOR_PRODUCE_TIMEOUT_MS: int(100).default(5_000),
    /** Retry-After (seconds) on 503; also how long readiness stays down after a failed produce. */
    COLLECTOR_RETRY_AFTER_SECONDS: int(1).default(5),
    /** How long a looked-up API key is trusted before Postgres is asked again (revocation delay). */
    COLLECTOR_API_KEY_CACHE_MS: int(0).default(API_KEY_CACHE_MS_DEFAULT),
    /** A dead-lettered original value (or whole body) is truncated to this many bytes. */
    COLLECTOR_DLQ_MAX_VALUE_BYTES: int(256).default(65_536),
    /**
     * Idempotent producers writing events, each owning the partitions p with p % lanes === its index: requests for
     * different partitions overlap instead of queueing behind one in-flight request per broker. Worth it when
     * Kafka's acknowledgement latency, not the collector's CPU, is the limit (3 brokers, acks=all); on the 2-core
     * bench machine 2-3 lanes cost 5-11% more CPU per event for no throughput gain, hence 1 by default.
     */
    COLLECTOR_PRODUCER_LANES: int(1).max(16).default(1),
    /** On SIGTERM, readiness goes down this long before the HTTP server stops accepting connections. */
    COLLECTOR_DRAIN_DELAY_MS: int(0).default(0),
  })
  .transform((c) => ({
    ...c,
    COLLECTOR_RATE_LIMIT_BURST:
      c.COLLECTOR_RATE_LIMIT_BURST ??
      Math.max(2 * c.COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND, c.COLLECTOR_MAX_EVENTS_PER_BATCH),
  }))
  .refine(
    (c) =>
      c.COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND === 0 ||
      c.COLLECTOR_RATE_LIMIT_BURST >= c.COLLECTOR_MAX_EVENTS_PER_BATCH,
    {
      message: 'COLLECTOR_RATE_LIMIT_BURST must be >= COLLECTOR_MAX_EVENTS_PER_BATCH, or a full batch could never pass',
      path: ['COLLECTOR_RATE_LIMIT_BURST'],
    },
  );

export type CollectorConfig = Readonly<z.infer<typeof CollectorEnv>>;

/** The one place the collector reads its environment; tests pass their own `env`. */
export function loadCollectorConfig(env: NodeJS.ProcessEnv = process.env): CollectorConfig {
  return loadConfig(CollectorEnv, env);
}

/** Injection token of the parsed config. */
export const COLLECTOR_CONFIG = Symbol('COLLECTOR_CONFIG');
