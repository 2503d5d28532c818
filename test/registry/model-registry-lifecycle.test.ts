import { randomBytes } from 'node:crypto';
import { ensureTopics, type ModelLifecycle, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import {
  databaseUrl,
  dropDatabase,
  type ServiceProcess,
  startRegistryProcess,
  testPrefix,
  waitUntil,
} from '@flywheel/testing';
import type { Consumer, Kafka } from 'kafkajs';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  ADMIN_TOKEN,
  api,
  makeArtifact,
  trainedEvent,
  uploadArtifact,
  versionBody,
} from '../../services/registry/test/model-fixtures';

/**
 * The registry as its own process (built dist/, as a user runs it) on the real broker and Postgres: lifecycle
 * events through the outbox, the promotion policy on models.trained.v1, and the outbox across a SIGKILL.
 */
describe('model registry lifecycle on Kafka', () => {
  const env = testEnv();
  const prefix = testPrefix('registry');
  const lifecycleTopic = withPrefix(prefix, topics.modelsLifecycle);
  const trainedTopic = withPrefix(prefix, topics.modelsTrained);
  const events: ModelLifecycle[] = [];
  let kafka: Kafka;
  let serde: AvroSerde;
  let producer: FlywheelProducer;
  let watcher: Consumer;
  let dbUrl: string;
  let registry: ServiceProcess | undefined;

  /** The registry on this test's database (kept across restarts), automatic policy unless `extra` says otherwise. */
  const startRegistry = (extra: Record<string, string> = {}) =>
    startRegistryProcess({
      kafkaBrokers: env.kafkaBrokers,
      schemaRegistryUrl: env.schemaRegistryUrl,
      databaseServerUrl: env.databaseUrl,
      databaseUrl: dbUrl,
      label: 'reglc',
      topicPrefix: prefix,
      adminToken: ADMIN_TOKEN,
      policy: 'automatic',
      env: { REGISTRY_PROMOTION_METRIC: 'auc', REGISTRY_PROMOTION_MARGIN: '0.01', ...extra },
    });

  /** Reads the lifecycle topic from offset 0 with a fresh consumer, until its end. */
  async function readLifecycleFromStart(): Promise<ModelLifecycle[]> {
    const admin = kafka.admin();
    await admin.connect();
    const [{ high }] = await admin.fetchTopicOffsets(lifecycleTopic);
    await admin.disconnect();
    const out: ModelLifecycle[] = [];
    const consumer = kafka.consumer({ groupId: `rebuild-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic: lifecycleTopic, fromBeginning: true });
    let last = -1;
    await consumer.run({
      eachMessage: async ({ message }) => {
        out.push(await serde.decode<ModelLifecycle>(lifecycleTopic, message.value));
        last = Number(message.offset);
      },
    });
    await waitUntil(() => last >= Number(high) - 1, { message: 'read the lifecycle topic to its end' });
    await consumer.disconnect();
    return out;
  }

  const ofModel = (model: string) => events.filter((e) => e.model_name === model);

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'registry-lifecycle-test' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.modelsLifecycle, topics.modelsTrained] });
    await admin.disconnect();
    serde = AvroSerde.connect(env.schemaRegistryUrl, schemaFor);
    producer = new FlywheelProducer(kafka, serde);
    await producer.connect([trainedTopic]);
    watcher = kafka.consumer({ groupId: `watch-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
    await watcher.connect();
    await watcher.subscribe({ topic: lifecycleTopic, fromBeginning: true });
    await watcher.run({
      eachMessage: async ({ message }) => {
        const value = await serde.decode<ModelLifecycle>(lifecycleTopic, message.value);
        expect(message.key?.toString()).toBe(value.model_name);
        events.push(value);
      },
    });
    dbUrl = await databaseUrl(env.databaseUrl, `flywheel_test_reglc_${randomBytes(4).toString('hex')}`);
    registry = await startRegistry();
  });

  afterAll(async () => {
    await registry?.stop();
    await watcher?.disconnect();
    await producer?.disconnect();
    if (dbUrl) await dropDatabase(dbUrl);
  });

  it('sends one event per change with the full state, and the topic read from the start rebuilds Production', async () => {
    const url = registry?.url as string;
    const model = `fraud-${randomBytes(3).toString('hex')}`;
    const a1 = makeArtifact('v1');
    const a2 = makeArtifact('v2');
    await uploadArtifact(url, a1);
    await uploadArtifact(url, a2);
    expect((await api(url, 'POST', `/v1/models/${model}/versions`, { body: versionBody(a1.sha256) })).status).toBe(201);
    await waitUntil(() => ofModel(model).length === 1, { message: 'REGISTERED event' });
    expect(ofModel(model)[0]).toMatchObject({
      change: 'REGISTERED',
      version: 1,
      to_stage: 'None',
      production: null,
      aliases: {},
    });

    const promote = await api(url, 'POST', `/v1/models/${model}/versions/1/stage`, {
      body: { stage: 'Production', reason: 'first model' },
    });
    expect(promote.status).toBe(200);
    await waitUntil(() => ofModel(model).length === 2, { message: 'STAGE_CHANGED event' });
    const promoted = ofModel(model)[1];
    expect(promoted).toMatchObject({
      change: 'STAGE_CHANGED',
      version: 1,
      from_stage: 'None',
      to_stage: 'Production',
      aliases: { champion: 1 },
      production_version: 1,
      production: {
        version: 1,
        artifact_uri: `/v1/artifacts/${a1.sha256}`,
        artifact_sha256: a1.sha256,
        feature_set_version: 'fs-1',
      },
      artifact_uri: `/v1/artifacts/${a1.sha256}`,
      actor: 'admin',
      reason: 'first model',
    });
    // The artifact_uri resolves against the registry URL to the exact bytes.
    const download = await api(url, 'GET', promoted.production?.artifact_uri as string, { token: null });
    expect(download.raw.equals(a1.bytes)).toBe(true);

    await api(url, 'POST', `/v1/models/${model}/versions`, { body: versionBody(a2.sha256) });
    await api(url, 'PUT', `/v1/models/${model}/aliases/challenger`, { body: { version: 2 } });
    await api(url, 'POST', `/v1/models/${model}/versions/2/stage`, { body: { stage: 'Production' } });
    await waitUntil(() => ofModel(model).length === 5, { message: 'five events' });
    expect(ofModel(model).map((e) => e.change)).toEqual([
      'REGISTERED',
      'STAGE_CHANGED',
      'REGISTERED',
      'ALIAS_SET',
      'STAGE_CHANGED',
    ]);
    expect(new Set(ofModel(model).map((e) => e.change_id)).size).toBe(5);

    // A consumer that only keeps the newest record per key (what compaction leaves) knows what is in Production.
    const latest = new Map<string, ModelLifecycle>();
    for (const event of await readLifecycleFromStart()) latest.set(event.model_name, event);
    const state = latest.get(model);
    expect(state?.production).toEqual({
      version: 2,
      artifact_uri: `/v1/artifacts/${a2.sha256}`,
      artifact_sha256: a2.sha256,
      feature_set_version: 'fs-1',
    });
    expect(state?.aliases).toEqual({ champion: 2, challenger: 2 });
    const served = (await api(url, 'GET', `/v1/models/${model}`)).body;
    expect(served).toMatchObject({ production_version: 2, aliases: { champion: 2, challenger: 2 } });
  });

  it('applies the automatic policy to models.trained.v1 and registers each run_id once', async () => {
    const url = registry?.url as string;
    const model = `auto-${randomBytes(3).toString('hex')}`;
    const artifacts = ['a', 'b', 'c', 'd', 'e'].map((label) => makeArtifact(label));
    for (const artifact of artifacts) await uploadArtifact(url, artifact);
    const send = (event: ReturnType<typeof trainedEvent>) =>
      producer.send(trainedTopic, [{ key: event.model_name, value: event }]);
    const version = async (v: number) => (await api(url, 'GET', `/v1/models/${model}/versions/${v}`)).body;
    const registered = (v: number) =>
      waitUntil(async () => (await api(url, 'GET', `/v1/models/${model}/versions/${v}`)).status === 200, {
        message: `version ${v} registered`,
        timeoutMs: 60_000,
      });

    // First candidate: nothing in Production → promoted.
    await send(trainedEvent(model, artifacts[0], { metrics: { auc: 0.8 } }));
    await registered(1);
    expect((await version(1)).stage).toBe('Production');

    // Better by the margin, on the same holdout → promoted; v1 archived.
    const better = trainedEvent(model, artifacts[1], {
      metrics: { auc: 0.86 },
      production_version: 1,
      production_metrics: { auc: 0.84 },
    });
    await send(better);
    await registered(2);
    expect((await version(2)).stage).toBe('Production');
    expect((await version(1)).stage).toBe('Archived');

    // Within the margin → stays in Staging, with the verdict in the history.
    await send(
      trainedEvent(model, artifacts[2], {
        metrics: { auc: 0.865 },
        production_version: 2,
        production_metrics: { auc: 0.86 },
      }),
    );
    await registered(3);
    expect((await version(3)).stage).toBe('Staging');

    // Far better but trained on another feature set → never promoted.
    await send(trainedEvent(model, artifacts[3], { metrics: { auc: 0.99 }, feature_set_version: 'fs-2' }));
    await registered(4);
    expect((await version(4)).stage).toBe('Staging');

    // A redelivered event (same run_id), then a marker: the marker gets version 5, the duplicate nothing.
    await send(better);
    await send(trainedEvent(model, artifacts[4], { metrics: { auc: 0.5 } }));
    await registered(5);
    const versions = (await api(url, 'GET', `/v1/models/${model}/versions`)).body as Array<{ run_id: string }>;
    expect(versions).toHaveLength(5);
    expect(versions.filter((v) => v.run_id === better.run_id)).toHaveLength(1);

    const history = (await api(url, 'GET', `/v1/models/${model}/history`)).body as Array<Record<string, unknown>>;
    const toStaging = (v: number) => history.find((h) => h.version === v && h.to_stage === 'Staging');
    expect(toStaging(3)).toMatchObject({
      actor: 'policy',
      reason: 'automatic promotion refused: auc 0.865 < 0.86 + 0.01 (Production v2, on the same holdout)',
    });
    expect(toStaging(4)?.reason).toContain("feature_set_version fs-2 differs from Production v2's fs-1");
    expect(history.find((h) => h.version === 2 && h.to_stage === 'Production')).toMatchObject({
      actor: 'policy',
      reason: 'automatic: auc 0.86 >= 0.84 + 0.01 (Production v1, on the same holdout)',
    });

    // Lifecycle: each registered run is REGISTERED → Staging (→ Production); the duplicate added nothing.
    await waitUntil(() => ofModel(model).length === 12, { message: `12 events, have ${ofModel(model).length}` });
    const last = ofModel(model).at(-1);
    expect(last).toMatchObject({ version: 5, to_stage: 'Staging', production_version: 2, aliases: { champion: 2 } });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_registry_models_promotion_decisions_total\{[^}]*decision="refused"[^}]*\} 3/);
  });

  it('keeps a committed change in the outbox across a SIGKILL and sends it exactly once after the restart (manual policy)', async () => {
    await registry?.stop();
    // The relay holds every row for 10 minutes: the change is committed, but not sent, when the process dies.
    registry = await startRegistry({ REGISTRY_OUTBOX_RELAY_DELAY_MS: '600000', REGISTRY_PROMOTION_POLICY: 'manual' });
    const url = registry.url;
    const model = `crash-${randomBytes(3).toString('hex')}`;
    const artifact = makeArtifact('crash');
    await uploadArtifact(url, artifact);
    await api(url, 'POST', `/v1/models/${model}/versions`, { body: versionBody(artifact.sha256) });
    const staged = await api(url, 'POST', `/v1/models/${model}/versions/1/stage`, { body: { stage: 'Staging' } });
    expect(staged.status).toBe(200);

    const db = new Client({ connectionString: dbUrl });
    await db.connect();
    try {
      const pending = await db.query(
        `SELECT change_id, payload->>'change' AS change FROM registry.model_outbox WHERE model_name = $1 AND sent_at IS NULL ORDER BY id`,
        [model],
      );
      expect(pending.rows.map((r) => r.change)).toEqual(['REGISTERED', 'STAGE_CHANGED']);
      const stageChangeId = pending.rows[1].change_id as string;
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/flywheel_registry_models_outbox_pending\{[^}]*\} 2\n/);

      await registry.kill();
      registry = await startRegistry({ REGISTRY_PROMOTION_POLICY: 'manual' });
      await waitUntil(() => ofModel(model).length === 2, { message: 'both changes sent after the restart' });
      expect(ofModel(model).map((e) => [e.change, e.change_id])).toEqual([
        ['REGISTERED', pending.rows[0].change_id],
        ['STAGE_CHANGED', stageChangeId],
      ]);
      // The relay marks a row sent after Kafka acknowledged it, so the events can be on the topic a moment
      // before the rows say so: poll for it.
      await waitUntil(
        async () =>
          (
            await db.query(
              `SELECT count(*)::int AS n FROM registry.model_outbox WHERE model_name = $1 AND sent_at IS NULL`,
              [model],
            )
          ).rows[0].n === 0,
        { timeoutMs: 30_000, message: 'both outbox rows marked sent' },
      );

      // Manual policy: a trained candidate stays in Staging. Its events come after the ones above, so once they
      // are here the crashed change has had every chance to appear twice.
      const candidate = trainedEvent(model, artifact, { metrics: { auc: 0.99 } });
      await producer.send(trainedTopic, [{ key: model, value: candidate }]);
      await waitUntil(() => ofModel(model).length === 4, { message: 'manual candidate events', timeoutMs: 120_000 });
      expect(ofModel(model).slice(2)).toMatchObject([
        { change: 'REGISTERED', version: 2 },
        {
          change: 'STAGE_CHANGED',
          version: 2,
          to_stage: 'Staging',
          actor: 'policy',
          reason: 'promotion policy is manual',
        },
      ]);
      expect(ofModel(model).filter((e) => e.change_id === stageChangeId)).toHaveLength(1);
      expect((await api(registry.url, 'GET', `/v1/models/${model}/versions/2`)).body.stage).toBe('Staging');
    } finally {
      await db.end();
    }
  });
});
