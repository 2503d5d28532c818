import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  ensureTopics,
  type ModelTrained,
  type RetrainRequested,
  schemaFor,
  type TrainRefused,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { ensureDatabase } from '@flywheel/database';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { SYNTHETIC_FEATURES, syntheticFraudData } from '@flywheel/ml';
import {
  databaseUrl,
  dropDatabase,
  REPO_ROOT,
  type ServiceProcess,
  startRegistryProcess,
  startServiceProcess,
  testPrefix,
  waitUntil,
} from '@flywheel/testing';
import type { Consumer, Kafka } from 'kafkajs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { DATABASE_SCHEMA as FEATURES_SCHEMA } from '../../services/feature-materializer/src/database-schema';
import { FEATURE_MIGRATIONS } from '../../services/feature-materializer/src/migrations';
import { ADMIN_TOKEN, api } from '../../services/registry/test/model-fixtures';

const run = promisify(execFile);
const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 10, 6);
const ROWS = 1_500;
const FSV = 'fs-trainer-test';
const MODEL = 'fraud';

/**
 * The built trainer process on the real broker and Postgres, with the built registry (automatic policy): the
 * feature store's tables are created by the feature-materializer's own migration and seeded with an offline log +
 * labels; a retrain request yields models.trained.v1, the registry registers and promotes it; a request whose
 * window holds too few rows yields models.train-refused.v1 with the reason.
 */
describe('trainer on Kafka', () => {
  const env = testEnv();
  const prefix = testPrefix('trainer');
  const requestTopic = withPrefix(prefix, topics.modelsRetrainRequested);
  const trainedTopic = withPrefix(prefix, topics.modelsTrained);
  const refusedTopic = withPrefix(prefix, topics.modelsTrainRefused);
  const trained: ModelTrained[] = [];
  const refused: TrainRefused[] = [];
  let kafka: Kafka;
  let serde: AvroSerde;
  let producer: FlywheelProducer;
  let watcher: Consumer;
  let dbUrl: string;
  let registry: ServiceProcess | undefined;
  let trainer: ServiceProcess | undefined;

  const trainerEnv = (): Record<string, string> => ({
    FEATURES_DATABASE_URL: dbUrl,
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    TOPIC_PREFIX: prefix,
    REGISTRY_URL: registry?.url as string,
    TRAINER_REGISTRY_TOKEN: ADMIN_TOKEN,
    TRAINER_FEATURE_SET_VERSION: FSV,
    TRAINER_FEATURE_NAMES: SYNTHETIC_FEATURES.join(','),
    TRAINER_WINDOW_MS: String(7 * 24 * 60 * MINUTE),
    TRAINER_EPOCHS: '5',
    MIN_TRAINING_ROWS: '500',
    LOG_LEVEL: 'warn',
  });

  const request = (requestedAt: number): RetrainRequested => ({
    request_id: randomUUID(),
    model_name: MODEL,
    model_version: 0,
    requested_at: requestedAt,
    requested_by: 'trainer-test',
    reason: 'MANUAL',
    evidence: [],
  });
  const send = (r: RetrainRequested) => producer.send(requestTopic, [{ key: r.model_name, value: r }]);

  /** The feature store's tables, made by its own migration, seeded as the materializer would write them. */
  async function seedFeatureStore(): Promise<void> {
    await ensureDatabase(dbUrl, FEATURES_SCHEMA);
    const migrations = new DataSource({
      type: 'postgres',
      url: dbUrl,
      schema: FEATURES_SCHEMA,
      migrations: FEATURE_MIGRATIONS,
      migrationsTableName: 'migrations',
      migrationsTransactionMode: 'each',
    });
    await migrations.initialize();
    await migrations.runMigrations();
    await migrations.destroy();
    const db = new Client({ connectionString: dbUrl });
    await db.connect();
    try {
      const data = syntheticFraudData(ROWS, 21);
      const times = data.map((_, i) => T0 + i * MINUTE);
      const DAY = 24 * 60 * MINUTE;
      for (let day = Math.floor(times[0] / DAY); day <= Math.floor(times[ROWS - 1] / DAY); day++) {
        const name = `offline_vectors_${new Date(day * DAY).toISOString().slice(0, 10).replaceAll('-', '')}`;
        await db.query(
          `CREATE TABLE features."${name}" PARTITION OF features.offline_vectors FOR VALUES FROM (${day * DAY}) TO (${(day + 1) * DAY})`,
        );
      }
      const ids = data.map((_, i) => `ev-${i}`);
      // The log stores values as float8[] in the order the version registered: here NOT the model's order,
      // so the training set has to map them back by name.
      const stored = [...SYNTHETIC_FEATURES].reverse();
      await db.query(
        `INSERT INTO features.feature_set_versions (feature_set_version, feature_set, feature_names)
         VALUES ($1, 'payments-fraud', $2::text[])`,
        [FSV, stored],
      );
      await db.query(
        `INSERT INTO features.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
         SELECT $1, u.id, u.entity, u.t, 'payments-fraud', $1, u.f::float8[]
           FROM unnest($2::text[], $3::text[], $4::bigint[], $5::text[]) AS u(id, entity, t, f)`,
        [
          FSV,
          ids,
          ids.map((_, i) => `acct-${i % 40}`),
          times,
          data.map((r) => `{${stored.map((name) => r.features[name]).join(',')}}`),
        ],
      );
      // Labels arrive 30 s after their event; the first 10 events have no label (not in any training set).
      const labelled = data.map((r, i) => ({ r, i })).filter(({ i }) => i >= 10);
      await db.query(
        `INSERT INTO features.labels (event_id, account_id, is_fraud, label_time, source)
         SELECT u.id, 'acct', u.fraud, u.t, 'test' FROM unnest($1::text[], $2::boolean[], $3::bigint[]) AS u(id, fraud, t)`,
        [
          labelled.map(({ i }) => ids[i]),
          labelled.map(({ r }) => r.label === 1),
          labelled.map(({ i }) => times[i] + 30_000),
        ],
      );
    } finally {
      await db.end();
    }
  }

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'trainer-test' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, {
      prefix,
      only: [topics.modelsRetrainRequested, topics.modelsTrained, topics.modelsTrainRefused, topics.modelsLifecycle],
    });
    await admin.disconnect();
    serde = AvroSerde.connect(env.schemaRegistryUrl, schemaFor);
    producer = new FlywheelProducer(kafka, serde);
    await producer.connect([requestTopic]);
    watcher = kafka.consumer({ groupId: `watch-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
    await watcher.connect();
    await watcher.subscribe({ topics: [trainedTopic, refusedTopic], fromBeginning: true });
    await watcher.run({
      eachMessage: async ({ topic, message }) => {
        expect(message.key?.toString()).toBe(MODEL);
        if (topic === trainedTopic) trained.push(await serde.decode<ModelTrained>(topic, message.value));
        else refused.push(await serde.decode<TrainRefused>(topic, message.value));
      },
    });
    dbUrl = await databaseUrl(env.databaseUrl, `flywheel_test_trainer_${randomBytes(4).toString('hex')}`);
    await seedFeatureStore();
    // the registry shares the test's database (the feature store's schema is seeded into it above)
    registry = await startRegistryProcess({
      kafkaBrokers: env.kafkaBrokers,
      schemaRegistryUrl: env.schemaRegistryUrl,
      databaseServerUrl: env.databaseUrl,
      databaseUrl: dbUrl,
      label: 'trainer',
      topicPrefix: prefix,
      adminToken: ADMIN_TOKEN,
      policy: 'automatic',
    });
    trainer = await startServiceProcess('trainer', { env: trainerEnv() });
  });

  afterAll(async () => {
    await trainer?.stop();
    await registry?.stop();
    await watcher?.disconnect();
    await producer?.disconnect();
    if (dbUrl) await dropDatabase(dbUrl);
  });

  const windowEnd = T0 + ROWS * MINUTE;

  it('trains on a retrain request; the registry registers the version and promotes it (no Production before)', async () => {
    const first = request(windowEnd);
    await send(first);
    await waitUntil(() => trained.length === 1, { message: 'models.trained.v1', timeoutMs: 120_000 });
    const event = trained[0];
    expect(event).toMatchObject({
      model_name: MODEL,
      retrain_request_id: first.request_id,
      feature_set_version: FSV,
      feature_names: [...SYNTHETIC_FEATURES],
      production_version: null,
      production_metrics: null,
      parent_version: null,
      training_window_end: windowEnd,
      artifact_uri: `/v1/artifacts/${event.artifact_sha256}`,
    });
    // every labelled row (10 unlabelled events are not training data), split by time 80/20
    expect(event.metrics.train_rows + event.metrics.holdout_rows).toBe(ROWS - 10);
    expect(event.metrics.holdout_rows).toBeGreaterThan(250);
    expect(event.metrics.holdout_rows).toBeLessThan(330);
    expect(event.metrics.auc).toBeGreaterThan(0.6);
    expect(event.metrics.auc).toBeLessThanOrEqual(1);
    expect(event.metrics.log_loss).toBeGreaterThan(0);
    expect(event.metrics.log_loss).toBeLessThan(1);
    expect(event.baseline.features).toHaveLength(SYNTHETIC_FEATURES.length);
    for (const h of [...event.baseline.features, event.baseline.score]) {
      expect(h.counts.length).toBe(h.bin_edges.length - 1);
    }
    expect(event.baseline.features[0].counts.reduce((a, b) => a + b, 0)).toBe(event.metrics.train_rows);

    const url = registry?.url as string;
    await waitUntil(async () => (await api(url, 'GET', `/v1/models/${MODEL}`)).body?.production_version === 1, {
      message: 'version 1 promoted to Production',
      timeoutMs: 60_000,
    });
    const list = (await api(url, 'GET', `/v1/models/${MODEL}/versions`)).body as Array<Record<string, unknown>>;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({
      version: 1,
      stage: 'Production',
      artifact_sha256: event.artifact_sha256,
      run_id: event.run_id,
      retrain_request_id: first.request_id,
    });
    // the uploaded artifact is the one named
    const artifact = await api(url, 'GET', event.artifact_uri, { token: null });
    expect(artifact.status).toBe(200);
    expect(artifact.raw.length).toBe(event.artifact_size_bytes);
  });

  it('refuses a window with too few labelled rows, saying why', async () => {
    // the window [end − 7 d, end) with end = T0 + 100 min holds 100 events, 90 of them labelled
    const narrow = request(T0 + 100 * MINUTE);
    await send(narrow);
    await waitUntil(() => refused.some((r) => r.request_id === narrow.request_id), {
      message: 'models.train-refused.v1',
      timeoutMs: 60_000,
    });
    const refusal = refused.find((r) => r.request_id === narrow.request_id);
    expect(refusal).toMatchObject({ model_name: MODEL, reason_code: 'INSUFFICIENT_ROWS', rows: 90 });
    expect(refusal?.message).toMatch(/only 90 labelled rows .* need 500/);
    expect(refusal?.positives).toBeGreaterThanOrEqual(0);
    expect(trained).toHaveLength(1);
  });

  it('is deterministic and compares with Production on the same holdout (service again, and the CLI)', async () => {
    const again = request(windowEnd);
    await send(again);
    await waitUntil(() => trained.length === 2, { message: 'second models.trained.v1', timeoutMs: 120_000 });
    const [first, second] = trained;
    expect(second.artifact_sha256).toBe(first.artifact_sha256);
    expect(second.run_id).not.toBe(first.run_id);
    expect(second.production_version).toBe(1);
    expect(second.parent_version).toBe(1);
    // Production is the same model: on the same holdout it scores exactly the same
    expect(second.production_metrics?.auc).toBeCloseTo(second.metrics.auc, 10);
    expect(second.production_metrics?.log_loss).toBeCloseTo(second.metrics.log_loss, 6);
    expect(second.production_metrics?.holdout_rows).toBe(second.metrics.holdout_rows);
    // not better than Production by the margin on the same holdout → registered, kept in Staging
    const url = registry?.url as string;
    await waitUntil(async () => (await api(url, 'GET', `/v1/models/${MODEL}/versions/2`)).status === 200, {
      message: 'version 2 registered',
      timeoutMs: 60_000,
    });
    await waitUntil(async () => (await api(url, 'GET', `/v1/models/${MODEL}/versions/2`)).body?.stage === 'Staging', {
      message: 'version 2 in Staging',
      timeoutMs: 30_000,
    });
    expect((await api(url, 'GET', `/v1/models/${MODEL}`)).body).toMatchObject({ production_version: 1 });

    // the CLI over the same window trains the same bytes (dry run: uploads, publishes nothing)
    const { stdout } = await run(
      process.execPath,
      [
        resolve(REPO_ROOT, 'dist/services/trainer/src/cli/train.js'),
        '--model',
        MODEL,
        '--from',
        new Date(first.training_window_start).toISOString(),
        '--to',
        new Date(first.training_window_end).toISOString(),
        '--dry-run',
      ],
      { env: { ...process.env, ...trainerEnv() }, timeout: 120_000 },
    );
    const summary = JSON.parse(stdout.trim().split('\n').pop() as string);
    expect(summary).toMatchObject({ outcome: 'trained', published: false, artifact_sha256: first.artifact_sha256 });
  });
});
