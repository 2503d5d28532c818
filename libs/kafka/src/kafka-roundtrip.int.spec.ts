import { testGroup, testTopic, waitUntil } from '@flywheel/testing';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../testing/src/test-env';
import { BatchConsumer } from './consumer/batch-consumer';
import type { DecodedMessage } from './consumer/decoded-message';
import { createKafkaClient } from './kafka-client';
import { FlywheelProducer } from './producer/flywheel-producer';
import { AvroSerde } from './serde/avro-serde';

const OrderEvent = {
  type: 'record',
  name: 'OrderEvent',
  namespace: 'io.flywheel.test',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'account', type: 'string' },
    { name: 'seq', type: 'int' },
  ],
};
interface OrderEventValue {
  event_id: string;
  account: string;
  seq: number;
}

describe('libs/kafka Avro round trip through the registry (real broker)', () => {
  const env = testEnv();
  let kafka: Kafka;
  let admin: Admin;
  const topic = testTopic('roundtrip');
  const serde = () => AvroSerde.connect(env.schemaRegistryUrl, () => OrderEvent);

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'roundtrip-test' });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('10,000 keyed events reach a 2-member group exactly once, in key order', async () => {
    const total = 10_000;
    const accounts = 50;
    const group = testGroup('roundtrip');
    const seen = new Map<string, number>();
    const lastSeqByAccount = new Map<string, number>();
    const outOfOrder: string[] = [];
    const membersSeen = new Set<number>();

    const consumers = [0, 1].map(
      (member) =>
        new BatchConsumer({
          kafka,
          serde: serde(),
          producer: new FlywheelProducer(kafka, serde()),
          groupId: group,
          stage: 'roundtrip-test',
          fromBeginning: true,
          routes: [
            {
              topic,
              mode: 'batch',
              handler: async (messages) => {
                for (const m of messages as DecodedMessage<OrderEventValue>[]) {
                  membersSeen.add(member);
                  seen.set(m.value.event_id, (seen.get(m.value.event_id) ?? 0) + 1);
                  const last = lastSeqByAccount.get(m.value.account) ?? -1;
                  if (m.value.seq <= last) outOfOrder.push(`${m.value.account}: ${m.value.seq} after ${last}`);
                  lastSeqByAccount.set(m.value.account, m.value.seq);
                  if (m.key !== m.value.account) outOfOrder.push(`key ${m.key} for ${m.value.account}`);
                }
              },
            },
          ],
        }),
    );
    // Both members join before anything is produced, so no rebalance can redeliver a batch mid-test.
    await Promise.all(consumers.map((c) => c.start()));
    await waitUntil(
      async () => {
        const description = await admin.describeGroups([group]);
        const g = description.groups[0];
        return g.state === 'Stable' && g.members.length === 2;
      },
      { timeoutMs: 30_000, message: 'group of 2 did not stabilise' },
    );

    const producer = new FlywheelProducer(kafka, serde());
    await producer.connect([topic]);
    const events: OrderEventValue[] = Array.from({ length: total }, (_, i) => ({
      event_id: `e-${i}`,
      account: `acct-${i % accounts}`,
      seq: Math.floor(i / accounts),
    }));
    for (let i = 0; i < total; i += 500) {
      await producer.send(
        topic,
        events.slice(i, i + 500).map((value) => ({ key: value.account, value })),
      );
    }
    await producer.disconnect();

    await waitUntil(() => seen.size === total, { timeoutMs: 60_000, message: `all ${total} events consumed` });
    await Promise.all(consumers.map((c) => c.stop()));

    const duplicates = [...seen].filter(([, n]) => n > 1);
    expect(duplicates).toEqual([]);
    expect(outOfOrder).toEqual([]);
    expect(membersSeen).toEqual(new Set([0, 1]));
  });
});
