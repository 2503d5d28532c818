/**
 * enrichment-api throughput per instance with a warm cache, next to a plain kafkajs consume→produce
 * pass-through of the same events in the same run, against the same broker.
 *
 *   npx tsx bench/enrichment.bench.ts     (EVENTS=100000 ACCOUNTS=10000 MERCHANTS=1000 to change the defaults)
 *
 * Both sides are timed the same way: from the first send of EVENTS raw events (Avro, produced by this
 * process in batches of 1,000) until EVENTS records are on the output topic. Reference data is bulk-loaded
 * through the API, then a warm-up pass touches every account and merchant so the timed pass runs on a
 * warm cache; the hit rate of the timed pass comes from the service's /metrics.
 */
import { randomUUID } from 'node:crypto';
import { ensureTopics, type RawEvent, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { databaseUrl, ensurePostgres, startServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import type { Kafka } from 'kafkajs';
import { Client } from 'pg';
import { formatRate, startBenchEnvironment } from './bench-env';

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const ACCOUNTS = Number(process.env.ACCOUNTS ?? 10_000);
const MERCHANTS = Number(process.env.MERCHANTS ?? 1_000);
const SEND_BATCH = 1_000;
const TOKEN = 'bench-admin-token-0123456789';
const CURRENCIES = ['EUR', 'USD', 'GBP'];

function makeEvents(count: number, offset: number): RawEvent[] {
  const now = Date.now();
  return Array.from({ length: count }, (_, k) => {
    const i = k + offset;
    return {
      event_id: randomUUID(),
      event_type: 'transaction',
      event_time: now - (i % 86_400) * 1000,
      received_time: now,
      source: 'bench',
      api_key_id: null,
      account_id: `acct-${i % ACCOUNTS}`,
      merchant_id: `m-${(i * 7) % MERCHANTS}`,
      amount: 1 + (i % 2_000),
      currency: CURRENCIES[i % CURRENCIES.length],
      channel: i % 3 === 0 ? 'ecom' : 'pos',
      card_present: i % 3 !== 0,
      device_id: null,
      ip_country: i % 3 === 0 ? 'DE' : null,
      attributes: null,
    };
  });
}

async function highWatermark(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Sends `events` to `topic` and waits until `outTopic` holds `target` records; returns elapsed ms. */
async function timedPass(
  kafka: Kafka,
  producer: FlywheelProducer,
  topic: string,
  outTopic: string,
  events: RawEvent[],
  target: number,
): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < events.length; i += SEND_BATCH) {
    await producer.send(
      topic,
      events.slice(i, i + SEND_BATCH).map((e) => ({ key: e.account_id, value: e })),
    );
  }
  await waitUntil(async () => (await highWatermark(kafka, outTopic)) >= target, {
    timeoutMs: 600_000,
    intervalMs: 50,
    message: `${target} records on ${outTopic}`,
  });
  return performance.now() - started;
}

async function counter(url: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

async function bulk(url: string, kind: string, csv: string) {
  const res = await fetch(`${url}/v1/reference/${kind}/bulk`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const report = (await res.json()) as { loaded: number; failed: number };
  if (report.failed > 0) throw new Error(`bulk ${kind}: ${JSON.stringify(report)}`);
  return report.loaded;
}

async function passThrough(kafka: Kafka, inTopic: string, outTopic: string) {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const consumer = kafka.consumer({ groupId: testGroup('bench-pass'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [inTopic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch }) => {
      await producer.send({
        topic: outTopic,
        acks: -1,
        messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
      });
    },
  });
  return async () => {
    await consumer.disconnect();
    await producer.disconnect();
  };
}

async function main() {
  const env = await startBenchEnvironment();
  console.log(`[bench] broker ${env.brokers.join(',')}, registry ${env.registryUrl}`);
  const postgres = await ensurePostgres();
  const dbName = `flywheel_bench_enrichment_${process.pid}`;
  const db = await databaseUrl(postgres.serverUrl, dbName);
  const prefix = testPrefix('bench-enrich');
  const kafka = createKafkaClient({ brokers: env.brokers, clientId: 'bench-enrichment' });
  const admin = kafka.admin();
  await admin.connect();
  await waitUntil(async () => (await admin.describeCluster()).controller !== null, { message: 'controller elected' });
  // Idempotent; retried because a just-started broker can answer the leader wait with UNKNOWN_TOPIC_OR_PARTITION.
  await waitUntil(
    () => ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.eventsEnriched] }).then(() => true),
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: 'topics created',
    },
  );
  const baselineIn = `${prefix}baseline.in`;
  const baselineOut = `${prefix}baseline.out`;
  await admin.createTopics({
    topics: [
      { topic: baselineIn, numPartitions: 6 },
      { topic: baselineOut, numPartitions: 6 },
    ],
    // kafkajs' own leader wait fails fast on UNKNOWN_TOPIC_OR_PARTITION; poll the metadata instead.
    waitForLeaders: false,
  });
  await waitUntil(
    async () => {
      const { topics: found } = await admin.fetchTopicMetadata({ topics: [baselineIn, baselineOut] });
      return found.every((t) => t.partitions.length === 6 && t.partitions.every((p) => p.leader >= 0));
    },
    { timeoutMs: 30_000, message: 'baseline topics have leaders' },
  );
  await admin.disconnect();

  console.log('[bench] topics ready; starting enrichment-api');
  const service = await startServiceProcess('enrichment-api', {
    env: {
      KAFKA_BROKERS: env.brokers.join(','),
      SCHEMA_REGISTRY_URL: env.registryUrl,
      DATABASE_URL: db,
      TOPIC_PREFIX: prefix,
      ENRICHMENT_ADMIN_TOKEN: TOKEN,
      ENRICHMENT_GROUP_ID: testGroup('bench-enrichment'),
      LOG_LEVEL: 'warn',
    },
  });
  // The baseline topic carries the same RawEvent Avro bytes: same contract schema, its own subject.
  const serde = AvroSerde.connect(env.registryUrl, (topic) =>
    schemaFor(topic === baselineIn ? withPrefix(prefix, topics.eventsRaw) : topic),
  );
  const producer = new FlywheelProducer(kafka, serde);
  await producer.connect();
  try {
    const accounts = ['account_id,home_country,opened_at,segment'];
    for (let i = 0; i < ACCOUNTS; i++)
      accounts.push(`acct-${i},${i % 4 === 0 ? 'FR' : 'DE'},${1_600_000_000_000 + i * 1000},retail`);
    const merchants = ['merchant_id,mcc,category,risk_tier,country'];
    for (let i = 0; i < MERCHANTS; i++) merchants.push(`m-${i},5411,grocery,${['LOW', 'MEDIUM', 'HIGH'][i % 3]},DE`);
    let started = performance.now();
    const loadedAccounts = await bulk(service.url, 'accounts', accounts.join('\n'));
    const loadedMerchants = await bulk(service.url, 'merchants', merchants.join('\n'));
    await bulk(service.url, 'rates', 'currency,rate_to_base\nUSD,0.92\nGBP,1.17');
    console.log(
      `bulk load: ${loadedAccounts} accounts + ${loadedMerchants} merchants in ${(performance.now() - started).toFixed(0)} ms`,
    );

    const rawTopic = withPrefix(prefix, topics.eventsRaw);
    const enrichedTopic = withPrefix(prefix, topics.eventsEnriched);
    // Warm-up: every account and merchant once (and JIT), not timed.
    const warmup = makeEvents(Math.max(ACCOUNTS, MERCHANTS * 7) * 2, 0);
    started = performance.now();
    await timedPass(kafka, producer, rawTopic, enrichedTopic, warmup, warmup.length);
    console.log(`warm-up: ${warmup.length} events in ${(performance.now() - started).toFixed(0)} ms`);

    const events = makeEvents(EVENTS, 1);
    const lookups = 'flywheel_enrichment_api_cache_lookups_total';
    const hitsBefore = await counter(service.url, lookups, { result: 'hit' });
    const missesBefore = await counter(service.url, lookups, { result: 'miss' });
    const enrichMs = await timedPass(kafka, producer, rawTopic, enrichedTopic, events, warmup.length + EVENTS);
    const hits = (await counter(service.url, lookups, { result: 'hit' })) - hitsBefore;
    const misses = (await counter(service.url, lookups, { result: 'miss' })) - missesBefore;
    const rejected = await counter(service.url, 'flywheel_enrichment_api_events_rejected_total', {});

    const stopPass = await passThrough(kafka, baselineIn, baselineOut);
    const plainMs = await timedPass(kafka, producer, baselineIn, baselineOut, events, EVENTS);
    await stopPass();

    const enrichRate = (EVENTS / enrichMs) * 1000;
    const plainRate = (EVENTS / plainMs) * 1000;
    console.log('');
    console.log(
      `events: ${EVENTS} (${ACCOUNTS} accounts, ${MERCHANTS} merchants, 3 currencies), 6 partitions, 1 instance`,
    );
    console.log(
      `enrichment-api (1 instance, warm cache): ${formatRate(EVENTS, enrichMs)} (${enrichMs.toFixed(0)} ms), ` +
        `cache hit rate ${((hits / Math.max(1, hits + misses)) * 100).toFixed(2)}% (${hits} hits / ${misses} misses), rejected ${rejected}`,
    );
    console.log(`plain kafkajs pass-through (baseline): ${formatRate(EVENTS, plainMs)} (${plainMs.toFixed(0)} ms)`);
    console.log(`enrichment / baseline: ${((enrichRate / plainRate) * 100).toFixed(0)}%`);
  } finally {
    await producer.disconnect();
    await service.stop();
    const client = new Client({ connectionString: postgres.serverUrl.replace(/\/[^/]*$/, '/postgres') });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).finally(() => client.end());
    await env.stop();
  }
}

process.on('unhandledRejection', (error) => console.error('[bench] unhandled rejection', error));
main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
