import {
  type Alert,
  type DeadLetter,
  dlqTopicFor,
  ensureTopics,
  type RawEvent,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { type ServiceProcess, startServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createKey, startCollector } from '../collector/collector-harness';
import { freshDatabase, kafkaTools, rawEvent, startEnrichment } from '../enrichment/enrichment-harness';
import { enrichedEvent } from '../features/stream';

const TOKEN = 'poison-test-admin-token-0123';
const STAGES = ['collector', 'enrichment-api', 'feature-materializer'] as const;

/**
 * Issue 8: a poison message in each stage's input, through the real services, produces a DLQ record with the
 * right stage and kind, the alerter's metric, and a FIRING alert within the rule's window that RESOLVES once
 * failures stop.
 */
describe('a poison message at each stage is dead-lettered, counted and alerted on', () => {
  const env = testEnv();
  const prefix = testPrefix('poison');
  const tools = kafkaTools(env);
  const alerts: Alert[] = [];
  const processes: ServiceProcess[] = [];
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let alertsReader: Consumer;
  let alerter: ServiceProcess;

  beforeAll(async () => {
    db = await freshDatabase(env);
    const admin = tools.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, {
      prefix,
      only: [topics.eventsRaw, topics.labels, topics.eventsEnriched, topics.featureVectors, topics.alerts],
    });
    await admin.disconnect();
    await tools.producer.connect();

    const alertsTopic = withPrefix(prefix, topics.alerts);
    alertsReader = tools.kafka.consumer({ groupId: testGroup('alerts-reader'), maxWaitTimeInMs: 100 });
    await alertsReader.connect();
    await alertsReader.subscribe({ topics: [alertsTopic], fromBeginning: true });
    await alertsReader.run({
      eachMessage: async ({ message }) => {
        alerts.push(await tools.serde.decode<Alert>(alertsTopic, message.value));
      },
    });

    const common = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: db.url,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    alerter = await startServiceProcess('dead-letter-alerter', {
      env: {
        ...common,
        ALERTER_GROUP_ID: testGroup('alerter'),
        ALERTER_ADMIN_TOKEN: TOKEN,
        DLQ_REFRESH_INTERVAL_MS: '1000',
        WINDOW_BUCKET_MS: '1000',
        ALERT_EVAL_INTERVAL_MS: '250',
        ALERT_RULES: JSON.stringify(
          STAGES.map((stage) => ({
            name: `DeadLetters-${stage}`,
            expr: `count(stage=${stage}) > 0 in 5s`,
            resolveAfter: '1s',
            severity: 'warning',
          })),
        ),
      },
    });
    processes.push(alerter);
    processes.push(await startCollector(common));
    processes.push(
      await startEnrichment(env, { prefix, db: db.url, group: testGroup('enrichment'), clientId: 'poison-enrichment' }),
    );
    processes.push(
      await startServiceProcess('feature-materializer', {
        env: { ...common, FEATURES_GROUP_ID: testGroup('features'), FEATURES_NAMESPACE: `poison_${Date.now()}` },
      }),
    );
  });

  afterAll(async () => {
    for (const p of processes.reverse()) await p.stop();
    await alertsReader?.disconnect();
    await tools.producer.disconnect();
    await db?.drop();
  });

  it('collector, enrichment-api and feature-materializer each dead-letter their poison and fire an alert', async () => {
    const collector = processes.find((p) => p.name === 'collector')!;
    const { key } = await createKey(db.url, 'poison-test');

    // collector: a transaction whose amount is not a number.
    const { event_type: _t, received_time: _r, source: _s, api_key_id: _k, ...fields } = rawEvent();
    const bad = { type: 'transaction', ...fields, amount: 'lots' };
    const res = await fetch(`${collector.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify([bad]),
    });
    expect(res.status).toBe(422);

    // enrichment-api: a raw event breaking the amount-positive rule.
    const negative: RawEvent = rawEvent({ amount: -5 });
    await tools.producer.send(withPrefix(prefix, topics.eventsRaw), [{ key: negative.account_id, value: negative }]);

    // feature-materializer: an enriched event whose amount_base is NaN.
    const nan = enrichedEvent({ account_id: 'acct-nan', event_time: Date.now(), amount_base: Number.NaN });
    await tools.producer.send(withPrefix(prefix, topics.eventsEnriched), [{ key: nan.account_id, value: nan }]);

    const expected = [
      { stage: 'collector', topic: withPrefix(prefix, topics.eventsRaw), kind: 'schema-violation' },
      { stage: 'enrichment-api', topic: withPrefix(prefix, topics.eventsRaw), kind: 'enrichment' },
      { stage: 'feature-materializer', topic: withPrefix(prefix, topics.eventsEnriched), kind: 'schema-violation' },
    ];
    for (const { stage, topic, kind } of expected) {
      // The DLQ record, read through the alerter's browse API.
      const record = await waitUntil(
        async () => {
          const page = (await (await fetch(`${alerter.url}/v1/dlq/${dlqTopicFor(topic)}?limit=50`)).json()) as {
            items: Array<{ envelope: DeadLetter }>;
          };
          return page.items.find((i) => i.envelope.stage === stage);
        },
        { timeoutMs: 60_000, message: `a DLQ record from ${stage}` },
      );
      expect(record.envelope.failure_kind).toBe(kind);
      expect(record.envelope.original_topic).toBe(topic);

      // The metric.
      await waitUntil(
        async () => {
          const text = await (await fetch(`${alerter.url}/metrics`)).text();
          return text
            .split('\n')
            .some((l) => l.startsWith('flywheel_dlq_messages_total{') && l.includes(`stage="${stage}"`));
        },
        { timeoutMs: 30_000, message: `flywheel_dlq_messages_total for ${stage}` },
      );

      // FIRING within the rule's window, then RESOLVED since no more failures come.
      await waitUntil(() => alerts.find((a) => a.rule === `DeadLetters-${stage}` && a.status === 'FIRING'), {
        timeoutMs: 30_000,
        message: `FIRING alert for ${stage}`,
      });
    }
    for (const stage of STAGES) {
      await waitUntil(() => alerts.find((a) => a.rule === `DeadLetters-${stage}` && a.status === 'RESOLVED'), {
        timeoutMs: 30_000,
        message: `RESOLVED alert for ${stage}`,
      });
    }
    // Deduplicated while firing: one FIRING per rule.
    for (const stage of STAGES) {
      expect(alerts.filter((a) => a.rule === `DeadLetters-${stage}` && a.status === 'FIRING')).toHaveLength(1);
    }
  });
});
