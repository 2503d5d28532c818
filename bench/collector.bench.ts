/**
 * Collector throughput and latency, next to a plain kafkajs producer sending the same events in the same run.
 *
 *   npx tsx bench/collector.bench.ts          (CLIENTS=8 SECONDS=10 ROUNDS=2 RATE=5000 to change the defaults)
 *
 * - collector, saturation: CLIENTS concurrent HTTP clients (fetch, keep-alive) each POST a batch of 100
 *   events, await the answer, post the next, for SECONDS.
 * - collector, fixed rate: RATE events/s as batches of 100 on a fixed schedule (open loop: a late answer does
 *   not delay the next send), latency measured from the scheduled time.
 * - plain kafkajs: the same events, JSON-encoded values, batches of 100 per send, acks=-1, CLIENTS concurrent
 *   senders (saturation) and the same fixed rate. No HTTP, no validation, no Avro, no idempotence.
 * Saturation rounds alternate (plain, collector, plain, collector ...) so machine noise hits both alike; the
 * ratio is over all rounds. Accepted events/s counts only events Kafka acknowledged (a 200's accepted count / a resolved send).
 * CPU seconds used during each row by this process (load generator + plain producer) and by the collector process
 * are printed too: on a shared machine throughput swings with other load, CPU per event much less.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureTopics, topics, withPrefix } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import { databaseUrl, ensurePostgres, REPO_ROOT, startServiceProcess, testPrefix, testTopic } from '@flywheel/testing';
import type { Producer } from 'kafkajs';
import { percentile, startBenchEnvironment } from './bench-env';

const CLIENTS = Number(process.env.CLIENTS ?? 8);
const SECONDS = Number(process.env.SECONDS ?? 10);
const ROUNDS = Number(process.env.ROUNDS ?? 2);
const RATE = Number(process.env.RATE ?? 5_000);
const BATCH = 100;

function event(i: number) {
  return {
    type: 'transaction',
    event_id: crypto.randomUUID(),
    event_time: Date.now(),
    account_id: `acct-${i % 1000}`,
    merchant_id: `m-${i % 200}`,
    amount: (i % 10_000) / 100,
    currency: 'EUR',
    channel: (['pos', 'ecom', 'atm'] as const)[i % 3],
    card_present: i % 2 === 0,
    device_id: i % 3 === 1 ? `dev-${i % 5000}` : null,
    ip_country: i % 3 === 1 ? 'DE' : null,
    attributes: { terminal: `t-${i % 300}`, mcc: '5411' },
  };
}

let counter = 0;
function batch(): ReturnType<typeof event>[] {
  return Array.from({ length: BATCH }, () => event(counter++));
}

interface Result {
  name: string;
  events: number;
  ms: number;
  latencies: number[];
  errors: number;
  /** CPU seconds used during the row: this process, and the collector process. */
  cpu?: { bench: number; collector: number };
}

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

/** User + system CPU seconds a process has used so far (Linux /proc). */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (in parentheses, may contain spaces): utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** Runs a row and records the CPU time this process and the collector used meanwhile. */
async function withCpu(collectorPid: number, row: () => Promise<Result>): Promise<Result> {
  const bench = process.cpuUsage();
  const collector = processCpuSeconds(collectorPid);
  const result = await row();
  const used = process.cpuUsage(bench);
  return {
    ...result,
    cpu: { bench: (used.user + used.system) / 1e6, collector: processCpuSeconds(collectorPid) - collector },
  };
}

/** Closed loop: `clients` workers, each sending and awaiting, for `seconds`. */
async function saturate(name: string, send: () => Promise<number>): Promise<Result> {
  const latencies: number[] = [];
  let events = 0;
  let errors = 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          // Await first, then add: `events += await send()` reads `events` before the await and loses the
          // other workers' increments made meanwhile.
          const accepted = await send();
          events += accepted;
          latencies.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return { name, events, ms: performance.now() - started, latencies, errors };
}

/** Open loop: one batch every BATCH/RATE seconds, latency from the scheduled send time. */
async function fixedRate(name: string, send: () => Promise<number>): Promise<Result> {
  const latencies: number[] = [];
  let events = 0;
  let errors = 0;
  const interval = (BATCH / RATE) * 1000;
  const total = Math.floor((SECONDS * 1000) / interval);
  const started = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = started + i * interval;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      send().then(
        (n) => {
          events += n;
          latencies.push(performance.now() - scheduled);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(inflight);
  return { name, events, ms: performance.now() - started, latencies, errors };
}

async function main() {
  const env = await startBenchEnvironment();
  const kafka = createKafkaClient({ brokers: env.brokers, clientId: 'bench-collector' });
  const prefix = testPrefix('bench');
  const baselineTopic = testTopic('bench-plain');
  const admin = kafka.admin();
  await admin.connect();
  // A fresh broker can answer UNKNOWN_TOPIC_OR_PARTITION to the leader wait right after creation; ensureTopics is idempotent.
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.labels] });
      break;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
  await admin.createTopics({ topics: [{ topic: baselineTopic, numPartitions: 6 }], waitForLeaders: false });
  await admin.disconnect();

  const postgres = await ensurePostgres();
  const db = await databaseUrl(postgres.serverUrl, 'flywheel_bench');
  const cli = resolve(REPO_ROOT, 'dist/services/collector/src/cli/api-keys.js');
  const { stdout } = await promisify(execFile)(process.execPath, [cli, 'create', '--producer', 'bench', '--json'], {
    env: { ...process.env, DATABASE_URL: db },
  });
  const { key } = JSON.parse(stdout) as { key: string };
  const collector = await startServiceProcess('collector', {
    env: {
      DATABASE_URL: db,
      KAFKA_BROKERS: env.brokers.join(','),
      SCHEMA_REGISTRY_URL: env.registryUrl,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND: '0',
    },
  });
  const producer: Producer = kafka.producer();
  await producer.connect();

  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const viaCollector = async () => {
    const res = await fetch(`${collector.url}/v1/events`, { method: 'POST', headers, body: JSON.stringify(batch()) });
    const answer = (await res.json()) as { accepted?: number };
    if (res.status !== 200) throw new Error(`status ${res.status}`);
    return answer.accepted ?? 0;
  };
  const viaKafkajs = async () => {
    const messages = batch().map((e) => ({ key: e.account_id, value: JSON.stringify(e) }));
    await producer.send({ topic: baselineTopic, acks: -1, messages });
    return messages.length;
  };

  try {
    // Warm both paths (JIT, connections, metadata) before measuring.
    for (let i = 0; i < 20; i++) await Promise.all([viaCollector(), viaKafkajs()]);
    const results: Result[] = [];
    const pid = collector.child.pid as number;
    for (let round = 1; round <= ROUNDS; round++) {
      results.push(
        await withCpu(pid, () => saturate(`kafkajs plain, ${CLIENTS} senders (round ${round})`, viaKafkajs)),
      );
      results.push(
        await withCpu(pid, () => saturate(`collector, ${CLIENTS} HTTP clients (round ${round})`, viaCollector)),
      );
    }
    results.push(await withCpu(pid, () => fixedRate(`kafkajs plain, ${RATE} ev/s`, viaKafkajs)));
    results.push(await withCpu(pid, () => fixedRate(`collector, ${RATE} ev/s`, viaCollector)));

    console.log(
      `\ncollector benchmark: batches of ${BATCH} events, ${SECONDS} s per row, ${CLIENTS} clients at saturation\n`,
    );
    console.log(
      '| run | accepted events/s | p50 ms | p99 ms | requests | errors | CPU s bench / collector | CPU ms per 1k events (bench + collector) |',
    );
    console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const r of results) {
      const sorted = [...r.latencies].sort((a, b) => a - b);
      console.log(
        `| ${r.name} | ${Math.round((r.events / r.ms) * 1000).toLocaleString('en-US')} | ${percentile(sorted, 50).toFixed(1)} | ${percentile(sorted, 99).toFixed(1)} | ${r.latencies.length} | ${r.errors} | ${cpuCells(r)} |`,
      );
    }
    const rate = (rows: Result[]) =>
      rows.reduce((sum, r) => sum + r.events, 0) / rows.reduce((sum, r) => sum + r.ms, 0);
    const saturation = results.slice(0, 2 * ROUNDS);
    const ratio =
      rate(saturation.filter((r) => r.name.startsWith('collector'))) /
      rate(saturation.filter((r) => r.name.startsWith('kafkajs')));
    console.log(`\ncollector / plain kafkajs at saturation, all rounds: ${(ratio * 100).toFixed(0)}% (target >= 60%)`);
    console.log(
      `load average during the run: ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} on ${(await import('node:os')).cpus().length} cores`,
    );
    console.log(`topic ${withPrefix(prefix, topics.eventsRaw)}, baseline ${baselineTopic}`);
  } finally {
    await producer.disconnect();
    await collector.stop();
    await env.stop();
  }
}

function cpuCells(r: Result): string {
  if (!r.cpu || r.events === 0) return '– | –';
  const perThousand = (s: number) => ((s * 1e6) / r.events).toFixed(1);
  return `${r.cpu.bench.toFixed(1)} / ${r.cpu.collector.toFixed(1)} | ${perThousand(r.cpu.bench)} + ${perThousand(r.cpu.collector)}`;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
