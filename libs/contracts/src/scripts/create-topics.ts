/**
 * Creates every catalog topic that is missing (idempotent; safe to run on every deploy).
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 npm run topics:create [-- --prefix t-1.]
 *
 * Env: KAFKA_BROKERS (required, comma-separated host:port), TOPIC_REPLICATION_FACTOR (default 1),
 * TOPIC_MIN_INSYNC_REPLICAS (optional), TOPIC_PREFIX (optional; `--prefix` wins).
 * Exit code 0 when every topic exists afterwards, 1 otherwise (the reason is printed).
 */

import { Kafka, logLevel } from 'kafkajs';
import { z } from 'zod';
import { type EnsureTopicsLogger, ensureTopics } from '../ensure-topics';

const Env = z.object({
  KAFKA_BROKERS: z
    .string({ error: 'is required (comma-separated host:port list)' })
    .transform((s) =>
      s
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.string().regex(/^[^:\s]+:\d+$/, 'each broker must be host:port')).min(1, 'lists no broker')),
  TOPIC_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  TOPIC_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).optional(),
  TOPIC_PREFIX: z.string().optional(),
});

function prefixFromArgs(argv: readonly string[]): string | undefined {
  const i = argv.findIndex((a) => a === '--prefix' || a.startsWith('--prefix='));
  if (i < 0) return undefined;
  const arg = argv[i]!;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
}

const log: EnsureTopicsLogger = {
  info: (m) => console.log(`create-topics: ${m}`),
  warn: (m) => console.warn(`create-topics: WARNING ${m}`),
};

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`bad environment: ${issues}`);
  }
  const env = parsed.data;
  const prefix = prefixFromArgs(process.argv.slice(2)) ?? env.TOPIC_PREFIX;

  // kafkajs' own logging is silenced: failures surface once, as the error below
  const kafka = new Kafka({
    clientId: 'flywheel-create-topics',
    brokers: env.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 5_000,
    retry: { retries: 4 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`cannot connect to Kafka at ${env.KAFKA_BROKERS.join(',')}: ${(err as Error).message}`);
  }
  try {
    const result = await ensureTopics(admin, {
      prefix,
      replicationFactor: env.TOPIC_REPLICATION_FACTOR,
      minInsyncReplicas: env.TOPIC_MIN_INSYNC_REPLICAS,
      logger: log,
    });
    log.info(
      `done: ${result.created.length} created, ${result.existing.length} already existed, ${result.warnings.length} warnings`,
    );
  } finally {
    await admin.disconnect();
  }
}

main().catch((err: unknown) => {
  console.error(`create-topics: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
