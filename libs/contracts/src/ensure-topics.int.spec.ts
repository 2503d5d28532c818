import { testPrefix } from '@flywheel/testing';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../testing/src/test-env';
import { ensureTopics } from './ensure-topics';
import { allTopicSpecs, topics } from './topics';

describe('ensureTopics against a real broker', () => {
  let admin: Admin;
  const prefix = testPrefix('contracts');
  const createdHere: string[] = [];

  beforeAll(async () => {
    admin = new Kafka({ brokers: testEnv().kafkaBrokers.split(','), logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
  });

  afterAll(async () => {
    if (createdHere.length > 0) await admin.deleteTopics({ topics: createdHere });
    await admin.disconnect();
  });

  it('creates the catalog with its partitions and configs, then finds it all on a second run', async () => {
    const first = await ensureTopics(admin, { prefix });
    createdHere.push(...first.created);
    expect(first.created).toHaveLength(allTopicSpecs().length);

    const lifecycle = `${prefix}${topics.modelsLifecycle}`;
    const raw = `${prefix}${topics.eventsRaw}`;
    const metadata = await admin.fetchTopicMetadata({ topics: [lifecycle, raw] });
    expect(Object.fromEntries(metadata.topics.map((t) => [t.name, t.partitions.length]))).toEqual({
      [lifecycle]: 1,
      [raw]: 6,
    });
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: lifecycle, configNames: ['cleanup.policy', 'retention.ms'] }],
    });
    const entries = Object.fromEntries(configs.resources[0]!.configEntries.map((e) => [e.configName, e.configValue]));
    expect(entries).toEqual({ 'cleanup.policy': 'compact', 'retention.ms': '-1' });

    const second = await ensureTopics(admin, { prefix });
    expect(second.created).toEqual([]);
    expect(second.warnings).toEqual([]);
    expect(second.existing.sort()).toEqual([...first.created].sort());
  });
});
