import { randomUUID } from 'node:crypto';
import {
  type DeadLetter,
  dlqTopicFor,
  type EnrichedEvent,
  type FeatureVector,
  schemaFor,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { waitUntil } from '@flywheel/testing';
import type { Consumer, Kafka } from 'kafkajs';
import { Client } from 'pg';

/** Deterministic PRNG (mulberry32) so a failing stream can be reproduced from its seed. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function enrichedEvent(
  over: Partial<EnrichedEvent> & { account_id: string; event_time: number },
): EnrichedEvent {
  return {
    event_id: randomUUID(),
    event_type: 'transaction',
    received_time: Date.now(),
    source: 'feature-test',
    api_key_id: null,
    merchant_id: 'm-1',
    amount: 10,
    currency: 'EUR',
    channel: 'pos',
    card_present: true,
    device_id: null,
    ip_country: null,
    attributes: null,
    enriched_time: Date.now(),
    account_known: true,
    account_home_country: 'DE',
    account_opened_at: 0,
    account_segment: 'retail',
    merchant_known: true,
    merchant_mcc: '5411',
    merchant_category: 'grocery',
    merchant_risk_tier: 'LOW',
    merchant_country: 'DE',
    base_currency: 'EUR',
    amount_base: 10,
    is_foreign: false,
    hour_of_day: new Date(over.event_time).getUTCHours(),
    account_age_days: 100,
    ...over,
  };
}

/**
 * `count` events over `entities` accounts in arrival order. Per account, event times advance by ~20 min
 * on average (so 10 min … 7 d windows all hold different counts); ~15% arrive out of order, shifted back
 * by up to 2 h (half of those beyond the 1 h allowed lateness → late), and ~0.5% are re-sent duplicates.
 * Amounts are multiples of 0.25 so sums are exact whatever the summation order.
 */
export function generateStream(count: number, entities: number, seed: number): EnrichedEvent[] {
  const random = rng(seed);
  const start = Date.now() - 3 * 86_400_000;
  const clocks = Array.from({ length: entities }, () => start + Math.floor(random() * 3_600_000));
  const events: EnrichedEvent[] = [];
  const tiers = ['LOW', 'MEDIUM', 'HIGH', null] as const;
  const channels = ['pos', 'ecom', 'atm'] as const;
  while (events.length < count) {
    if (events.length > 10 && random() < 0.005) {
      events.push({ ...events[Math.floor(random() * events.length)] });
      continue;
    }
    const a = Math.floor(random() * entities);
    clocks[a] += Math.floor(-Math.log(1 - random()) * 20 * 60_000);
    let t = clocks[a];
    if (random() < 0.15) t -= Math.floor(random() * 2 * 3_600_000);
    const tier = tiers[Math.floor(random() * tiers.length)];
    events.push(
      enrichedEvent({
        account_id: `acct-${a}`,
        event_time: t,
        merchant_id: `m-${Math.floor(random() * 30)}`,
        amount_base: Math.floor(random() * 4000) / 4,
        channel: channels[Math.floor(random() * 3)],
        card_present: random() < 0.6,
        is_foreign: random() < 0.1,
        merchant_known: tier !== null,
        merchant_risk_tier: tier,
        account_age_days: random() < 0.05 ? null : Math.floor(random() * 3000),
      }),
    );
  }
  return events;
}

export class MeshClient {
  readonly kafka: Kafka;
  readonly serde: AvroSerde;
  readonly producer: FlywheelProducer;
  private readonly consumers: Consumer[] = [];

  constructor(
    brokers: string,
    registryUrl: string,
    readonly prefix: string,
  ) {
    this.kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'features-test' });
    this.serde = AvroSerde.connect(registryUrl, schemaFor);
    this.producer = new FlywheelProducer(this.kafka, this.serde);
  }

  topic(name: string): string {
    return withPrefix(this.prefix, name);
  }

  async connect(): Promise<void> {
    await this.producer.connect([this.topic(topics.eventsEnriched), this.topic(topics.labels)]);
  }

  async sendEvents(events: EnrichedEvent[], chunk = 500): Promise<void> {
    for (let i = 0; i < events.length; i += chunk) {
      await this.producer.send(
        this.topic(topics.eventsEnriched),
        events.slice(i, i + chunk).map((e) => ({ key: e.account_id, value: e })),
      );
    }
  }

  /** Collects every record of a topic from the beginning into `sink` (decoded) until close(). */
  async collect<T>(topic: string, sink: T[]): Promise<void> {
    const consumer = this.kafka.consumer({ groupId: `${this.prefix}collect-${randomUUID()}`, maxWaitTimeInMs: 100 });
    this.consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) sink.push(await this.serde.decode<T>(topic, m.value));
      },
    });
  }

  collectVectors(sink: FeatureVector[]) {
    return this.collect(this.topic(topics.featureVectors), sink);
  }

  collectDeadLetters(sink: DeadLetter[]) {
    return this.collect(this.topic(dlqTopicFor(topics.eventsEnriched)), sink);
  }

  async highWatermarks(topic: string): Promise<Map<number, number>> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]));
    } finally {
      await admin.disconnect();
    }
  }

  async close(): Promise<void> {
    for (const c of this.consumers) await c.disconnect();
    await this.producer.disconnect();
  }
}

/** Messages of the topic the materializer has applied in `namespace` (sum of stored next offsets). */
export async function appliedOffsets(db: Client, namespace: string, topic: string): Promise<Map<number, number>> {
  const { rows } = await db
    .query(
      `SELECT kafka_partition, next_offset FROM features.consumer_offsets
        WHERE namespace = $1 AND topic = $2 AND next_offset IS NOT NULL`,
      [namespace, topic],
    )
    .catch(() => ({ rows: [] as { kafka_partition: number; next_offset: string }[] }));
  return new Map(rows.map((r) => [r.kafka_partition, Number(r.next_offset)]));
}

/** Waits until the materializer has applied, in `namespace`, everything now on the events topic. */
export async function waitApplied(db: Client, client: MeshClient, namespace: string, timeoutMs = 120_000) {
  const topic = client.topic(topics.eventsEnriched);
  const ends = await client.highWatermarks(topic);
  await waitUntil(
    async () => {
      const applied = await appliedOffsets(db, namespace, topic);
      for (const [partition, end] of ends) if (end > 0 && applied.get(partition) !== end) return false;
      return true;
    },
    { timeoutMs, intervalMs: 200, message: 'materializer applied every event' },
  );
}

export function sumOf(map: Map<number, number>): number {
  let n = 0;
  for (const v of map.values()) n += v;
  return n;
}
