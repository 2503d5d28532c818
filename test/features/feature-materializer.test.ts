/**
 * feature-materializer end to end: built service processes, a real broker and Postgres. Each scenario
 * uses its own TOPIC_PREFIX, consumer group and state namespace, and compares everything the service
 * produced with an independent recomputation (reference.ts).
 */
import { type DeadLetter, ensureTopics, type FeatureVector, failureKinds, topics } from '@flywheel/contracts';
import { paymentsFraud, pointInTimeTrainingSet } from '@flywheel/features';
import {
  type ServiceProcess,
  startServiceProcess,
  testGroup,
  testPrefix,
  uniqueSuffix,
  waitUntil,
} from '@flywheel/testing';
import { Client, Pool } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { recompute, sameFeatures } from './reference';
import { appliedOffsets, enrichedEvent, generateStream, MeshClient, rng, sumOf, waitApplied } from './stream';

const EVENTS = Number(process.env.FEATURES_TEST_EVENTS ?? 20_000);
const ENTITIES = 200;
const HOUR = 3_600_000;

describe('feature-materializer', () => {
  const env = testEnv();
  let db: Client;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    db = new Client({ connectionString: env.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    for (const p of started) await p.kill();
    await db?.end();
  });

  async function mesh() {
    const prefix = testPrefix('features');
    const client = new MeshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    const admin = client.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsEnriched, topics.labels, topics.featureVectors] });
    await admin.disconnect();
    await client.connect();
    return { prefix, client, namespace: `test-${uniqueSuffix()}`, group: testGroup('features') };
  }

  async function startMaterializer(m: { prefix: string; namespace: string; group: string }) {
    const p = await startServiceProcess('feature-materializer', {
      env: {
        KAFKA_BROKERS: env.kafkaBrokers,
        SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
        DATABASE_URL: env.databaseUrl,
        TOPIC_PREFIX: m.prefix,
        FEATURES_GROUP_ID: m.group,
        FEATURES_NAMESPACE: m.namespace,
        FEATURES_SESSION_TIMEOUT_MS: '10000',
        LOG_LEVEL: 'warn',
      },
    });
    started.push(p);
    return p;
  }

  /** Every online value and every (deduped) emitted vector equals the recomputation; late events are in the DLQ. */
  async function expectMatchesReference(
    events: ReturnType<typeof generateStream>,
    vectors: FeatureVector[],
    deadLetters: DeadLetter[],
    url: string,
  ) {
    const expected = recompute(events, paymentsFraud.allowedLatenessMs);
    await waitUntil(() => new Set(vectors.map((v) => v.event_id)).size >= expected.vectors.size, {
      timeoutMs: 60_000,
      message: `all ${expected.vectors.size} vectors emitted`,
    });
    const byId = new Map<string, FeatureVector[]>();
    for (const v of vectors) byId.set(v.event_id, [...(byId.get(v.event_id) ?? []), v]);
    expect(byId.size).toBe(expected.vectors.size);
    let mismatches = 0;
    const examples: string[] = [];
    for (const [eventId, features] of expected.vectors) {
      const copies = byId.get(eventId) ?? [];
      if (copies.length === 0) {
        mismatches++;
        examples.push(`${eventId}: no vector`);
      }
      for (const copy of copies) {
        expect(copy.feature_set_version).toBe(paymentsFraud.version);
        const diff = sameFeatures(copy.features, features);
        if (diff) {
          mismatches++;
          if (examples.length < 5) examples.push(`${eventId}: ${diff}`);
        }
      }
    }
    expect(examples).toEqual([]);
    expect(mismatches).toBe(0);

    // Late events: dead-lettered with kind late-event, never silently dropped.
    await waitUntil(
      () =>
        new Set(deadLetters.filter((d) => d.failure_kind === failureKinds.lateEvent).map((d) => d.event_id)).size >=
        expected.late.size,
      { timeoutMs: 30_000, message: 'late events dead-lettered' },
    );
    const lateIds = new Set(
      deadLetters.filter((d) => d.failure_kind === failureKinds.lateEvent).map((d) => d.event_id),
    );
    expect([...lateIds].sort()).toEqual([...expected.late].sort());
    expect(expected.late.size).toBeGreaterThan(0);

    // Online store over HTTP, batch read.
    const entities = [...expected.online.keys()];
    const res = await fetch(`${url}/v1/features/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entities }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      results: { entity: string; as_of: number; feature_set_version: string; features: Record<string, number> }[];
      missing: string[];
    };
    expect(body.missing).toEqual([]);
    for (const row of body.results) {
      const want = expected.online.get(row.entity);
      expect(row.as_of).toBe(want?.asOf);
      expect(row.feature_set_version).toBe(paymentsFraud.version);
      expect(sameFeatures(row.features, want?.features ?? {})).toBeNull();
    }
  }

  it('every online value and every emitted vector equals an independent recomputation', async () => {
    const m = await mesh();
    const events = generateStream(EVENTS, ENTITIES, 1);
    const vectors: FeatureVector[] = [];
    const deadLetters: DeadLetter[] = [];
    await m.client.collectVectors(vectors);
    await m.client.collectDeadLetters(deadLetters);
    const p = await startMaterializer(m);
    const t0 = Date.now();
    await m.client.sendEvents(events);
    await waitApplied(db, m.client, m.namespace);
    console.log(`[features] ${EVENTS} events applied in ${Date.now() - t0} ms`);
    await expectMatchesReference(events, vectors, deadLetters, p.url);

    const one = await fetch(`${p.url}/v1/features/acct-7`);
    expect(one.status).toBe(200);
    const row = (await one.json()) as { entity: string; feature_set: string; as_of: number; updated_at: string };
    expect(row).toMatchObject({ entity: 'acct-7', feature_set: paymentsFraud.name });
    expect(Date.parse(row.updated_at)).toBeGreaterThan(0);
    expect((await fetch(`${p.url}/v1/features/no-such-account`)).status).toBe(404);
    const metrics = await (await fetch(`${p.url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_features_late_events_total\{[^}]*\} \d+/);
    expect(metrics).toMatch(/flywheel_features_state_entities\{[^}]*\} \d+/);
    expect(metrics).toMatch(/flywheel_features_commit_duration_seconds_count\{[^}]*\} \d+/);
    await p.stop();
    await m.client.close();
  });

  it('SIGKILLed at random points and restarted, state and deduped vectors still equal the recomputation', async () => {
    const m = await mesh();
    const events = generateStream(EVENTS, ENTITIES, 2);
    const vectors: FeatureVector[] = [];
    const deadLetters: DeadLetter[] = [];
    await m.client.collectVectors(vectors);
    await m.client.collectDeadLetters(deadLetters);
    const topic = m.client.topic(topics.eventsEnriched);
    const random = rng(42);
    let p = await startMaterializer(m);
    // Produce in the background, in small chunks, so kills land while events are still arriving.
    const producing = (async () => {
      for (let i = 0; i < events.length; i += 1000) await m.client.sendEvents(events.slice(i, i + 1000));
    })();
    const kills = 6;
    for (let k = 0; k < kills; k++) {
      const target = Math.floor(((k + random()) / (kills + 1)) * EVENTS);
      await waitUntil(async () => sumOf(await appliedOffsets(db, m.namespace, topic)) >= target, {
        timeoutMs: 120_000,
        intervalMs: 10,
        message: `progress to ${target}`,
      });
      await p.kill();
      p = await startMaterializer(m);
    }
    await producing;
    await waitApplied(db, m.client, m.namespace);
    const duplicates = vectors.length - new Set(vectors.map((v) => v.event_id)).size;
    console.log(`[features] crash test: ${kills} kills, ${duplicates} re-emitted vectors (deduped by event_id)`);
    await expectMatchesReference(events, vectors, deadLetters, p.url);
    await p.stop();
    await m.client.close();
  });

  it('a second instance joining and leaving mid-stream never double counts', async () => {
    const m = await mesh();
    const events = generateStream(EVENTS, ENTITIES, 3);
    const vectors: FeatureVector[] = [];
    const deadLetters: DeadLetter[] = [];
    await m.client.collectVectors(vectors);
    await m.client.collectDeadLetters(deadLetters);
    const topic = m.client.topic(topics.eventsEnriched);
    const a = await startMaterializer(m);
    const chunk = 250;
    let sent = 0;
    const sendNext = async () => {
      await m.client.sendEvents(events.slice(sent, sent + chunk));
      sent += chunk;
    };
    while (sent < EVENTS * 0.3) await sendNext();
    await waitUntil(async () => sumOf(await appliedOffsets(db, m.namespace, topic)) >= EVENTS * 0.2, {
      timeoutMs: 120_000,
      intervalMs: 20,
    });
    const b = await startMaterializer(m);
    // Keep the stream flowing until B owns partitions and applied events of its own, then B leaves mid-stream.
    const appliedByB = async () => {
      const metrics = await (await fetch(`${b.url}/metrics`)).text();
      return Number(/flywheel_features_events_total\{outcome="vector"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    while ((await appliedByB()) === 0 && sent < EVENTS * 0.8) await sendNext();
    await waitUntil(async () => (await appliedByB()) > 0, {
      timeoutMs: 60_000,
      message: 'second instance applied events',
    });
    await b.stop();
    while (sent < EVENTS) await sendNext();
    await waitApplied(db, m.client, m.namespace);
    await expectMatchesReference(events, vectors, deadLetters, a.url);
    await a.stop();
    await m.client.close();
  });

  it('point-in-time join: a label arriving after later events never leaks features computed after the event', async () => {
    const m = await mesh();
    const p = await startMaterializer(m);
    const t0 = Date.now() - 2 * HOUR;
    const e1 = enrichedEvent({ account_id: 'pit-1', event_time: t0, amount_base: 10 });
    const e2 = enrichedEvent({ account_id: 'pit-1', event_time: t0 + 60_000, amount_base: 20 });
    const e3 = enrichedEvent({ account_id: 'pit-1', event_time: t0 + 120_000, amount_base: 1000 });
    await m.client.sendEvents([e1, e2, e3]);
    await waitApplied(db, m.client, m.namespace);
    // The label for e2 arrives after e3 was counted.
    const labelTime = Date.now();
    await m.client.producer.send(m.client.topic(topics.labels), [
      {
        key: 'pit-1',
        value: {
          event_id: e2.event_id,
          account_id: 'pit-1',
          is_fraud: true,
          label_time: labelTime,
          source: 'test',
          reason: null,
        },
      },
    ]);
    await waitUntil(
      async () => (await db.query('SELECT 1 FROM features.labels WHERE event_id = $1', [e2.event_id])).rowCount === 1,
      { message: 'label stored' },
    );
    const pool = new Pool({ connectionString: env.databaseUrl, max: 2 });
    try {
      const rows = await pointInTimeTrainingSet(pool, {
        from: t0 - HOUR,
        to: t0 + HOUR,
        featureSetVersion: paymentsFraud.version,
        namespace: m.namespace,
        labelsTable: 'features.labels',
      });
      expect(rows.map((r) => r.event_id)).toEqual([e2.event_id]);
      const [row] = rows;
      expect(row.label).toBe(1);
      // As of e2's time, before e2: only e1. Not e2 itself, never e3 (which the online store now holds).
      expect(row.features.amount_count_1h).toBe(1);
      expect(row.features.amount_sum_1h).toBe(10);
      expect(row.features.amount_max_7d).toBe(10);
      expect(row.features.amount_base).toBe(20);
      const online = (await (await fetch(`${p.url}/v1/features/pit-1`)).json()) as { features: Record<string, number> };
      expect(online.features.amount_count_1h).toBe(3);
      expect(online.features.amount_max_7d).toBe(1000);
      // A training set as of a time before the label was known has no row for it.
      const before = await pointInTimeTrainingSet(pool, {
        from: t0 - HOUR,
        to: t0 + HOUR,
        featureSetVersion: paymentsFraud.version,
        namespace: m.namespace,
        labelsTable: 'features.labels',
        labelsKnownBy: labelTime - 1,
      });
      expect(before).toEqual([]);
    } finally {
      await pool.end();
    }
    await p.stop();
    await m.client.close();
  });

  it('an event with a missing entity key or a NaN amount goes to the DLQ with the reason', async () => {
    const m = await mesh();
    const deadLetters: DeadLetter[] = [];
    await m.client.collectDeadLetters(deadLetters);
    const p = await startMaterializer(m);
    const now = Date.now();
    const noEntity = enrichedEvent({ account_id: '', event_time: now });
    const nan = enrichedEvent({ account_id: 'bad-1', event_time: now, amount_base: Number.NaN });
    const good = enrichedEvent({ account_id: 'bad-1', event_time: now + 1 });
    await m.client.sendEvents([noEntity, nan, good]);
    await waitUntil(() => deadLetters.length >= 2, { message: 'two dead letters' });
    const byId = new Map(deadLetters.map((d) => [d.event_id, d]));
    expect(byId.get(noEntity.event_id)).toMatchObject({
      failure_kind: failureKinds.schemaViolation,
      stage: 'feature-materializer',
      error_message: expect.stringContaining('missing entity key account_id'),
    });
    expect(byId.get(nan.event_id)).toMatchObject({
      failure_kind: failureKinds.schemaViolation,
      error_message: expect.stringContaining('amount_base is NaN'),
    });
    await waitUntil(async () => (await fetch(`${p.url}/v1/features/bad-1`)).status === 200);
    const online = (await (await fetch(`${p.url}/v1/features/bad-1`)).json()) as { features: Record<string, number> };
    expect(online.features.amount_count_1h).toBe(1);
    await p.stop();
    await m.client.close();
  });
});
