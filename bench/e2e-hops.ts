/**
 * Where an end-to-end latency goes: reads each stage's output topic back from Kafka after a latency run and
 * takes every record's timestamp (set by the stage's producer when it sent the record: no service sets its
 * own) for the events of that run. Hop i's latency is the time between an event's record on topic i−1 and on
 * topic i; the first hop starts at the bench's scheduled send time, the last ends when the bench saw the output.
 * Reading happens after the run, so it costs the measured pipeline nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { percentile } from './bench-env';

export interface HopSource {
  topic: string;
  idOf(value: Buffer): Promise<string | undefined>;
}

export interface HopLatency {
  hop: string;
  events: number;
  p50: number;
  p99: number;
}

export type TopicOffsets = Map<string, Map<number, string>>;

/** Each topic's end offsets now: where records of the run that starts next begin. */
export async function endOffsets(kafka: Kafka, names: string[]): Promise<TopicOffsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const result: TopicOffsets = new Map();
    for (const topic of names) {
      const offsets = await admin.fetchTopicOffsets(topic);
      result.set(topic, new Map(offsets.map((o) => [o.partition, o.high])));
    }
    return result;
  } finally {
    await admin.disconnect();
  }
}

/** Record timestamps (first occurrence per event id) of one topic between two offset snapshots. */
async function timestamps(
  kafka: Kafka,
  source: HopSource,
  from: Map<number, string>,
  to: Map<number, string>,
): Promise<Map<string, number>> {
  const pending = new Set([...to].filter(([p, high]) => BigInt(high) > BigInt(from.get(p) ?? '0')).map(([p]) => p));
  const stamps = new Map<string, number>();
  if (pending.size === 0) return stamps;
  const consumer = kafka.consumer({ groupId: `bench-e2e-hops-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [source.topic], fromBeginning: true });
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      finish = resolve;
    });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        const end = BigInt(to.get(batch.partition) ?? '0');
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= end) break;
          if (!m.value) continue;
          const id = await source.idOf(m.value);
          if (id !== undefined && !stamps.has(id)) stamps.set(id, Number(m.timestamp));
        }
        if (BigInt(batch.lastOffset()) + 1n >= end) {
          pending.delete(batch.partition);
          if (pending.size === 0) finish();
        }
      },
    });
    for (const [partition, offset] of from) consumer.seek({ topic: source.topic, partition, offset });
    await Promise.race([done, new Promise((r) => setTimeout(r, 60_000))]);
    return stamps;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * p50/p99 per hop for the events in `scheduled` (event id → scheduled send time), given the offsets
 * before and after the run and when the bench saw each output (`seen`).
 */
export async function hopLatencies(
  kafka: Kafka,
  sources: HopSource[],
  before: TopicOffsets,
  after: TopicOffsets,
  scheduled: Map<string, number>,
  seen: Map<string, number>,
): Promise<HopLatency[]> {
  const stages: { name: string; at: Map<string, number> }[] = [{ name: 'scheduled send', at: scheduled }];
  for (const source of sources) {
    const at = await timestamps(
      kafka,
      source,
      before.get(source.topic) ?? new Map(),
      after.get(source.topic) ?? new Map(),
    );
    stages.push({ name: source.topic, at });
  }
  stages.push({ name: 'seen by the bench', at: seen });
  const result: HopLatency[] = [];
  for (let i = 1; i < stages.length; i++) {
    const deltas: number[] = [];
    for (const [id, sent] of scheduled) {
      const a = i === 1 ? sent : stages[i - 1].at.get(id);
      const b = stages[i].at.get(id);
      if (a !== undefined && b !== undefined) deltas.push(b - a);
    }
    deltas.sort((x, y) => x - y);
    result.push({
      hop: `${stages[i - 1].name} → ${stages[i].name}`,
      events: deltas.length,
      p50: percentile(deltas, 50),
      p99: percentile(deltas, 99),
    });
  }
  return result;
}
