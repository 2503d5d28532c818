import type { Admin, ITopicConfig } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { EnsureTopicsError, ensureTopics } from './ensure-topics';
import { allTopicSpecs, topics } from './topics';

/** In-memory stand-in for the part of the kafkajs Admin that ensureTopics uses. */
function fakeAdmin(initial: Record<string, { partitions: number; configs: Record<string, string> }> = {}) {
  const state = new Map(Object.entries(initial));
  const createCalls: ITopicConfig[][] = [];
  const admin = {
    listTopics: async () => [...state.keys()],
    createTopics: async ({ topics: configs }: { topics: ITopicConfig[] }) => {
      createCalls.push(configs);
      for (const c of configs) {
        const entries = Object.fromEntries((c.configEntries ?? []).map((e) => [e.name, e.value]));
        state.set(c.topic, { partitions: c.numPartitions ?? 1, configs: entries });
      }
      return true;
    },
    fetchTopicMetadata: async ({ topics: names }: { topics: string[] }) => ({
      topics: names.map((name) => ({
        name,
        partitions: Array.from({ length: state.get(name)!.partitions }, (_, i) => ({ partitionId: i })),
      })),
    }),
    describeConfigs: async ({ resources }: { resources: Array<{ name: string; configNames: string[] }> }) => ({
      throttleTime: 0,
      resources: resources.map((r) => ({
        resourceName: r.name,
        errorCode: 0,
        configEntries: r.configNames
          .filter((n) => state.get(r.name)!.configs[n] !== undefined)
          .map((n) => ({ configName: n, configValue: state.get(r.name)!.configs[n] })),
      })),
    }),
  };
  return { admin: admin as unknown as Admin, state, createCalls };
}

const quiet = { info: () => {}, warn: () => {} };

describe('ensureTopics', () => {
  it('creates the whole catalog with partitions and configs, then is a no-op', async () => {
    const { admin, state, createCalls } = fakeAdmin();
    const first = await ensureTopics(admin, { replicationFactor: 3, minInsyncReplicas: 2, logger: quiet });
    expect(first.created).toHaveLength(allTopicSpecs().length);
    expect(state.get('models.lifecycle.v1')).toEqual({
      partitions: 1,
      configs: { 'cleanup.policy': 'compact', 'retention.ms': '-1', 'min.insync.replicas': '2' },
    });
    expect(state.get('events.raw.v1.dlq')?.configs['retention.ms']).toBe(String(14 * 86_400_000));
    expect(createCalls[0]!.every((c) => c.replicationFactor === 3)).toBe(true);

    const second = await ensureTopics(admin, { logger: quiet });
    expect(second).toEqual({ created: [], existing: first.created, warnings: [] });
    expect(createCalls).toHaveLength(1);
  });

  it('prefixes names and restricts to `only` (with their DLQs by default)', async () => {
    const { admin, state } = fakeAdmin();
    const r = await ensureTopics(admin, { prefix: 't-42.', only: [topics.eventsRaw, topics.labels], logger: quiet });
    expect(r.created).toEqual(['t-42.events.raw.v1', 't-42.events.raw.v1.dlq', 't-42.labels.v1', 't-42.labels.v1.dlq']);
    expect(state.get('t-42.events.raw.v1')?.partitions).toBe(6);

    const noDlq = await ensureTopics(admin, { prefix: 't-43_', only: [topics.alerts], withDlq: false, logger: quiet });
    expect(noDlq.created).toEqual(['t-43_alerts.v1']);
  });

  it('warns about, and leaves alone, existing topics that differ from the catalog', async () => {
    const { admin, state } = fakeAdmin({
      'events.raw.v1': { partitions: 3, configs: { 'cleanup.policy': 'delete', 'retention.ms': '604800000' } },
      'models.lifecycle.v1': { partitions: 1, configs: { 'cleanup.policy': 'delete', 'retention.ms': '-1' } },
    });
    const warned: string[] = [];
    const r = await ensureTopics(admin, {
      only: [topics.eventsRaw, topics.modelsLifecycle],
      withDlq: false,
      logger: { info: () => {}, warn: (m) => warned.push(m) },
    });
    expect(r.created).toEqual([]);
    expect(r.warnings).toEqual(warned);
    expect(warned).toHaveLength(2);
    expect(warned[0]).toMatch(/events\.raw\.v1 has 3 partitions, the catalog wants 6/);
    expect(warned[1]).toMatch(/models\.lifecycle\.v1 has cleanup\.policy=delete, the catalog wants compact/);
    expect(state.get('events.raw.v1')?.partitions).toBe(3);
  });

  it('rejects bad options before touching Kafka', async () => {
    const { admin, createCalls } = fakeAdmin();
    await expect(ensureTopics(admin, { prefix: 'no separator' })).rejects.toThrow(EnsureTopicsError);
    await expect(ensureTopics(admin, { prefix: 't1' })).rejects.toThrow(/end it with/);
    await expect(ensureTopics(admin, { replicationFactor: 0 })).rejects.toThrow(/replication factor/);
    await expect(ensureTopics(admin, { replicationFactor: 1, minInsyncReplicas: 2 })).rejects.toThrow(
      /min.insync.replicas must be an integer in 1..1/,
    );
    await expect(ensureTopics(admin, { only: ['nope.v1' as never] })).rejects.toThrow(/not a catalog topic/);
    expect(createCalls).toHaveLength(0);
  });

  it('waits out a broker whose metadata lags the topics it just created (kafkajs gave up on their leaders)', async () => {
    const { admin, state } = fakeAdmin();
    const lag = new Error('This server does not host this topic-partition');
    let metadataCalls = 0;
    const lagging = admin as unknown as {
      createTopics: (args: { topics: ITopicConfig[] }) => Promise<boolean>;
      fetchTopicMetadata: (args: { topics: string[] }) => Promise<unknown>;
    };
    const create = lagging.createTopics;
    lagging.createTopics = async (args) => {
      await create(args); // created on the controller...
      throw lag; // ...but the leader wait saw the stale cache
    };
    lagging.fetchTopicMetadata = async ({ topics: names }) => {
      metadataCalls++;
      if (metadataCalls < 3) throw lag;
      return {
        topics: names.map((name) => ({
          name,
          partitions: Array.from({ length: state.get(name)!.partitions }, (_, i) => ({ partitionId: i, leader: 1 })),
        })),
      };
    };
    const result = await ensureTopics(admin, { only: [topics.eventsRaw], logger: quiet });
    expect(result.created).toEqual(['events.raw.v1', 'events.raw.v1.dlq']);
    expect(metadataCalls).toBe(3);
  });

  it('still fails on any other creation error', async () => {
    const { admin } = fakeAdmin();
    (admin as unknown as { createTopics: () => Promise<boolean> }).createTopics = async () => {
      throw Object.assign(new Error('aggregate'), {
        errors: [{ topic: 'events.raw.v1', type: 'POLICY_VIOLATION', message: 'no' }],
      });
    };
    await expect(ensureTopics(admin, { only: [topics.eventsRaw], logger: quiet })).rejects.toThrow(EnsureTopicsError);
  });
});
