import { type EnrichedEvent, ensureTopics, topics, withPrefix } from '@flywheel/contracts';
import { type ServiceProcess, startServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  freshDatabase,
  kafkaTools,
  produceRaw,
  rawEvent,
  startEnrichment,
  TopicCollector,
} from '../enrichment/enrichment-harness';

const TOKEN = 'replay-test-admin-token-0123';

/**
 * Issue 8's "replay after a fix", end to end through real processes: the enrichment-api dead-letters events
 * that break its amount-max rule; the rule is relaxed (the service restarts with a higher limit); the
 * dead-letter-alerter replays the DLQ; every event reaches events.enriched.v1 exactly once, and an identical
 * second replay sends nothing.
 */
describe('replay after a fix reaches events.enriched.v1 exactly once', () => {
  const env = testEnv();
  const prefix = testPrefix('replay');
  const tools = kafkaTools(env);
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let enrichment: ServiceProcess | undefined;
  let alerter: ServiceProcess | undefined;
  let enriched: TopicCollector<EnrichedEvent>;

  beforeAll(async () => {
    db = await freshDatabase(env);
    const admin = tools.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.eventsEnriched, topics.alerts] });
    await admin.disconnect();
    await tools.producer.connect();
    enriched = await new TopicCollector<EnrichedEvent>(
      tools.kafka,
      tools.serde,
      withPrefix(prefix, topics.eventsEnriched),
    ).start();
  });

  afterAll(async () => {
    await enrichment?.stop();
    await alerter?.stop();
    await enriched?.stop();
    await tools.producer.disconnect();
    await db?.drop();
  });

  it('replays the rule-rejected events once the rule is relaxed', async () => {
    const group = testGroup('enrichment');
    const strict = { MAX_AMOUNT_BASE: '100' };
    enrichment = await startEnrichment(env, {
      prefix,
      db: db.url,
      group,
      clientId: 'enrichment-strict',
      extra: strict,
    });

    const tooBig = Array.from({ length: 5 }, (_, i) => rawEvent({ amount: 500 + i, account_id: `acct-${i}` }));
    const fine = rawEvent({ amount: 10 });
    await produceRaw(tools.producer, prefix, [...tooBig, fine]);
    await waitUntil(() => enriched.values().some((e) => e.event_id === fine.event_id), {
      timeoutMs: 60_000,
      message: 'the valid event was enriched',
    });
    expect(enriched.values().filter((e) => tooBig.some((t) => t.event_id === e.event_id))).toEqual([]);
    // Partitions are processed independently: the valid event being enriched says nothing about the other
    // partitions' dead letters. Wait until all five are on the DLQ before relaxing the rule and replaying.
    const dlqTopic = `${withPrefix(prefix, topics.eventsRaw)}.dlq`;
    const admin = tools.kafka.admin();
    await admin.connect();
    await waitUntil(
      async () => (await admin.fetchTopicOffsets(dlqTopic)).reduce((n, p) => n + Number(p.high), 0) >= 5,
      { timeoutMs: 60_000, message: 'five dead letters written' },
    );
    await admin.disconnect();

    // The fix: restart the stage with the rule relaxed (same group, so it resumes after what it committed).
    await enrichment.stop();
    enrichment = await startEnrichment(env, {
      prefix,
      db: db.url,
      group,
      clientId: 'enrichment-relaxed',
      extra: { MAX_AMOUNT_BASE: '1000000' },
    });

    alerter = await startServiceProcess('dead-letter-alerter', {
      env: {
        TOPIC_PREFIX: prefix,
        KAFKA_BROKERS: env.kafkaBrokers,
        SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
        DATABASE_URL: db.url,
        ALERTER_GROUP_ID: testGroup('alerter'),
        ALERTER_ADMIN_TOKEN: TOKEN,
        DLQ_REFRESH_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
      },
    });
    const dlq = dlqTopic;
    const replay = async () => {
      const res = await fetch(`${alerter?.url}/v1/dlq/${dlq}/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        body: JSON.stringify({ kinds: ['enrichment'] }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      return waitUntil(
        async () => {
          const status = (await (
            await fetch(`${alerter?.url}/v1/replays/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } })
          ).json()) as { status: string; sent: number; skipped: number; selected: number };
          return status.status !== 'running' ? status : undefined;
        },
        { timeoutMs: 60_000, message: `replay ${id} finished` },
      );
    };

    const first = await replay();
    expect(first).toMatchObject({ status: 'completed', selected: 5, sent: 5, skipped: 0 });
    const ids = new Set(tooBig.map((e) => e.event_id));
    await waitUntil(() => enriched.values().filter((e) => ids.has(e.event_id)).length >= 5, {
      timeoutMs: 60_000,
      message: 'replayed events enriched',
    });

    const second = await replay();
    expect(second).toMatchObject({ status: 'completed', sent: 0, skipped: 5 });

    // A marker produced after the second replay: once it is enriched, anything the replay sent would be too.
    const marker = rawEvent({ amount: 1 });
    await produceRaw(tools.producer, prefix, [marker]);
    await waitUntil(() => enriched.values().some((e) => e.event_id === marker.event_id), {
      timeoutMs: 60_000,
      message: 'marker enriched',
    });
    const replayed = enriched.values().filter((e) => ids.has(e.event_id));
    expect(replayed.map((e) => e.event_id).sort()).toEqual([...ids].sort());
    expect(replayed.map((e) => e.amount).sort()).toEqual(tooBig.map((e) => e.amount).sort());
  });
});
