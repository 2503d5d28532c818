/**
 * One hop of bench/e2e.bench.ts's plain pipe, as its own process (each mesh stage is one too): consumes a
 * topic and produces every record unchanged to the next, acks=all, committing after the send. No work.
 *
 *   tsx bench/e2e-relay.ts <brokers> <from-topic> <to-topic> <group>
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
// The same kafkajs fix every mesh service runs with (libs/kafka), so the baseline is not paying for its bug.
import '../libs/kafka/src/kafkajs-request-queue-fix';

async function main(): Promise<void> {
  const [brokers, from, to, group] = process.argv.slice(2);
  const kafka = new Kafka({ clientId: `relay-${from}`, brokers: brokers.split(','), logLevel: logLevel.WARN });
  // murmur2 on the key, as the mesh's producers (libs/kafka) partition
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // The idle fetch wait of the mesh's consumers (libs/kafka, BATCH_MAX_WAIT_MS, FEATURES_MAX_WAIT_MS).
  const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: Number(process.env.RELAY_MAX_WAIT_MS ?? 500) });
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [from], fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
      if (batch.messages.length === 0) return;
      await producer.send({
        topic: to,
        acks: -1,
        messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
      });
      resolveOffset(batch.messages[batch.messages.length - 1].offset);
      await heartbeat();
    },
  });
  await joined;
  process.stdout.write('ready\n');
  const stop = async () => {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error) => {
  process.stderr.write(`relay failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
