import { type KafkaCluster, killBroker, restartBroker, startKafka, uniqueSuffix, waitUntil } from '@flywheel/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../testing/src/test-env';
import { createKafkaClient } from './kafka-client';
import { FlywheelProducer } from './producer/flywheel-producer';
import { AvroSerde } from './serde/avro-serde';

const Tick = {
  type: 'record',
  name: 'Tick',
  namespace: 'io.flywheel.test',
  fields: [{ name: 'event_id', type: 'string' }],
};

/**
 * The promise Kafka makes with RF 3 and min.insync.replicas 2: no acknowledged write is lost when a
 * leader dies. kafkajs 2.2.4 alone breaks it (it can resolve a send without writing a partition whose
 * leader moved); this test holds libs/kafka's producer to the promise.
 */
describe('acknowledged writes survive a leader SIGKILL (3 brokers, RF 3, min.insync 2)', () => {
  const env = testEnv();
  let cluster: KafkaCluster;
  let kafka: Kafka;
  // One producer (the default) and partition-affine lanes (the collector's): each lane must keep the promise.
  const topicFor = { 1: `test.failover.${uniqueSuffix()}`, 3: `test.failover.lanes.${uniqueSuffix()}` };

  beforeAll(async () => {
    cluster = await startKafka({ name: `failover-${uniqueSuffix()}`, brokers: 3 });
    kafka = createKafkaClient({ brokers: cluster.bootstrapServers.split(','), clientId: 'failover-test' });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: Object.values(topicFor).map((topic) => ({
        topic,
        numPartitions: 6,
        replicationFactor: 3,
        configEntries: [{ name: 'min.insync.replicas', value: '2' }],
      })),
      waitForLeaders: true,
    });
    await admin.disconnect();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it.each([1, 3] as const)(
    'every event whose send resolved is in the log after the leader was killed and restarted (%i producer lanes)',
    async (lanes) => {
      const topic = topicFor[lanes];
      const producer = new FlywheelProducer(
        kafka,
        AvroSerde.connect(env.schemaRegistryUrl, () => Tick),
        { lanes },
      );
      await producer.connect([topic]);
      const acknowledged: string[] = [];
      const admin = kafka.admin();
      await admin.connect();
      const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
      const victim = metadata.topics[0].partitions[0].leader;

      let killed = false;
      for (let batch = 0; batch < 40; batch++) {
        const ids = Array.from({ length: 60 }, (_, i) => `b${batch}-${i}`);
        if (batch === 10) {
          killBroker(cluster, victim, 'SIGKILL');
          killed = true;
        }
        await producer.send(
          topic,
          ids.map((id) => ({ key: id, value: { event_id: id } })),
        );
        acknowledged.push(...ids);
      }
      expect(killed).toBe(true);
      await restartBroker(cluster, victim);
      await producer.disconnect();

      const seen = new Set<string>();
      const consumer = kafka.consumer({ groupId: `failover-reader-${uniqueSuffix()}` });
      const serde = AvroSerde.connect(env.schemaRegistryUrl, () => Tick);
      await consumer.connect();
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          seen.add((await serde.decode<{ event_id: string }>(topic, message.value)).event_id);
        },
      });
      await waitUntil(() => seen.size >= acknowledged.length, {
        timeoutMs: 60_000,
        message: 'every acknowledged event read back',
      }).catch(() => undefined);
      await consumer.disconnect();
      await admin.disconnect();
      const lost = acknowledged.filter((id) => !seen.has(id));
      expect(lost).toEqual([]);
    },
  );
});
