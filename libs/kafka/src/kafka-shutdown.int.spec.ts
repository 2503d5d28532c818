import { testGroup, testTopic, waitUntil } from '@flywheel/testing';
import type { Admin, Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../testing/src/test-env';
import { BatchConsumer } from './consumer/batch-consumer';
import { createKafkaClient } from './kafka-client';
import { FlywheelProducer } from './producer/flywheel-producer';
import { AvroSerde } from './serde/avro-serde';

const Job = {
  type: 'record',
  name: 'Job',
  namespace: 'io.flywheel.test',
  fields: [{ name: 'n', type: 'int' }],
};

describe('graceful shutdown', () => {
  const env = testEnv();
  let kafka: Kafka;
  let admin: Admin;
  const topic = testTopic('shutdown');

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'shutdown-test' });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  });

  afterAll(async () => {
    await admin.disconnect();
  });

  it('stop() lets the in-flight batch finish and commits it before leaving the group', async () => {
    const serde = AvroSerde.connect(env.schemaRegistryUrl, () => Job);
    const producer = new FlywheelProducer(kafka, serde);
    await producer.connect([topic]);
    await producer.send(
      topic,
      Array.from({ length: 10 }, (_, n) => ({ key: 'k', value: { n } })),
    );

    const group = testGroup('shutdown');
    let entered = false;
    let finished = false;
    let release: (() => void) | undefined;
    const consumer = new BatchConsumer({
      kafka,
      serde,
      producer,
      groupId: group,
      stage: 'shutdown-test',
      fromBeginning: true,
      routes: [
        {
          topic,
          mode: 'batch',
          handler: async () => {
            entered = true;
            await new Promise<void>((resolve) => {
              release = resolve;
            });
            finished = true;
          },
        },
      ],
    });
    await consumer.start();
    await waitUntil(() => entered, { message: 'handler entered' });

    const stopping = consumer.stop();
    // The stop must wait for the handler: it is still blocked, so stop() cannot have resolved.
    const early = await Promise.race([
      stopping.then(() => 'stopped'),
      new Promise((r) => setImmediate(() => r('pending'))),
    ]);
    expect(early).toBe('pending');
    release?.();
    await stopping;
    expect(finished).toBe(true);

    const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    expect(Number(entry.partitions[0].offset)).toBe(10);
    await producer.disconnect();
  });
});
