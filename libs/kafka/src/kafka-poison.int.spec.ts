import { schemaFor as contractSchemaFor, type DeadLetter, dlqTopicFor, topics } from '@flywheel/contracts';
import { testGroup, testTopic, waitUntil } from '@flywheel/testing';
import avro from 'avsc';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../testing/src/test-env';
import { BatchConsumer } from './consumer/batch-consumer';
import type { DecodedMessage } from './consumer/decoded-message';
import { NonRetriableError } from './errors';
import { createKafkaClient } from './kafka-client';
import { FlywheelProducer } from './producer/flywheel-producer';
import { AvroSerde } from './serde/avro-serde';

const Ping = {
  type: 'record',
  name: 'Ping',
  namespace: 'io.flywheel.test',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'n', type: 'int' },
  ],
};

describe('poison messages (real broker)', () => {
  const env = testEnv();
  let kafka: Kafka;
  let admin: Admin;
  let raw: Producer;
  const topic = testTopic('poison');
  const dlq = `${topic}.dlq`;
  // Any catalog DLQ topic has the DeadLetter envelope schema; this test's topics are not in the catalog.
  const schemaFor = (t: string) => (t === dlq ? contractSchemaFor(dlqTopicFor(topics.eventsRaw)) : Ping);

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'poison-test' });
    admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({
      topics: [
        { topic, numPartitions: 1 },
        { topic: dlq, numPartitions: 1 },
      ],
      waitForLeaders: true,
    });
    raw = kafka.producer();
    await raw.connect();
  });

  afterAll(async () => {
    await raw.disconnect();
    await admin.disconnect();
  });

  it('dead-letters non-Avro, unknown-schema and rejected messages with the reason, and moves on', async () => {
    const serde = AvroSerde.connect(env.schemaRegistryUrl, schemaFor);
    const producer = new FlywheelProducer(kafka, serde);
    await producer.connect([topic, dlq]);

    const handled: number[] = [];
    let gate: (() => void) | undefined;
    const blocked = new Promise<void>((resolve) => {
      gate = resolve;
    });
    const group = testGroup('poison');
    const consumer = new BatchConsumer({
      kafka,
      serde,
      producer,
      groupId: group,
      stage: 'poison-test',
      fromBeginning: true,
      retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 20 },
      routes: [
        {
          topic,
          mode: 'message',
          handler: async ([m]: DecodedMessage<{ event_id: string; n: number }>[]) => {
            if (m.value.n === 13) throw new NonRetriableError('thirteen is not allowed', 'enrichment');
            if (m.value.n === 99) await blocked;
            handled.push(m.value.n);
          },
        },
      ],
    });

    // 1 good, not Avro, unknown schema id, a rejected one, 2 good, then one that blocks until released.
    const good = (n: number) => ({ key: `k${n}`, value: { event_id: `e${n}`, n }, headers: { origin: `test-${n}` } });
    const unknownId = Buffer.concat([
      Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]),
      avro.Type.forSchema(Ping as avro.Schema).toBuffer({ event_id: 'x', n: 1 }),
    ]);
    await producer.send(topic, [good(1)]);
    await raw.send({ topic, messages: [{ key: 'bad-json', value: Buffer.from('{"not":"avro"}') }] });
    await raw.send({ topic, messages: [{ key: 'bad-id', value: unknownId }] });
    await producer.send(topic, [good(13), good(2), good(3), good(99)]);

    await consumer.start();
    await waitUntil(() => handled.includes(3), { message: 'good messages after the poison were handled' });

    // While message 99 is in the handler, its offset must not be committed.
    const committedWhileBlocked = await committedOffset(admin, group, topic);
    expect(committedWhileBlocked).toBeLessThanOrEqual(6);
    gate?.();
    await waitUntil(async () => (await committedOffset(admin, group, topic)) === 7, {
      message: 'offset committed after the last message was handled',
    });
    await consumer.stop();
    expect(handled).toEqual([1, 2, 3, 99]);

    const letters = await readDeadLetters(kafka, serde, dlq, 3);
    const byKey = Object.fromEntries(letters.map((l) => [String(l.original_key), l] as const));
    expect(byKey['bad-json']).toMatchObject({
      failure_kind: 'payload-format',
      original_topic: topic,
      original_offset: 1,
    });
    expect(byKey['bad-json'].original_value?.toString()).toBe('{"not":"avro"}');
    expect(byKey['bad-id']).toMatchObject({
      failure_kind: 'schema-violation',
      error_class: 'UnknownSchemaError',
      original_offset: 2,
    });
    expect(byKey['bad-id'].error_message).toContain('not registered');
    expect(byKey.k13).toMatchObject({
      failure_kind: 'enrichment',
      error_class: 'NonRetriableError',
      error_message: 'thirteen is not allowed',
      stage: 'poison-test',
      attempts: 1,
      event_id: 'e13',
    });
    // The original headers travel with the envelope, bytes unchanged.
    const origin = byKey.k13.original_headers.find((h) => h.key === 'origin');
    expect(origin?.value?.toString()).toBe('test-13');
    await producer.disconnect();
  });
});

async function committedOffset(admin: Admin, group: string, topic: string): Promise<number> {
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return Number(entry.partitions[0].offset);
}

async function readDeadLetters(kafka: Kafka, serde: AvroSerde, dlq: string, count: number): Promise<DeadLetter[]> {
  const consumer = kafka.consumer({ groupId: testGroup('dlq-reader') });
  const letters: DeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [dlq], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      letters.push(await serde.decode<DeadLetter>(dlq, message.value));
    },
  });
  await waitUntil(() => letters.length >= count, { message: `${count} dead letters` });
  await consumer.disconnect();
  return letters;
}
