import { randomUUID } from 'node:crypto';
import { type RawEvent, schemaFor, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { databaseUrl, type ServiceProcess, startServiceProcess, testGroup, uniqueSuffix } from '@flywheel/testing';
import type { Consumer, Kafka } from 'kafkajs';
import { Client } from 'pg';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface Env {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  databaseUrl: string;
}

/** A database of its own per test file, so reference rows and currencies never leak between files. */
export async function freshDatabase(env: Env): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `enrichment_test_${uniqueSuffix()}`;
  const url = await databaseUrl(env.databaseUrl, name);
  return {
    url,
    drop: async () => {
      const admin = new URL(env.databaseUrl);
      admin.pathname = '/postgres';
      const client = new Client({ connectionString: admin.toString() });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).finally(() => client.end());
    },
  };
}

export function startEnrichment(
  env: Env,
  options: { prefix: string; db: string; group: string; clientId: string; extra?: Record<string, string> },
): Promise<ServiceProcess> {
  return startServiceProcess('enrichment-api', {
    env: {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: options.db,
      TOPIC_PREFIX: options.prefix,
      ENRICHMENT_ADMIN_TOKEN: ADMIN_TOKEN,
      ENRICHMENT_GROUP_ID: options.group,
      KAFKA_CLIENT_ID: options.clientId,
      INSTANCE_ID: options.clientId,
      LOG_LEVEL: 'warn',
      ...options.extra,
    },
  });
}

export function http(base: string) {
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const isText = typeof body === 'string';
    const res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': isText ? 'text/csv' : 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : isText ? body : JSON.stringify(body),
    });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: test responses are checked field by field.
    let json: any = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  };
  return {
    get: (path: string) => call('GET', path),
    put: (path: string, body: unknown, headers?: Record<string, string>) => call('PUT', path, body, headers),
    post: (path: string, body: unknown, headers?: Record<string, string>) => call('POST', path, body, headers),
    del: (path: string) => call('DELETE', path),
  };
}

/** Sum of a Prometheus counter's samples whose labels include every given label. */
export async function scrapeCounter(base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

export function rawEvent(overrides: Partial<RawEvent> = {}): RawEvent {
  const now = Date.now();
  return {
    event_id: randomUUID(),
    event_type: 'transaction',
    event_time: now - 1_000,
    received_time: now,
    source: 'enrichment-test',
    api_key_id: null,
    account_id: 'acct-1',
    merchant_id: 'm-1',
    amount: 10,
    currency: 'EUR',
    channel: 'pos',
    card_present: true,
    device_id: null,
    ip_country: null,
    attributes: null,
    ...overrides,
  };
}

export function kafkaTools(env: Env) {
  const kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'enrichment-test' });
  const serde = AvroSerde.connect(env.schemaRegistryUrl, schemaFor);
  const producer = new FlywheelProducer(kafka, serde);
  return { kafka, serde, producer };
}

export async function produceRaw(producer: FlywheelProducer, prefix: string, events: RawEvent[]): Promise<void> {
  await producer.send(
    withPrefix(prefix, 'events.raw.v1'),
    events.map((e) => ({ key: e.account_id, value: e })),
  );
}

export interface Collected<T> {
  value: T;
  partition: number;
  offset: string;
}

/** Reads a topic from the beginning into memory (decoded), for the test's assertions. */
export class TopicCollector<T> {
  readonly messages: Collected<T>[] = [];
  private consumer: Consumer | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    readonly topic: string,
  ) {}

  async start(): Promise<this> {
    this.consumer = this.kafka.consumer({ groupId: testGroup('collector'), maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await this.consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const value = await this.serde.decode<T>(this.topic, m.value);
          this.messages.push({ value, partition: batch.partition, offset: m.offset });
        }
      },
    });
    return this;
  }

  values(): T[] {
    return this.messages.map((m) => m.value);
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
