/**
 * libs/kafka producer → broker → consumer throughput for ~1 KiB Avro events, next to plain kafkajs moving
 * the same number of 1 KiB byte payloads with no serde, in the same run against the same broker.
 *
 *   npm run bench:kafka            (MESSAGES=100000 BATCH=500 ROUNDS=5 to change the defaults)
 *
 * Each side runs producer and consumer concurrently and is timed from the first send to the last message
 * consumed. Rounds alternate (plain, flywheel, plain, flywheel ...) so machine noise hits both alike.
 */
import { randomUUID } from 'node:crypto';
import { AvroSerde, BatchConsumer, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { testGroup, testTopic, waitUntil } from '@flywheel/testing';
import { type Kafka } from 'kafkajs';
import { formatRate, startBenchEnvironment } from './bench-env';

const MESSAGES = Number(process.env.MESSAGES ?? 100_000);
const BATCH = Number(process.env.BATCH ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const PARTITIONS = 6;

const BenchEvent = {
  type: 'record',
  name: 'BenchEvent',
  namespace: 'io.flywheel.bench',
  fields: [
    { name: 'event_id', type: 'string' },
    { name: 'account_id', type: 'string' },
    { name: 'event_time', type: 'long' },
    { name: 'amount', type: 'double' },
    { name: 'currency', type: 'string' },
    { name: 'merchant_id', type: 'string' },
    { name: 'attributes', type: { type: 'map', values: 'string' } },
  ],
};

function makeEvent(i: number) {
  const attributes: Record<string, string> = {};
  // 12 attributes of 70 chars bring the Avro body to ~1 KiB, like a wide transaction event.
  for (let a = 0; a < 12; a++) attributes[`attr_${a}`] = `${i}-${a}-`.padEnd(70, 'x');
  return {
    event_id: randomUUID(),
    account_id: `acct-${i % 1000}`,
    event_time: Date.now(),
    amount: (i % 10_000) / 100,
    currency: 'EUR',
    merchant_id: `m-${i % 200}`,
    attributes,
  };
}

async function createTopic(kafka: Kafka, topic: string) {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
}

async function runPlain(kafka: Kafka, payloadBytes: number): Promise<number> {
  const topic = testTopic('bench-plain');
  await createTopic(kafka, topic);
  const payload = Buffer.alloc(payloadBytes, 120);
  const consumer = kafka.consumer({ groupId: testGroup('bench-plain'), maxWaitTimeInMs: 100 });
  let received = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 2,
    eachBatch: async ({ batch }) => {
      received += batch.messages.length;
    },
  });
  const producer = kafka.producer();
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    const messages = [];
    for (let j = i; j < Math.min(i + BATCH, MESSAGES); j++) messages.push({ key: `acct-${j % 1000}`, value: payload });
    await producer.send({ topic, acks: -1, messages });
  }
  await waitUntil(() => received >= MESSAGES, { timeoutMs: 300_000, intervalMs: 5 });
  const elapsed = performance.now() - started;
  await producer.disconnect();
  await consumer.disconnect();
  return elapsed;
}

async function runFlywheel(kafka: Kafka, registryUrl: string): Promise<number> {
  const topic = testTopic('bench-flywheel');
  await createTopic(kafka, topic);
  const serde = AvroSerde.connect(registryUrl, () => BenchEvent);
  const producer = new FlywheelProducer(kafka, serde);
  await producer.connect([topic]);
  let received = 0;
  const consumer = new BatchConsumer({
    kafka,
    serde: AvroSerde.connect(registryUrl, () => BenchEvent),
    producer,
    groupId: testGroup('bench-flywheel'),
    stage: 'bench',
    fromBeginning: true,
    partitionsConsumedConcurrently: 2,
    routes: [
      {
        topic,
        mode: 'batch',
        handler: async (messages) => {
          received += messages.length;
        },
      },
    ],
  });
  await consumer.start();
  const events = Array.from({ length: Math.min(MESSAGES, 20_000) }, (_, i) => makeEvent(i));
  const started = performance.now();
  for (let i = 0; i < MESSAGES; i += BATCH) {
    const messages = [];
    for (let j = i; j < Math.min(i + BATCH, MESSAGES); j++) {
      const value = events[j % events.length];
      messages.push({ key: value.account_id, value });
    }
    await producer.send(topic, messages);
  }
  await waitUntil(() => received >= MESSAGES, { timeoutMs: 300_000, intervalMs: 5 });
  const elapsed = performance.now() - started;
  await consumer.stop();
  await producer.disconnect();
  return elapsed;
}

async function main() {
  const env = await startBenchEnvironment();
  try {
    const kafka = createKafkaClient({ brokers: env.brokers, clientId: 'bench' });
    const serde = AvroSerde.connect(env.registryUrl, () => BenchEvent);
    await serde.register('size-probe');
    const avroBytes = serde.encode('size-probe', makeEvent(1)).length;
    console.log(`messages per round: ${MESSAGES}, batch per send: ${BATCH}, partitions: ${PARTITIONS}`);
    console.log(`Avro event size: ${avroBytes} bytes (plain kafkajs sends ${avroBytes}-byte buffers)`);
    const plain: number[] = [];
    const flywheel: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      plain.push(await runPlain(kafka, avroBytes));
      flywheel.push(await runFlywheel(kafka, env.registryUrl));
      console.log(
        `round ${round}: plain kafkajs ${formatRate(MESSAGES, plain.at(-1)!)}, libs/kafka ${formatRate(MESSAGES, flywheel.at(-1)!)}`,
      );
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const plainRate = (MESSAGES / median(plain)) * 1000;
    const flywheelRate = (MESSAGES / median(flywheel)) * 1000;
    console.log(
      `median plain kafkajs (acks=all, no serde):        ${Math.round(plainRate).toLocaleString('en-US')} msg/s`,
    );
    console.log(
      `median libs/kafka (idempotent, Avro, DLQ runner): ${Math.round(flywheelRate).toLocaleString('en-US')} msg/s`,
    );
    console.log(`ratio: ${((flywheelRate / plainRate) * 100).toFixed(1)}% (target >= 70%)`);
  } finally {
    await env.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
