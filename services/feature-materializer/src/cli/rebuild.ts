/**
 * Recomputes a feature set's state from the retained events.enriched.v1 from scratch, into its own state
 * namespace and with its own consumer group, while the live materializer keeps running:
 *
 *   node dist/services/feature-materializer/src/cli/rebuild.js --feature-set-version <v> [--namespace <ns>] [--reset]
 *
 * Reads the same env as the service (KAFKA_*, TOPIC_PREFIX, SCHEMA_REGISTRY_URL, DATABASE_URL,
 * FEATURES_ALLOWED_LATENESS_MS). <v> must be the version of the definition in this build (a rebuild can
 * only compute the code it runs). Default namespace: `<v>-rebuild`. Writes entity state, online rows and
 * the offline log of that namespace; produces no vectors (the live stream is not duplicated). Exits 0 once
 * every partition's stored offset reached the end offsets taken at start. Exactly-once like the live one:
 * kill it and run it again, it continues (or pass --reset to start over).
 */
import { schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { ensureDatabase } from '@flywheel/database';
import { AvroSerde, createKafkaClient, FlywheelProducer, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { createLogger, createMetricsRegistry } from '@flywheel/observability';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { loadFeatureMaterializerConfig } from '../config';
import { DATABASE_SCHEMA } from '../database-schema';
import { featureSetFor } from '../feature-set.provider';
import { FEATURE_MIGRATIONS } from '../migrations';
import { FeatureStore } from '../store/feature-store';
import { Materializer } from '../stream/materializer';

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<number> {
  const config = loadFeatureMaterializerConfig();
  const featureSet = featureSetFor(config);
  const version = arg('feature-set-version');
  if (!version) {
    process.stderr.write('usage: rebuild --feature-set-version <v> [--namespace <ns>] [--reset]\n');
    return 2;
  }
  if (version !== featureSet.version) {
    process.stderr.write(
      `this build defines ${featureSet.name} version ${featureSet.version}, not ${version}: deploy that definition to rebuild it\n`,
    );
    return 2;
  }
  const namespace = arg('namespace') ?? `${version}-rebuild`;
  const logger = createLogger({
    service: 'feature-materializer-rebuild',
    level: config.LOG_LEVEL,
    destination: process.stderr,
  });
  await ensureDatabase(config.DATABASE_URL, DATABASE_SCHEMA);
  const migrations = new DataSource({
    type: 'postgres',
    url: config.DATABASE_URL,
    schema: DATABASE_SCHEMA,
    migrations: FEATURE_MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
  });
  await migrations.initialize();
  await migrations.runMigrations();
  await migrations.destroy();

  const store = new FeatureStore(new Pool({ connectionString: config.DATABASE_URL, max: 4 }));
  if (process.argv.includes('--reset')) await store.dropNamespace(namespace);
  const kafka = createKafkaClient({ ...kafkaConnectionFromEnv(config, 'feature-materializer-rebuild'), logger });
  const serde = AvroSerde.connect(config.SCHEMA_REGISTRY_URL, schemaFor);
  const metrics = createMetricsRegistry('feature-materializer-rebuild');
  const producer = new FlywheelProducer(kafka, serde, { registry: metrics });
  await producer.connect();
  const enriched = withPrefix(config.TOPIC_PREFIX, topics.eventsEnriched);
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map((await admin.fetchTopicOffsets(enriched)).map((o) => [o.partition, Number(o.high)]));
  await admin.disconnect();

  const materializer = new Materializer({
    kafka,
    serde,
    producer,
    store,
    featureSet,
    namespace,
    groupId: `${config.FEATURES_GROUP_ID}-rebuild-${namespace}`,
    stage: 'feature-materializer-rebuild',
    topicPrefix: config.TOPIC_PREFIX,
    emitVectors: false,
    consumeLabels: false,
    partitionsConcurrently: config.FEATURES_PARTITIONS_CONCURRENTLY,
    maxWaitTimeInMs: config.FEATURES_MAX_WAIT_MS,
    maxBytesPerPartition: config.FEATURES_MAX_BYTES_PER_PARTITION,
    sessionTimeoutMs: config.FEATURES_SESSION_TIMEOUT_MS,
    metrics,
    logger,
  });
  const started = Date.now();
  logger.info({ namespace, version, ends: Object.fromEntries(ends) }, 'rebuild started');
  await materializer.start();
  while (!(await materializer.caughtUp(ends))) await new Promise((r) => setTimeout(r, 500));
  await materializer.stop();
  await producer.disconnect();
  const entities = await store.entityCount(namespace);
  await store.pool.end();
  logger.info({ namespace, version, entities, ms: Date.now() - started }, 'rebuild finished');
  process.stdout.write(
    `${JSON.stringify({ namespace, feature_set_version: version, entities, ms: Date.now() - started })}\n`,
  );
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // ECS like the rest of its logs (a Kubernetes Job's output is shipped with the services' logs).
    createLogger({ service: 'feature-materializer-rebuild', destination: process.stderr }).fatal(
      { error },
      'rebuild failed',
    );
    process.exit(1);
  },
);
