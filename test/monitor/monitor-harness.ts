import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Baseline } from '@flywheel/contracts';
import type { AvroSerde } from '@flywheel/kafka';
import type { Consumer, Kafka } from 'kafkajs';

export interface RegistryStub {
  url: string;
  hits(): number;
  close(): Promise<void>;
}

/** A stand-in for the model registry: serves version 1 of `model` (baseline, metrics), counting requests. */
export async function startRegistryStub(
  model: string,
  version: { feature_set_version: string; baseline: Baseline; metrics?: Record<string, number> },
): Promise<RegistryStub> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === `/v1/models/${model}/versions/1`) {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model_name: model, version: 1, metrics: {}, ...version }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Decodes everything on `topic` from the beginning into `items` until the consumer is disconnected. */
export async function collect<T>(
  kafka: Kafka,
  serde: AvroSerde,
  topic: string,
): Promise<{ items: T[]; consumer: Consumer }> {
  const items: T[] = [];
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      items.push((await serde.decode(topic, message.value)) as T);
    },
  });
  return { items, consumer };
}
