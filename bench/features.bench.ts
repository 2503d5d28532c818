/**
 * feature-materializer throughput and latency, next to a plain kafkajs consume→produce pass-through in the
 * same run against the same broker.
 *
 *   npx tsx bench/features.bench.ts          (EVENTS=100000 ENTITIES=10000 LATENCY_SECONDS=20)
 *
 * 1. EVENTS enriched events over ENTITIES accounts are produced up front (a backlog). The pass-through
 *    (own group, fromBeginning, eachBatch → producer.send of the same bytes, acks=all) and then one
 *    materializer process (4 windows × 6 aggregates + distinct + last + pass-through) each drain it, with
 *    the same fetch size (1 MiB per partition) and PARTITIONS_CONCURRENTLY partitions at a time (default 3,
 *    the service default); events/s = EVENTS / drain time.
 * 2. Latency: events are produced at half the measured materializer rate for LATENCY_SECONDS; end-to-end
 *    = vector received by a consumer − enriched event sent (same clock), p50/p99.
 */
import { randomUUID } from 'node:crypto';
import { ensureTopics, type FeatureVector, schemaFor as schemaForBench, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { Client } from 'pg';
import { databaseUrl, ensurePostgres } from '../libs/testing/src/postgres';
import { appliedOffsets, enrichedEvent, rng, sumOf } from '../test/features/stream';
import { percentile, startBenchEnvironment } from './bench-env';

const EVENTS = Number(process.env.EVENTS ?? 100_000);
const ENTITIES = Number(process.env.ENTITIES ?? 10_000);
const LATENCY_SECONDS = Number(process.env.LATENCY_SECONDS ?? 20);
/** Partitions processed at a time, by the pass-through AND the service (FEATURES_PARTITIONS_CONCURRENTLY). */
const CONCURRENCY = Number(process.env.PARTITIONS_CONCURRENTLY ?? 3);

function makeEvents(count: number, seed: number, start: number) {
  const random = rng(seed);
  const clocks = Array.from({ length: ENTITIES }, () => start + Math.floor(random() * 3_600_000));
  return Array.from({ length: count }, () => {
    const a = Math.floor(random() * ENTITIES);
    clocks[a] += Math.floor(random() * 3_600_000);
    return enrichedEvent({
      account_id: `acct-${a}`,
      event_time: clocks[a],
      merchant_id: `m-${Math.floor(random() * 500)}`,
      amount_base: Math.floor(random() * 40_000) / 4,
    });
  });
}

async function main() {
  const bench = await startBenchEnvironment();
  try {
    await run(bench);
  } finally {
    await bench.stop();
  }
}

async function run(bench: Awaited<ReturnType<typeof startBenchEnvironment>>) {
  const postgres = await ensurePostgres();
  const db = await databaseUrl(postgres.serverUrl, 'flywheel_bench');
  const prefix = testPrefix('fbench');
  const kafka = createKafkaClient({ brokers: bench.brokers, clientId: 'features-bench' });
  const admin = kafka.admin();
  await admin.connect();
  // A freshly started broker on a busy machine sometimes answers the first creates with UNKNOWN_TOPIC.
  await waitUntil(
    () => ensureTopics(admin, { prefix, only: [topics.eventsEnriched, topics.labels, topics.featureVectors] }),
    { timeoutMs: 60_000, intervalMs: 1_000 },
  );
  // The pass-through writes to a topic of its own (another prefix), with the catalog's partitioning.
  const passPrefix = testPrefix('fpass');
  await waitUntil(() => ensureTopics(admin, { prefix: passPrefix, only: [topics.featureVectors], withDlq: false }), {
    timeoutMs: 60_000,
    intervalMs: 1_000,
  });
  const passTopic = withPrefix(passPrefix, topics.featureVectors);
  const serde = AvroSerde.connect(bench.registryUrl, schemaForBench);
  const producer = new FlywheelProducer(kafka, serde);
  const enriched = withPrefix(prefix, topics.eventsEnriched);
  const vectorsTopic = withPrefix(prefix, topics.featureVectors);
  await producer.connect([enriched]);

  const start = Date.now() - 10 * 86_400_000;
  const backlog = makeEvents(EVENTS, 7, start);
  for (let i = 0; i < backlog.length; i += 1000) {
    await producer.send(
      enriched,
      backlog.slice(i, i + 1000).map((e) => ({ key: e.account_id, value: e })),
    );
  }
  console.log(`[bench] ${EVENTS} enriched events over ${ENTITIES} entities produced`);

  // --- baseline: plain kafkajs consume → produce, same fetch sizes and concurrency.
  const plainProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await plainProducer.connect();
  const plain = kafka.consumer({ groupId: `${prefix}plain`, maxWaitTimeInMs: 50, maxBytesPerPartition: 1_048_576 });
  let forwarded = 0;
  await plain.connect();
  await plain.subscribe({ topics: [enriched], fromBeginning: true });
  const plainStarted = performance.now();
  await plain.run({
    partitionsConsumedConcurrently: CONCURRENCY,
    eachBatch: async ({ batch }) => {
      await plainProducer.send({
        topic: passTopic,
        acks: -1,
        messages: batch.messages.map((m) => ({ key: m.key, value: m.value })),
      });
      forwarded += batch.messages.length;
    },
  });
  await waitUntil(() => forwarded >= EVENTS, { timeoutMs: 600_000, intervalMs: 10 });
  const plainMs = performance.now() - plainStarted;
  await plain.disconnect();
  await plainProducer.disconnect();
  const plainRate = (EVENTS / plainMs) * 1000;

  // --- the materializer draining the same backlog.
  const namespace = `bench-${randomUUID().slice(0, 8)}`;
  const pg = new Client({ connectionString: db });
  await pg.connect();
  const service = await startServiceProcess('feature-materializer', {
    env: {
      KAFKA_BROKERS: bench.brokers.join(','),
      SCHEMA_REGISTRY_URL: bench.registryUrl,
      DATABASE_URL: db,
      TOPIC_PREFIX: prefix,
      FEATURES_GROUP_ID: `${prefix}materializer`,
      FEATURES_NAMESPACE: namespace,
      LOG_LEVEL: 'warn',
      FEATURES_PARTITIONS_CONCURRENTLY: String(CONCURRENCY),
      // e.g. MATERIALIZER_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the service alone.
      ...(process.env.MATERIALIZER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.MATERIALIZER_NODE_OPTIONS } : {}),
    },
  });
  const matStarted = performance.now();
  await waitUntil(async () => sumOf(await appliedOffsets(pg, namespace, enriched)) >= EVENTS, {
    timeoutMs: 1_200_000,
    intervalMs: 50,
  });
  const matMs = performance.now() - matStarted;
  const matRate = (EVENTS / matMs) * 1000;

  // --- latency at half the materializer's rate.
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const watcher = kafka.consumer({ groupId: `${prefix}latency`, maxWaitTimeInMs: 20 });
  await watcher.connect();
  await watcher.subscribe({ topics: [vectorsTopic], fromBeginning: false });
  await watcher.run({
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const v = await serde.decode<FeatureVector>(vectorsTopic, m.value);
        const sent = sentAt.get(v.event_id);
        if (sent !== undefined) latencies.push(now - sent);
      }
    },
  });
  await waitUntil(async () => (await admin.describeGroups([`${prefix}latency`])).groups[0].state === 'Stable', {
    timeoutMs: 30_000,
  });
  const rate = matRate / 2;
  const tickMs = 50;
  const perTick = Math.max(1, Math.round((rate * tickMs) / 1000));
  const live = makeEvents(Math.round(rate * LATENCY_SECONDS), 8, start + 12 * 86_400_000);
  const t0 = performance.now();
  for (let i = 0, tick = 0; i < live.length; i += perTick, tick++) {
    const chunk = live.slice(i, i + perTick);
    const now = Date.now();
    for (const e of chunk) sentAt.set(e.event_id, now);
    await producer.send(
      enriched,
      chunk.map((e) => ({ key: e.account_id, value: e })),
    );
    const wait = t0 + (tick + 1) * tickMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await waitUntil(() => latencies.length >= live.length, { timeoutMs: 120_000, intervalMs: 50 });
  latencies.sort((a, b) => a - b);

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log('');
  console.log(
    `plain kafkajs consume→produce pass-through : ${fmt(plainRate)} events/s (${EVENTS} in ${fmt(plainMs)} ms)`,
  );
  console.log(`feature-materializer (1 instance)          : ${fmt(matRate)} events/s (${EVENTS} in ${fmt(matMs)} ms)`);
  console.log(
    `ratio                                      : ${((matRate / plainRate) * 100).toFixed(1)}% (target ≥ 40%)`,
  );
  console.log(
    `end-to-end enriched → vector at ${fmt(rate)} events/s for ${LATENCY_SECONDS}s: p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${latencies[latencies.length - 1]} ms (${latencies.length} events)`,
  );

  await watcher.disconnect();
  await service.stop();
  await producer.disconnect();
  await admin.disconnect();
  await pg.end();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
