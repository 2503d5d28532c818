import { type EnrichedEvent, ensureTopics, type RawEvent, topics, withPrefix } from '@flywheel/contracts';
import { type ServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import { AssignerProtocol } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  freshDatabase,
  http,
  kafkaTools,
  produceRaw,
  rawEvent,
  startEnrichment,
  TopicCollector,
} from './enrichment-harness';

const EVENTS = 20_000;
const SEND_BATCH = 250;

/**
 * Two instances share the group; 20,000 raw events are produced; one instance is SIGKILLed mid-stream.
 * Every input event_id must come out on events.enriched.v1; duplicates are counted and must sit in one
 * contiguous block of input offsets per partition the killed instance owned (its uncommitted window).
 */
describe('enrichment-api: SIGKILL of one instance during load loses nothing', () => {
  const env = testEnv();
  const prefix = testPrefix('enrichkill');
  const group = testGroup('enrichment-kill');
  const tools = kafkaTools(env);
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let enriched: TopicCollector<EnrichedEvent>;
  let raw: TopicCollector<RawEvent>;

  beforeAll(async () => {
    const admin = tools.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.eventsEnriched] });
    await admin.disconnect();
    db = await freshDatabase(env);
    const extra = { CONSUMER_SESSION_TIMEOUT_MS: '10000' };
    a = await startEnrichment(env, { prefix, db: db.url, group, clientId: 'enrichment-a', extra });
    b = await startEnrichment(env, { prefix, db: db.url, group, clientId: 'enrichment-b', extra });
    const api = http(b.url);
    const accounts = ['account_id,home_country,opened_at,segment'];
    for (let i = 0; i < 200; i++) accounts.push(`acct-${i},DE,2024-01-01,retail`);
    expect(
      (await api.post('/v1/reference/accounts/bulk', accounts.join('\n'), { 'content-type': 'text/csv' })).body.loaded,
    ).toBe(200);
    await tools.producer.connect();
    enriched = await new TopicCollector<EnrichedEvent>(
      tools.kafka,
      tools.serde,
      withPrefix(prefix, topics.eventsEnriched),
    ).start();
    raw = await new TopicCollector<RawEvent>(tools.kafka, tools.serde, withPrefix(prefix, topics.eventsRaw)).start();
  });

  afterAll(async () => {
    await enriched?.stop();
    await raw?.stop();
    await tools.producer.disconnect();
    await a?.kill();
    await b?.stop();
    await db?.drop();
  });

  async function assignments(): Promise<Map<string, number[]>> {
    const admin = tools.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([group]);
      const byClient = new Map<string, number[]>();
      for (const member of groups[0]?.members ?? []) {
        const decoded = AssignerProtocol.MemberAssignment.decode(member.memberAssignment);
        byClient.set(member.clientId, Object.values(decoded?.assignment ?? {}).flat());
      }
      return byClient;
    } finally {
      await admin.disconnect();
    }
  }

  it('the survivor takes over the partitions and every event is enriched', async () => {
    const before = await waitUntil(
      async () => {
        const current = await assignments();
        const both = (current.get('enrichment-a')?.length ?? 0) > 0 && (current.get('enrichment-b')?.length ?? 0) > 0;
        return both ? current : undefined;
      },
      { timeoutMs: 60_000, message: 'both instances own partitions' },
    );
    const partitionsOfA = new Set(before.get('enrichment-a'));

    const inputIds = new Set<string>();
    let produced = 0;
    let killedAt = -1;
    const producing = (async () => {
      for (let i = 0; i < EVENTS; i += SEND_BATCH) {
        const batch: RawEvent[] = [];
        for (let j = i; j < Math.min(i + SEND_BATCH, EVENTS); j++) {
          const event = rawEvent({ account_id: `acct-${j % 250}`, merchant_id: `m-${j % 50}`, amount: 1 + (j % 500) });
          inputIds.add(event.event_id);
          batch.push(event);
        }
        await produceRaw(tools.producer, prefix, batch);
        produced += batch.length;
      }
    })();
    // Mid-stream: A is enriching (output is growing) and input is still being produced.
    await waitUntil(() => enriched.messages.length >= 4_000, { timeoutMs: 60_000, message: 'enrichment under way' });
    killedAt = enriched.messages.length;
    const producedAtKill = produced;
    await a.kill();
    await producing;
    console.log(`[sigkill] killed A after ${killedAt} enriched / ${producedAtKill} produced of ${EVENTS}`);
    expect(producedAtKill).toBeLessThan(EVENTS);

    const after = await waitUntil(
      async () => {
        const current = await assignments();
        return !current.has('enrichment-a') && current.get('enrichment-b')?.length === 6 ? current : undefined;
      },
      { timeoutMs: 60_000, message: 'B owns all 6 partitions' },
    );
    expect(after.get('enrichment-b')).toHaveLength(6);

    await waitUntil(
      () => {
        const seen = new Set(enriched.values().map((e) => e.event_id));
        let missing = 0;
        for (const id of inputIds) if (!seen.has(id)) missing++;
        return missing === 0;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'every input event_id enriched' },
    );
    await waitUntil(() => raw.messages.length >= EVENTS, { timeoutMs: 30_000, message: 'raw topic read back' });

    const counts = new Map<string, number>();
    for (const e of enriched.values())
      if (inputIds.has(e.event_id)) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
    expect(counts.size).toBe(EVENTS);
    const duplicated = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    const extra = [...counts.values()].reduce((sum, n) => sum + n - 1, 0);

    // Where the duplicates came from: input partition and offset of each duplicated event.
    const position = new Map(raw.messages.map((m) => [m.value.event_id, m]));
    const offsetsByPartition = new Map<number, bigint[]>();
    for (const id of duplicated) {
      const m = position.get(id);
      if (!m) throw new Error(`duplicated event ${id} not on the raw topic`);
      const list = offsetsByPartition.get(m.partition) ?? [];
      list.push(BigInt(m.offset));
      offsetsByPartition.set(m.partition, list);
    }
    const windows = [...offsetsByPartition].map(([partition, offsets]) => {
      offsets.sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      return { partition, first: offsets[0], last: offsets[offsets.length - 1], count: offsets.length };
    });
    console.log(
      `[sigkill] ${EVENTS} events, ${counts.size} distinct enriched, ${extra} duplicates (${duplicated.length} ids) in windows ${JSON.stringify(
        windows.map((w) => ({ ...w, first: String(w.first), last: String(w.last) })),
      )}; A owned partitions ${[...partitionsOfA].join(',')}`,
    );
    for (const w of windows) {
      // Only A's partitions are re-processed, and only its uncommitted tail: one contiguous block of offsets.
      expect(partitionsOfA.has(w.partition)).toBe(true);
      expect(w.last - w.first + 1n).toBe(BigInt(w.count));
    }
  });
});
