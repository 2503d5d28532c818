/**
 * End to end: collector → predictions with every service running (stream-inference ×2, monitor, trainer,
 * dead-letter-alerter, registry), next to a plain kafkajs pipe with the same number of hops and no work, in
 * the same run on the same broker.
 *
 *   npx tsx bench/e2e.bench.ts          (EVENTS=60000 LATENCY_SECONDS=20 ROUNDS=1 to change the defaults)
 *
 * - mesh: the demo's world (5,000 accounts, 500 merchants, reference data loaded, a first model trained and
 *   promoted as `npm run demo` does), transactions POSTed to the collector in batches of 500 by 8 concurrent
 *   clients; done when a prediction for every one of them is on predictions.v1.
 * - plain: JSON events of the same size produced by kafkajs (acks=all, batches of 500, 8 concurrent senders)
 *   to topic 0; three relay processes copy 0 → 1 → 2 → 3 (consume, produce unchanged, commit); done when
 *   every event is on topic 3. Same hops as collector → events.raw → enrichment → events.enriched → features
 *   → features.vectors → inference → predictions; no HTTP, no Avro, no validation, no state, no model.
 * - warm-up: WARMUP_RUNS throughput runs of every pipeline first, not reported (the broker is new).
 * - throughput: EVENTS as fast as each takes them, events / (last output − first send).
 * - latency: then LATENCY_SECONDS at 50% of that throughput, open loop (a batch every 50 ms on a fixed
 *   schedule); per event, output seen by the bench − scheduled send time. p50 / p99; events not out after
 *   30 s count as lost. Then the same per hop, from the record timestamps on each stage's output topic
 *   (bench/e2e-hops.ts), so a latency figure says which stage it comes from.
 *
 * Iterating on latency: PIPELINES=mesh (or plain) runs one; LATENCY_RATE=1500 offers that rate in the latency
 * run instead of half the measured throughput (the same rate across runs of different code); DUMP_METRICS=1 prints the stages' batch, produce and commit duration sums and counts at the end.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { schemaFor, topics } from '@flywheel/contracts';
import {
  CollectorSink,
  deriveSeed,
  loadReferenceData,
  Population,
  TrafficModel,
  type Transaction,
} from '@flywheel/generator';
import { AvroSerde } from '@flywheel/kafka';
import { type Mesh, REPO_ROOT, startMesh } from '@flywheel/testing';
import { type Consumer, Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { parseDemoArgs } from '../scripts/demo/demo-options';
import { createApiKey, ensureInitialModel } from '../scripts/demo/initial-model';
import { loopEnvironment } from '../scripts/demo/loop-settings';
import { percentile } from './bench-env';
import { endOffsets, type HopLatency, type HopSource, hopLatencies } from './e2e-hops';
import { cpuByRole, cpuSnapshot } from './process-cpu';

const EVENTS = Number(process.env.EVENTS ?? 60_000);
const LATENCY_SECONDS = Number(process.env.LATENCY_SECONDS ?? 20);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const BATCH = 500;
const SENDERS = 8;
const TICK_MS = 50;
const LOST_AFTER_MS = 30_000;
const HOPS = 3;
const PIPELINES = (process.env.PIPELINES ?? 'plain,mesh').split(',');
const WARMUP_RUNS = Number(process.env.WARMUP_RUNS ?? 1);
const LATENCY_RATE = process.env.LATENCY_RATE ? Number(process.env.LATENCY_RATE) : undefined;

/** A pipeline under test: how to send a batch, and where outputs appear (event id → time seen). */
interface Pipeline {
  name: string;
  send(batch: Transaction[]): Promise<void>;
  seen: Map<string, number>;
  /** Each stage's output topic in order, for the per-hop breakdown. */
  hops: HopSource[];
}

interface Throughput {
  events: number;
  seconds: number;
  perSecond: number;
}

interface Latency {
  offered: number;
  sent: number;
  p50: number;
  p99: number;
  lost: number;
  hops: HopLatency[];
  /** % of one core per process role while the load was offered (the machine has 2 cores: 200%). */
  cpu: { role: string; percent: number }[];
}

async function waitFor(ids: string[], seen: Map<string, number>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (ids.every((id) => seen.has(id))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** EVENTS through the pipeline as fast as SENDERS concurrent senders can push them. */
async function throughput(pipeline: Pipeline, traffic: () => Transaction[]): Promise<Throughput> {
  const batches = Array.from({ length: Math.ceil(EVENTS / BATCH) }, traffic);
  const ids = batches.flat().map((t) => t.event_id);
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: SENDERS }, async () => {
      while (next < batches.length) await pipeline.send(batches[next++]);
    }),
  );
  await waitFor(ids, pipeline.seen, 300_000);
  const last = Math.max(...ids.map((id) => pipeline.seen.get(id) ?? Date.now()));
  const seconds = (last - started) / 1000;
  const out = ids.filter((id) => pipeline.seen.has(id)).length;
  return { events: out, seconds, perSecond: out / seconds };
}

/** Open loop at `rate` for LATENCY_SECONDS: a batch every TICK_MS on a fixed schedule, however slow answers are. */
async function latency(
  kafka: Kafka,
  pipeline: Pipeline,
  rate: number,
  traffic: (n: number) => Transaction[],
): Promise<Latency> {
  const topicNames = pipeline.hops.map((h) => h.topic);
  const before = await endOffsets(kafka, topicNames);
  const perTick = Math.max(1, Math.round((rate * TICK_MS) / 1000));
  const ticks = Math.round((LATENCY_SECONDS * 1000) / TICK_MS);
  const scheduled = new Map<string, number>();
  const start = Date.now() + 200;
  const sends: Promise<void>[] = [];
  const cpuAtStart = cpuSnapshot();
  for (let i = 0; i < ticks; i++) {
    const at = start + i * TICK_MS;
    const wait = at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const batch = traffic(perTick).map((t) => ({ ...t, event_time: at }));
    for (const t of batch) scheduled.set(t.event_id, at);
    sends.push(pipeline.send(batch));
  }
  await Promise.all(sends);
  const cpu = cpuByRole(cpuAtStart, cpuSnapshot());
  const ids = [...scheduled.keys()];
  await waitFor(ids, pipeline.seen, LOST_AFTER_MS);
  const latencies = ids
    .filter((id) => pipeline.seen.has(id))
    .map((id) => (pipeline.seen.get(id) as number) - (scheduled.get(id) as number))
    .sort((a, b) => a - b);
  const after = await endOffsets(kafka, topicNames);
  const hops = await hopLatencies(kafka, pipeline.hops, before, after, scheduled, pipeline.seen);
  return {
    offered: (perTick * 1000) / TICK_MS,
    sent: ids.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    lost: ids.length - latencies.length,
    hops,
    cpu,
  };
}

/** Reads a topic from its end, noting when each event id first appears. */
async function watch(
  kafka: Kafka,
  topic: string,
  idOf: (value: Buffer) => Promise<string>,
): Promise<{ seen: Map<string, number>; consumer: Consumer }> {
  const seen = new Map<string, number>();
  const consumer = kafka.consumer({ groupId: `bench-e2e-watch-${randomUUID()}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    partitionsConsumedConcurrently: 6,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        if (!m.value) continue;
        const id = await idOf(m.value);
        if (!seen.has(id)) seen.set(id, now);
      }
    },
  });
  await joined;
  return { seen, consumer };
}

function startRelay(brokers: string, from: string, to: string): Promise<ChildProcess> {
  const child = spawn(
    `${REPO_ROOT}/node_modules/.bin/tsx`,
    ['bench/e2e-relay.ts', brokers, from, to, `bench-e2e-relay-${randomUUID()}`],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`relay ${from} → ${to} exited with ${code}`)));
  });
}

async function plainPipe(mesh: Mesh, kafka: Kafka): Promise<{ pipeline: Pipeline; stop(): Promise<void> }> {
  const base = `bench.e2e.${randomUUID().slice(0, 8)}`;
  const names = Array.from({ length: HOPS + 1 }, (_, i) => `${base}.hop${i}`);
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: names.map((topic) => ({ topic, numPartitions: 6 })), waitForLeaders: true });
  await admin.disconnect();
  const relays = await Promise.all(names.slice(0, HOPS).map((from, i) => startRelay(mesh.brokers, from, names[i + 1])));
  const idOf = async (value: Buffer) => (JSON.parse(value.toString()) as Transaction).event_id;
  const { seen, consumer } = await watch(kafka, names[HOPS], idOf);
  const producer: Producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  return {
    pipeline: {
      name: 'plain kafkajs pipe',
      seen,
      hops: names.map((topic) => ({ topic, idOf })),
      send: async (batch) => {
        await producer.send({
          topic: names[0],
          acks: -1,
          messages: batch.map((t) => ({ key: t.account_id, value: JSON.stringify({ type: 'transaction', ...t }) })),
        });
      },
    },
    stop: async () => {
      await consumer.disconnect();
      await producer.disconnect();
      await Promise.all(
        relays.map(
          (relay) =>
            new Promise<void>((resolve) => {
              relay.once('exit', () => resolve());
              relay.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

async function main(): Promise<void> {
  const options = parseDemoArgs(['--history', '4000', '--rate', '250'], false);
  const mesh = await startMesh({
    name: `bench-e2e-${process.pid}`,
    ports: 'free',
    ephemeral: true,
    services: ['registry', 'collector', 'enrichment-api', 'feature-materializer', 'dead-letter-alerter'],
    instances: { 'stream-inference': 2 },
    env: loopEnvironment(options),
    logLevel: 'warn',
  });
  try {
    const population = new Population({ accounts: 5_000, merchants: 500, seed: 7 });
    await loadReferenceData(mesh.url('enrichment-api'), mesh.adminToken, population);
    const apiKey = await createApiKey(mesh, 'bench-e2e');
    await ensureInitialModel(mesh, options, population, apiKey.key, (line) => console.log(line));
    await mesh.start(['stream-inference', 'monitor', 'trainer']);

    const kafka = new Kafka({ clientId: 'bench-e2e', brokers: mesh.brokers.split(','), logLevel: logLevel.NOTHING });
    const serde = AvroSerde.connect(mesh.url('registry'), schemaFor);
    const decodeId = (topic: string) => async (value: Buffer) =>
      ((await serde.decode(topic, value)) as { event_id: string }).event_id;
    const predictions = await watch(kafka, topics.predictions, decodeId(topics.predictions));
    const collector = new CollectorSink(mesh.url('collector'), apiKey.key);
    const never = new AbortController().signal;
    const meshPipeline: Pipeline = {
      name: 'mesh (collector → predictions)',
      seen: predictions.seen,
      hops: [topics.eventsRaw, topics.eventsEnriched, topics.featureVectors, topics.predictions].map((topic) => ({
        topic,
        idOf: decodeId(topic),
      })),
      send: async (batch) => {
        const result = await collector.send({ transactions: batch, labels: [] }, never);
        if (result.rejected > 0) throw new Error(`collector rejected ${result.rejected}: ${result.reasons.join('; ')}`);
      },
    };

    // Transactions of the demo's world, event times just behind the clock (valid for every stage).
    const model = new TrafficModel(population, {
      rate: 100_000,
      startTime: Date.now() - 60_000,
      fraudRate: 0.04,
      seed: deriveSeed(7, 'bench'),
    });
    const traffic = (n = BATCH) =>
      Array.from({ length: n }, () => ({ ...model.next().transaction, event_time: Date.now() - 1_000 }));

    const rows: string[] = [];
    const hopRows: string[] = [];
    // The plain pipe's relays run only for its own measurement: idle, their fetch loops still take CPU.
    const contenders: (() => Promise<{ pipeline: Pipeline; stop(): Promise<void> }>)[] = [];
    if (PIPELINES.includes('plain')) contenders.push(() => plainPipe(mesh, kafka));
    if (PIPELINES.includes('mesh')) contenders.push(async () => ({ pipeline: meshPipeline, stop: async () => {} }));
    // Warm-up, not reported: the broker is started for this run and its JIT compiler otherwise spends a
    // fifth of a core during the first measurements (seen in top -H); a deployed broker has long finished.
    // Every pipeline warms before any is measured, so the order of the pipelines favours none of them.
    for (let i = 0; i < WARMUP_RUNS; i++) {
      for (const contender of contenders) {
        const { pipeline, stop } = await contender();
        const t = await throughput(pipeline, traffic);
        console.log(`[warm-up] ${pipeline.name}: ${Math.round(t.perSecond)} events/s (not reported)`);
        await stop();
      }
    }
    for (let round = 1; round <= ROUNDS; round++) {
      for (const contender of contenders) {
        const { pipeline, stop } = await contender();
        const t = await throughput(pipeline, traffic);
        console.log(
          `[round ${round}] ${pipeline.name}: ${Math.round(t.perSecond)} events/s (${t.events} in ${t.seconds.toFixed(1)} s)`,
        );
        const l = await latency(kafka, pipeline, LATENCY_RATE ?? t.perSecond / 2, traffic);
        console.log(
          `[round ${round}] ${pipeline.name} at ${Math.round(l.offered)}/s: p50 ${l.p50} ms, p99 ${l.p99} ms, lost ${l.lost} of ${l.sent}`,
        );
        console.log(
          `[round ${round}] CPU while offered (% of one core, 200 = both): ${l.cpu.map((c) => `${c.role} ${c.percent.toFixed(0)}`).join(', ')}; total ${l.cpu.reduce((sum, c) => sum + c.percent, 0).toFixed(0)}`,
        );
        for (const h of l.hops) {
          hopRows.push(`| ${round} | ${pipeline.name} | ${h.hop} | ${h.events} | ${h.p50} | ${h.p99} |`);
        }
        await stop();
        rows.push(
          `| ${round} | ${pipeline.name} | ${Math.round(t.perSecond).toLocaleString('en-US')} | ${Math.round(l.offered).toLocaleString('en-US')} | ${l.p50} | ${l.p99} | ${l.lost} |`,
        );
      }
    }
    if (process.env.DUMP_METRICS) {
      for (const [service, instance] of [
        ['enrichment-api', 0],
        ['feature-materializer', 0],
        ['stream-inference', 0],
        ['collector', 0],
      ] as const) {
        const text = await (await fetch(`${mesh.url(service, instance)}/metrics`)).text();
        const lines = text
          .split('\n')
          .filter((l) =>
            /^(flywheel_kafka_(batch|produce)_[a-z_]*(sum|count)|flywheel_[a-z_]*duration_seconds_(sum|count))/.test(l),
          );
        console.log(`--- ${service}\n${lines.join('\n')}`);
      }
    }
    console.log('\n| round | pipeline | events/s | latency run at (events/s) | p50 ms | p99 ms | lost |');
    console.log('|---|---|---:|---:|---:|---:|---:|');
    for (const row of rows) console.log(row);
    console.log('\n| round | pipeline | hop (record timestamps) | events | p50 ms | p99 ms |');
    console.log('|---|---|---|---:|---:|---:|');
    for (const row of hopRows) console.log(row);
    await predictions.consumer.disconnect();
  } finally {
    await mesh.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
