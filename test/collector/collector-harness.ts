import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { dlqTopicFor, ensureTopics, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient } from '@flywheel/kafka';
import { REPO_ROOT, type ServiceProcess, startServiceProcess, testGroup } from '@flywheel/testing';
import type { Consumer, Kafka } from 'kafkajs';

const run = promisify(execFile);
const CLI = resolve(REPO_ROOT, 'dist/services/collector/src/cli/api-keys.js');

export const COLLECTOR_TOPICS = [topics.eventsRaw, topics.labels] as const;

export async function createTopics(brokers: string, prefix: string): Promise<Kafka> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'collector-test' });
  const admin = kafka.admin();
  await admin.connect();
  // A fresh broker can answer UNKNOWN_TOPIC_OR_PARTITION to the leader wait right after creation; ensureTopics is idempotent.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(admin, { prefix, only: [...COLLECTOR_TOPICS] });
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
  await admin.disconnect();
  return kafka;
}

/** The CLI exactly as an operator runs it. */
export async function apiKeys(databaseUrl: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  return stdout;
}

export async function createKey(databaseUrl: string, producer = 'test-producer'): Promise<{ id: string; key: string }> {
  return JSON.parse(await apiKeys(databaseUrl, 'create', '--producer', producer, '--json'));
}

export async function startCollector(env: Record<string, string>): Promise<ServiceProcess> {
  return startServiceProcess('collector', { env: { LOG_LEVEL: 'warn', ...env } });
}

export interface Received<T> {
  key: string | null;
  value: T;
  headers: Record<string, string>;
}

/** Reads a catalog topic (prefixed) from the beginning, decoding Avro values as they arrive. */
export class TopicReader<T> {
  readonly records: Received<T>[] = [];
  private consumer?: Consumer;

  private constructor(
    readonly topic: string,
    private readonly serde: AvroSerde,
  ) {}

  static async start<T>(
    kafka: Kafka,
    registryUrl: string,
    prefix: string,
    catalogTopic: string,
  ): Promise<TopicReader<T>> {
    const reader = new TopicReader<T>(withPrefix(prefix, catalogTopic), AvroSerde.connect(registryUrl, schemaFor));
    reader.consumer = kafka.consumer({ groupId: testGroup('collector-reader'), maxWaitTimeInMs: 100 });
    await reader.consumer.connect();
    await reader.consumer.subscribe({ topics: [reader.topic], fromBeginning: true });
    await reader.consumer.run({
      eachBatch: async ({ batch }) => {
        for (const message of batch.messages) {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
          reader.records.push({
            key: message.key?.toString() ?? null,
            value: await reader.serde.decode<T>(reader.topic, message.value),
            headers,
          });
        }
      },
    });
    return reader;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export const dlqOf = dlqTopicFor;

export function transaction(i: number, extra: Record<string, unknown> = {}) {
  return {
    type: 'transaction',
    event_time: 1_700_000_000_000 + i,
    account_id: `acct-${i % 50}`,
    merchant_id: `m-${i % 20}`,
    amount: Math.round((i % 10_000) * 1.37) / 100,
    currency: 'EUR',
    channel: (['pos', 'ecom', 'atm'] as const)[i % 3],
    card_present: i % 2 === 0,
    ...extra,
  };
}

export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string>,
  // biome-ignore lint/suspicious/noExplicitAny: tests assert on the answer's shape; a type would only restate them
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${url}/v1/events`, { method: 'POST', body, headers });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}
