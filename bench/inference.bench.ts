/**
 * stream-inference benchmark (`npx tsx bench/inference.bench.ts`). Prints, from one run on this machine:
 *  1. rows/s of the scoring path (records → vectorize → one tensor → predict → decisions) next to raw
 *     tfjs predict on pre-built tensors of the same size, batch sizes 1, 16, 64, 256 (in process);
 *  2. rows/s of one built stream-inference instance through Kafka (vectors in → predictions acked) at
 *     BATCH_MAX_ROWS 1, 16, 64, 256, next to the same raw predict figure;
 *  3. rows/s with 1 vs 2 instances (same 6-partition backlog);
 *  4. p50/p99 latency vector produced → prediction received, at 50% of the 1-instance saturation rate.
 * Rates are steady-state: measured between 10% and 90% of the predictions arriving (start-up excluded).
 */
import { type FeatureVector, topics, withPrefix } from '@flywheel/contracts';
import { decide, Scorer } from '@flywheel/ml';
import { type ServiceProcess, startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import * as tf from '@tensorflow/tfjs';
import type { Admin } from 'kafkajs';
import {
  collect,
  type MeshClient,
  makeVectors,
  meshClient,
  type Prediction,
  produceVectors,
  serviceEnv,
  startFakeModelSource,
  trainBundle,
} from '../test/inference/inference-harness';
import { startBenchEnvironment } from './bench-env';

const BATCHES = (process.env.BENCH_BATCHES ?? '1,16,64,256').split(',').map(Number);
/** Extra environment for every instance, e.g. INSTANCE_ENV='{"PARTITIONS_CONCURRENCY":"3"}'. */
const INSTANCE_ENV: Record<string, string> = JSON.parse(process.env.INSTANCE_ENV ?? '{}');
/** Sections to run (all by default): 1 in process, 2 one instance, 3 scaling, 4 latency. */
const SECTIONS = new Set((process.env.BENCH_SECTIONS ?? '1,2,3,4').split(','));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

function timeLoop(ms: number, body: () => number): number {
  let rows = 0;
  const start = performance.now();
  while (performance.now() - start < ms) rows += body();
  return rows / ((performance.now() - start) / 1000);
}

async function countHigh(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

/** Steady-state rate: time between 10% and 90% of `total` predictions being on the topic. */
async function steadyRate(admin: Admin, topic: string, total: number): Promise<number> {
  let t10 = 0;
  let t90 = 0;
  await waitUntil(
    async () => {
      const n = await countHigh(admin, topic);
      if (!t10 && n >= total * 0.1) t10 = performance.now();
      if (!t90 && n >= total * 0.9) t90 = performance.now();
      return n >= total;
    },
    { timeoutMs: 600_000, intervalMs: 50, message: `${total} predictions` },
  );
  return (total * 0.8) / ((t90 - t10) / 1000);
}

async function main() {
  const env = await startBenchEnvironment();
  const brokers = env.brokers.join(',');
  const bundle = await trainBundle(1);
  const k = bundle.spec.feature_names.length;
  const scorer = new Scorer(bundle.model, bundle.spec);
  const sample = makeVectors(4096, 3);

  console.log(`\nbackend ${tf.getBackend()}, ${k} features, model ${k}→32→16→1\n`);
  console.log('1) in process: scoring path vs raw tfjs predict (rows/s)');
  const raw: Record<number, number> = {};
  for (const b of BATCHES) {
    const x = tf.tensor2d(
      sample.slice(0, b).flatMap((v) => bundle.spec.feature_names.map((n) => v.features[n])),
      [b, k],
    );
    raw[b] = timeLoop(1500, () => {
      // the fastest raw form: one pass over the whole batch (the default slices it into 32-row batches)
      const y = bundle.model.predict(x, { batchSize: b }) as tf.Tensor;
      y.dataSync();
      y.dispose();
      return b;
    });
    x.dispose();
    let offset = 0;
    const path = timeLoop(1500, () => {
      const rows: FeatureVector[] = sample.slice(offset, offset + b);
      offset = (offset + b) % (sample.length - b);
      const scores = scorer.score(rows.map((r) => r.features));
      let declined = 0;
      for (let i = 0; i < scores.length; i++) if (decide(scores[i], { threshold: 0.7 }) === 'DECLINE') declined++;
      return rows.length + declined * 0;
    });
    console.log(
      `   batch ${String(b).padStart(3)}: raw predict ${fmt(raw[b]).padStart(9)}   scoring path ${fmt(path).padStart(9)}   (${Math.round((path / raw[b]) * 100)}%)`,
    );
  }

  const runInstances = async (
    label: string,
    count: number,
    instances: number,
    batch: number,
  ): Promise<{
    rate: number;
    mesh: MeshClient;
    prefix: string;
    procs: ServiceProcess[];
    close: () => Promise<void>;
  }> => {
    const prefix = testPrefix(`bench${batch}x${instances}`);
    const mesh = await meshClient(brokers, env.registryUrl, prefix);
    const source = await startFakeModelSource(mesh, prefix);
    await source.promote(await source.register(bundle));
    await produceVectors(mesh, prefix, makeVectors(count, batch * 7 + instances), 1000);
    const admin = mesh.kafka.admin();
    await admin.connect();
    const extra = { BATCH_MAX_ROWS: String(batch), BATCH_MAX_WAIT_MS: '20', LOG_LEVEL: 'warn', ...INSTANCE_ENV };
    const procs = await Promise.all(
      Array.from({ length: instances }, (_, i) =>
        startServiceProcess('stream-inference', {
          env: serviceEnv({ kafkaBrokers: brokers, schemaRegistryUrl: env.registryUrl }, prefix, source.url, {
            ...extra,
            INSTANCE_ID: `bench-${i}`,
          }),
        }),
      ),
    );
    const rate = await steadyRate(admin, withPrefix(prefix, topics.predictions), count);
    await admin.disconnect();
    console.log(`   ${label}: ${fmt(rate)} rows/s`);
    return {
      rate,
      mesh,
      prefix,
      procs,
      close: async () => {
        await Promise.all(procs.map((p) => p.stop()));
        await source.close();
        await mesh.close();
      },
    };
  };

  /**
   * The Kafka-I/O ceiling of one instance: a plain kafkajs consume→produce pass-through of the same vector
   * backlog (no decode, no scoring, no encode), same fetch wait and partition concurrency as the instance.
   */
  const passThrough = async (count: number): Promise<number> => {
    const prefix = testPrefix('benchpass');
    const mesh = await meshClient(brokers, env.registryUrl, prefix);
    await produceVectors(mesh, prefix, makeVectors(count, 11), 1000);
    const admin = mesh.kafka.admin();
    await admin.connect();
    const producer = mesh.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const consumer = mesh.kafka.consumer({ groupId: `${prefix}pass`, maxWaitTimeInMs: 20 });
    await consumer.connect();
    await consumer.subscribe({ topics: [withPrefix(prefix, topics.featureVectors)], fromBeginning: true });
    const out = withPrefix(prefix, topics.predictions);
    await consumer.run({
      partitionsConsumedConcurrently: Number(INSTANCE_ENV.PARTITIONS_CONCURRENCY ?? 3),
      eachBatch: async ({ batch }) => {
        await producer.send({
          topic: out,
          acks: -1,
          messages: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers })),
        });
      },
    });
    const rate = await steadyRate(admin, out, count);
    await consumer.disconnect();
    await producer.disconnect();
    await admin.disconnect();
    await mesh.close();
    return rate;
  };

  const instanceRates: Record<number, number> = {};
  if (SECTIONS.has('2')) {
    console.log('\n2) one built instance through Kafka (vectors backlog → predictions acked), steady state');
    console.log(`   instance environment ${JSON.stringify(INSTANCE_ENV)}`);
    const pass = await passThrough(40_000);
    console.log(`   plain kafkajs consume→produce pass-through (Kafka I/O ceiling): ${fmt(pass)} rows/s`);
    for (const b of BATCHES) {
      const count = Number(process.env.INSTANCE_ROWS ?? (b === 1 ? 3_000 : b === 16 ? 20_000 : 40_000));
      const run = await runInstances(
        `BATCH_MAX_ROWS ${String(b).padStart(3)} (raw predict ${fmt(raw[b])})`,
        count,
        1,
        b,
      );
      instanceRates[b] = run.rate;
      console.log(
        `      = ${((run.rate / raw[b]) * 100).toFixed(1)}% of raw predict, ${((run.rate / pass) * 100).toFixed(0)}% of the pass-through`,
      );
      await run.close();
    }
  }

  let oneRate = 0;
  if (SECTIONS.has('3')) {
    console.log('\n3) 1 vs 2 instances, BATCH_MAX_ROWS 256, 6 partitions');
    const one = await runInstances('1 instance ', 60_000, 1, 256);
    await one.close();
    oneRate = one.rate;
    const two = await runInstances('2 instances', 60_000, 2, 256);
    await two.close();
    console.log(
      `   ratio 2/1 = ${(two.rate / one.rate).toFixed(2)} (2 cores shared with the broker and this benchmark)`,
    );
  }

  if (!SECTIONS.has('4')) {
    await env.stop();
    return;
  }
  console.log('\n4) latency at 50% of 1-instance saturation');
  const saturation = Math.max(oneRate, instanceRates[256] ?? 0) || Number(process.env.SATURATION_ROWS_S ?? 10_000);
  const target = saturation / 2;
  const prefix = testPrefix('benchlat');
  const mesh = await meshClient(brokers, env.registryUrl, prefix);
  const source = await startFakeModelSource(mesh, prefix);
  await source.promote(await source.register(bundle));
  const proc = await startServiceProcess('stream-inference', {
    env: serviceEnv({ kafkaBrokers: brokers, schemaRegistryUrl: env.registryUrl }, prefix, source.url, {
      LOG_LEVEL: 'warn',
      ...INSTANCE_ENV,
    }),
  });
  const received: number[] = [];
  const out = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
  const tick = 50;
  const perTick = Math.max(1, Math.round((target * tick) / 1000));
  const seconds = 15;
  let sent = 0;
  const begin = Date.now();
  while (Date.now() - begin < seconds * 1000) {
    const t = Date.now();
    await produceVectors(mesh, prefix, makeVectors(perTick, sent + 1), perTick);
    sent += perTick;
    const wait = tick - (Date.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const achieved = sent / ((Date.now() - begin) / 1000);
  await waitUntil(() => out.items.length >= sent, { timeoutMs: 120_000 });
  // event_time is stamped just before the vector is sent; scored_time when the instance scored it
  for (const item of out.items) received.push(item.value.scored_time - item.value.event_time);
  await out.stop();
  const lat = received.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor((p / 100) * lat.length))];
  console.log(
    `   offered ${fmt(achieved)} rows/s (target ${fmt(target)}): event produced → scored p50 ${pct(50)} ms, p99 ${pct(99)} ms (${lat.length} predictions)`,
  );
  const metrics = await (await fetch(`${proc.url}/metrics`)).text();
  const buckets = metrics
    .split('\n')
    .filter((l) => l.startsWith('flywheel_inference_end_to_end_latency_seconds_bucket'))
    .map((l) => [Number(/le="([^"]+)"/.exec(l)?.[1] ?? 'Infinity'), Number(l.split(' ').pop())] as const);
  const total = buckets.at(-1)?.[1] ?? 0;
  const q = (p: number) => buckets.find(([, c]) => c >= total * p)?.[0];
  console.log(`   instance histogram event_time → prediction acked: p50 ≤ ${q(0.5)} s, p99 ≤ ${q(0.99)} s`);
  await proc.stop();
  await source.close();
  await mesh.close();
  await env.stop();
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
