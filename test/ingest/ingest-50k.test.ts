import { randomUUID } from 'node:crypto';
import { type DeadLetter, type EnrichedEvent, ensureTopics, topics, withPrefix } from '@flywheel/contracts';
import { type ServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createKey, startCollector } from '../collector/collector-harness';
import { freshDatabase, kafkaTools, startEnrichment, TopicCollector } from '../enrichment/enrichment-harness';

const TOTAL = Number(process.env.INGEST_TEST_EVENTS ?? 50_000);
const BATCH = 100;
const CLIENTS = 8;

type Fate = 'ok' | 'collector-reject' | 'rule-reject';

/**
 * Issue 4: 50,000 events posted by concurrent clients through two collector replicas reach
 * events.enriched.v1 through two enrichment-api instances. Every accepted event_id is enriched exactly once
 * after dedupe (or dead-lettered by a business rule); every rejected one is in the DLQ with its reason; the
 * counts add up.
 */
describe('ingest path: collector → events.raw.v1 → enrichment-api → events.enriched.v1', () => {
  const env = testEnv();
  const prefix = testPrefix('ingest');
  const tools = kafkaTools(env);
  const processes: ServiceProcess[] = [];
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let enriched: TopicCollector<EnrichedEvent>;
  let dlq: TopicCollector<DeadLetter>;

  beforeAll(async () => {
    db = await freshDatabase(env);
    const admin = tools.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.labels, topics.eventsEnriched] });
    await admin.disconnect();
    const common = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: db.url,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    for (let i = 0; i < 2; i++) processes.push(await startCollector({ ...common, INSTANCE_ID: `collector-${i}` }));
    const group = testGroup('enrichment');
    for (let i = 0; i < 2; i++) {
      processes.push(await startEnrichment(env, { prefix, db: db.url, group, clientId: `ingest-enrichment-${i}` }));
    }
    enriched = await new TopicCollector<EnrichedEvent>(
      tools.kafka,
      tools.serde,
      withPrefix(prefix, topics.eventsEnriched),
    ).start();
    dlq = await new TopicCollector<DeadLetter>(
      tools.kafka,
      tools.serde,
      `${withPrefix(prefix, topics.eventsRaw)}.dlq`,
    ).start();
  });

  afterAll(async () => {
    for (const p of processes.reverse()) await p.stop();
    await enriched?.stop();
    await dlq?.stop();
    await db?.drop();
  });

  it(`${TOTAL} events: every accepted one enriched exactly once or rule-rejected, every rejected one dead-lettered`, async () => {
    const { key } = await createKey(db.url, 'ingest-test');
    const collectors = processes.filter((p) => p.name === 'collector');
    const fates = new Map<string, Fate>();
    const events = Array.from({ length: TOTAL }, (_, i) => {
      const id = randomUUID();
      // ~1% fail the collector's schema check, ~1% pass it but break enrichment's amount-positive rule.
      const fate: Fate = i % 100 === 17 ? 'collector-reject' : i % 100 === 53 ? 'rule-reject' : 'ok';
      fates.set(id, fate);
      return {
        type: 'transaction',
        event_id: id,
        event_time: Date.now() - 60_000,
        account_id: `acct-${i % 500}`,
        merchant_id: `m-${i % 50}`,
        amount: fate === 'collector-reject' ? 'twelve' : fate === 'rule-reject' ? -1 : 1 + (i % 300),
        currency: 'EUR',
        channel: 'ecom',
        card_present: false,
      };
    });

    const accepted = new Set<string>();
    const rejected = new Map<string, string>();
    let next = 0;
    const client = async (c: number) => {
      for (;;) {
        const start = next;
        next += BATCH;
        if (start >= TOTAL) return;
        const batch = events.slice(start, start + BATCH);
        const target = collectors[(start / BATCH + c) % collectors.length];
        const res = await fetch(`${target.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify(batch),
        });
        expect([200, 422]).toContain(res.status);
        const body = (await res.json()) as { results: Array<{ event_id: string; status: string; reason?: string }> };
        for (const r of body.results) {
          if (r.status === 'accepted') accepted.add(r.event_id);
          else rejected.set(r.event_id, r.reason ?? '');
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    const expectedCollectorRejects = [...fates].filter(([, f]) => f === 'collector-reject').map(([id]) => id);
    const expectedRuleRejects = [...fates].filter(([, f]) => f === 'rule-reject').map(([id]) => id);
    expect(accepted.size + rejected.size).toBe(TOTAL);
    expect([...rejected.keys()].sort()).toEqual(expectedCollectorRejects.sort());

    const expectedEnriched = [...accepted].filter((id) => fates.get(id) === 'ok');
    await waitUntil(() => new Set(enriched.values().map((e) => e.event_id)).size >= expectedEnriched.length, {
      timeoutMs: 180_000,
      intervalMs: 500,
      message: `${expectedEnriched.length} distinct events enriched`,
    });
    await waitUntil(() => dlq.values().length >= rejected.size + expectedRuleRejects.length, {
      timeoutMs: 60_000,
      message: 'every rejection dead-lettered',
    });

    const enrichedIds = enriched.values().map((e) => e.event_id);
    const distinct = new Set(enrichedIds);
    expect([...distinct].sort()).toEqual(expectedEnriched.sort());
    // No crash happened, so at-least-once produced no duplicates here.
    expect(enrichedIds.length - distinct.size).toBe(0);

    const byStage = (stage: string) => dlq.values().filter((d) => d.stage === stage);
    const collectorLetters = byStage('collector');
    expect(collectorLetters.map((d) => d.event_id).sort()).toEqual(expectedCollectorRejects.sort());
    expect(new Set(collectorLetters.map((d) => d.failure_kind))).toEqual(new Set(['schema-violation']));
    expect(collectorLetters.every((d) => d.error_message.includes('amount'))).toBe(true);
    const ruleLetters = byStage('enrichment-api');
    expect(ruleLetters.map((d) => d.event_id).sort()).toEqual(expectedRuleRejects.sort());
    expect(
      ruleLetters.every((d) => d.failure_kind === 'enrichment' && d.error_message.includes('amount-positive')),
    ).toBe(true);
    // The counts add up: posted = enriched + rejected at the collector + rejected by a rule.
    expect(distinct.size + collectorLetters.length + ruleLetters.length).toBe(TOTAL);
    console.log(
      `[ingest] posted ${TOTAL}, accepted ${accepted.size}, enriched ${distinct.size}, collector DLQ ${collectorLetters.length}, rule DLQ ${ruleLetters.length}`,
    );
  });
});
