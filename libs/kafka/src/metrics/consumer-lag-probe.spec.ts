import type { Kafka } from 'kafkajs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ConsumerLagProbe } from './consumer-lag-probe';
import { KafkaMetrics } from './kafka-metrics';

/** Broker answers the probe reads: end offsets per topic and the group's committed offsets. */
function brokerStub(state: {
  ends: Record<string, Array<[number, number, number]>>;
  committed: Record<string, number>;
}) {
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchOffsets: async ({ topics }: { topics: string[] }) =>
      topics.map((topic) => ({
        topic,
        partitions: (state.ends[topic] ?? []).map(([partition]) => ({
          partition,
          offset: String(state.committed[`${topic}/${partition}`] ?? -1),
          metadata: null,
        })),
      })),
    fetchTopicOffsets: async (topic: string) =>
      (state.ends[topic] ?? []).map(([partition, low, high]) => ({
        partition,
        offset: String(high),
        high: String(high),
        low: String(low),
      })),
  };
  return { admin: () => admin } as unknown as Kafka;
}

async function lagSeries(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('flywheel_kafka_consumer_lag_messages')?.get();
  return Object.fromEntries(
    (metric?.values ?? []).map((v) => [`${v.labels.topic}/${v.labels.partition}`, v.value] as const),
  );
}

function setup(fromBeginning = true) {
  const registry = new Registry();
  const metrics = KafkaMetrics.for(registry);
  const state = {
    ends: { raw: [[0, 10, 100] as [number, number, number], [1, 0, 50] as [number, number, number]] },
    committed: {} as Record<string, number>,
  };
  const probe = new ConsumerLagProbe({
    kafka: brokerStub(state),
    groupId: 'g',
    metrics,
    intervalMs: 0,
    fromBeginning,
  });
  return { registry, state, probe };
}

describe('ConsumerLagProbe', () => {
  it('measures owned partitions from the committed offset, else from where a new group starts', async () => {
    const { registry, state, probe } = setup(true);
    state.committed['raw/0'] = 40;
    probe.assigned({ raw: [0, 1] });
    await probe.probe();
    // partition 0: 100 − 40 committed; partition 1: nothing committed, fromBeginning → from the low watermark 0
    expect(await lagSeries(registry)).toEqual({ 'raw/0': 60, 'raw/1': 50 });

    const latest = setup(false);
    latest.probe.assigned({ raw: [1] });
    await latest.probe.probe();
    expect(await lagSeries(latest.registry)).toEqual({ 'raw/1': 0 });
  });

  it('keeps growing while the member processes nothing (a stuck handler is visible)', async () => {
    const { registry, state, probe } = setup();
    probe.assigned({ raw: [0] });
    probe.processed('raw', 0, 90n, 100n);
    expect(await lagSeries(registry)).toEqual({ 'raw/0': 10 });
    state.ends.raw[0] = [0, 10, 400];
    await probe.probe();
    expect(await lagSeries(registry)).toEqual({ 'raw/0': 310 });
    // the group's commit can be ahead of what this member saw (another member before a rebalance)
    state.committed['raw/0'] = 395;
    await probe.probe();
    expect(await lagSeries(registry)).toEqual({ 'raw/0': 5 });
  });

  it('drops series of partitions that moved to another member, and all of them on stop', async () => {
    const { registry, probe } = setup();
    probe.assigned({ raw: [0, 1] });
    probe.processed('raw', 0, 100n, 100n);
    probe.processed('raw', 1, 20n, 50n);
    probe.assigned({ raw: [1] });
    expect(await lagSeries(registry)).toEqual({ 'raw/1': 30 });
    // a late answer for a partition no longer owned does not bring its series back
    probe.processed('raw', 0, 100n, 120n);
    expect(await lagSeries(registry)).toEqual({ 'raw/1': 30 });
    await probe.stop();
    expect(await lagSeries(registry)).toEqual({});
  });
});
