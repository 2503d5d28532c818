/**
 * Cost of per-event tracing (`npx tsx bench/tracing.bench.ts`). Prints, from one run on this machine:
 *  1. in process: µs per event of the tracing work libs/kafka does at a hop (BatchConsumer + FlywheelProducer),
 *     without an exporter (the default: the context is carried, no span is made) and with spans recorded
 *     (a `<topic> process` and a `<topic> publish` span per event, handed to a BatchSpanProcessor whose
 *     exporter discards them), each mode in its own process;
 *  2. one built stream-inference instance through Kafka (40,000 vectors backlog → predictions acked,
 *     BATCH_MAX_ROWS 256), steady-state rows/s without an exporter vs with OTEL_EXPORTER_OTLP_ENDPOINT
 *     pointing at a local OTLP/HTTP sink (every span recorded and exported), alternating rounds.
 * Rates are steady-state: measured between 10% and 90% of the predictions arriving.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { topics, withPrefix } from '@flywheel/contracts';
import { injectTraceHeaders, PublishSpans, startProcessSpan } from '@flywheel/kafka';
import { initTracing } from '@flywheel/observability';
import { startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { ExportResultCode } from '@opentelemetry/core';
import { BatchSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Admin } from 'kafkajs';
import {
  makeVectors,
  meshClient,
  produceVectors,
  serviceEnv,
  startFakeModelSource,
  trainBundle,
} from '../test/inference/inference-harness';
import { startBenchEnvironment } from './bench-env';

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ROUNDS = 3;
const VECTORS = 40_000;

async function countHigh(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((n, p) => n + Number(p.high), 0);
}

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

/** The tracing work of one event at one hop, as BatchConsumer + FlywheelProducer do it. */
function microBenchmark(recorded: boolean): number {
  const discard: SpanExporter = {
    export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }),
    shutdown: async () => undefined,
  };
  initTracing({
    service: 'tracing-bench',
    spanProcessors: recorded ? [new BatchSpanProcessor(discard, { maxQueueSize: 100_000 })] : [],
  });
  // An upstream hop's context, sampled when recording (as the collector's would be with an exporter).
  const traceparent = Buffer.from(`00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0${recorded ? 1 : 0}`);
  const message = { headers: { traceparent }, key: Buffer.from('k'), offset: '1' };
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const processed = startProcessSpan('features.vectors.v1', 0, 'bench', message);
      const out = new PublishSpans('predictions.v1');
      injectTraceHeaders({}, out.contextFor(processed.context, { event_id: 'e' }));
      out.end();
      processed.span.end();
    }
  };
  run(20_000);
  const n = 200_000;
  const started = performance.now();
  run(n);
  return ((performance.now() - started) * 1000) / n;
}

/** Runs the micro benchmark of one mode in a fresh process (a process registers one tracer provider). */
function microInChild(mode: 'light' | 'recorded'): number {
  const out = execFileSync(process.execPath, [...process.execArgv, process.argv[1], '--micro', mode], {
    encoding: 'utf8',
  });
  return Number(out.trim().split('\n').pop());
}

async function main() {
  console.log('\n1) per-event tracing work at one hop, in process (µs per event, 3 runs each)');
  for (const mode of ['light', 'recorded'] as const) {
    const runs = [1, 2, 3].map(() => microInChild(mode).toFixed(2));
    console.log(
      `   ${mode === 'light' ? 'no exporter (context carried only)' : 'spans recorded           '}: ${runs.join(', ')}`,
    );
  }

  const env = await startBenchEnvironment();
  const brokers = env.brokers.join(',');
  const bundle = await trainBundle(1);
  let spans = 0;
  const sink = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      spans += bytes > 0 ? 1 : 0;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

  const round = async (exporting: boolean, n: number) => {
    const prefix = testPrefix(`benchtrace${exporting ? 'on' : 'off'}${n}`);
    const mesh = await meshClient(brokers, env.registryUrl, prefix);
    const source = await startFakeModelSource(mesh, prefix);
    await source.promote(await source.register(bundle));
    await produceVectors(mesh, prefix, makeVectors(VECTORS, n), 1000);
    const admin = mesh.kafka.admin();
    await admin.connect();
    const before = spans;
    const proc = await startServiceProcess('stream-inference', {
      env: serviceEnv({ kafkaBrokers: brokers, schemaRegistryUrl: env.registryUrl }, prefix, source.url, {
        BATCH_MAX_ROWS: '256',
        BATCH_MAX_WAIT_MS: '20',
        LOG_LEVEL: 'warn',
        ...(exporting ? { OTEL_EXPORTER_OTLP_ENDPOINT: sinkUrl } : {}),
      }),
    });
    const rate = await steadyRate(admin, withPrefix(prefix, topics.predictions), VECTORS);
    await proc.stop();
    await admin.disconnect();
    await source.close();
    await mesh.close();
    return { rate, exports: spans - before };
  };

  console.log('\n2) one stream-inference instance through Kafka, BATCH_MAX_ROWS 256, rows/s');
  const off: number[] = [];
  const on: number[] = [];
  for (let r = 1; r <= ROUNDS; r++) {
    const a = await round(false, r);
    const b = await round(true, r);
    off.push(a.rate);
    on.push(b.rate);
    console.log(
      `   round ${r}: no exporter ${fmt(a.rate)}   exporting ${fmt(b.rate)} (${b.exports} OTLP requests)   = ${Math.round((b.rate / a.rate) * 100)}%`,
    );
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  console.log(
    `   median: no exporter ${fmt(median(off))}, exporting ${fmt(median(on))} = ${Math.round((median(on) / median(off)) * 100)}%`,
  );
  sink.close();
  await env.stop();
}

const micro = process.argv.indexOf('--micro');
(micro >= 0 ? Promise.resolve(console.log(microBenchmark(process.argv[micro + 1] === 'recorded'))) : main()).then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
