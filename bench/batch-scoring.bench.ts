/**
 * Batch scoring benchmark (`npx tsx bench/batch-scoring.bench.ts`). From one run on this machine it prints:
 *  1. rows/s of runBatchScoring over ROWS (default 1,000,000) offline-log rows of the payments-fraud feature
 *     set (39 features as float8[], daily partitions) — cursor read, scoring, results + checkpoint writes — next to
 *  2. raw tfjs predict on the same rows: the same standardised values, the same micro-batch size, only
 *     model.predict + dataSync timed (tensor building excluded);
 *  3. the process's RSS before, at 10%, 50% and 100% of the rows, and its peak (sampled every 25 ms);
 *  4. where the time goes: the same cursor read alone (FETCH every chunk, nothing else), i.e. Postgres
 *     shipping each row's stored float8[] (array_send), the part no scoring code can speed up.
 * The offline log is seeded once into database `flywheel_bench_batch` (generate_series, server-side) and
 * reused by later runs; results are truncated before each run. Env: ROWS, BATCH_CHUNK_ROWS,
 * BATCH_MICRO_BATCH_ROWS (as the CLI), RESEED=1 to rebuild the log, SHARDS=n to score n shards of the run
 * at once in this process (each its own cursor and writer connection: more Postgres cores at work).
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { paymentsFraud } from '@flywheel/features';
import { buildFraudModel, fitFeatureSpec, initBackend, serializeBundle } from '@flywheel/ml';
import { createMetricsRegistry } from '@flywheel/observability';
import * as tf from '@tensorflow/tfjs';
import { Client, Pool } from 'pg';
import pino from 'pino';
import type { Gauge } from 'prom-client';
import { databaseUrl, ensurePostgres } from '../libs/testing/src/postgres';
import { REPO_ROOT, startServiceProcess } from '../libs/testing/src/service-process';
import { loadBatchScorerConfig } from '../services/batch-scorer/src/config';
import { runBatchScoring } from '../services/batch-scorer/src/scoring/batch-scoring';
import { OfflineLogCursor, storedFeatureNames } from '../services/batch-scorer/src/source/offline-log.reader';
import { createFeatureStore, featureRecord, featureValue, seedOfflineLog } from '../test/batch/batch-harness';

const ROWS = Number(process.env.ROWS ?? 1_000_000);
const MODEL = 'bench-fraud';
const NAMESPACE = 'bench';
const TOKEN = 'batch-bench-admin-token-0123456789';
const T0 = Date.UTC(2026, 0, 5);
const STEP_MS = 600; // 1M rows over ~7 days → 8 daily partitions
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const mib = (bytes: number) => `${Math.round(bytes / 1048576)} MiB`;

async function registryCall(url: string, method: string, path: string, body: Buffer | object, ok: number[]) {
  const binary = Buffer.isBuffer(body);
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      'content-type': binary ? 'application/octet-stream' : 'application/json',
    },
    body: binary ? new Uint8Array(body) : JSON.stringify(body),
  });
  const text = await response.text();
  if (!ok.includes(response.status)) throw new Error(`${method} ${path} → ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

async function main() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const postgres = await ensurePostgres();
  const dbUrl = await databaseUrl(postgres.serverUrl, 'flywheel_bench_batch');
  const registry = await startServiceProcess('registry', {
    env: { DATABASE_URL: dbUrl, REGISTRY_KAFKA_ENABLED: 'false', REGISTRY_ADMIN_TOKEN: TOKEN, LOG_LEVEL: 'warn' },
  });
  const db = new Client({ connectionString: dbUrl });
  await db.connect();
  try {
    const backend = await initBackend('auto');
    const names = [...paymentsFraud.featureNames];
    const k = names.length;
    // The model: the fraud network over the 39 features (weights as initialised: throughput does not care).
    const spec = fitFeatureSpec(
      Array.from({ length: 5000 }, (_, i) => featureRecord(i, names)),
      names,
    );
    const model = buildFraudModel(k, 7);
    const bundle = await serializeBundle(model, spec, {
      feature_set_version: paymentsFraud.version,
      threshold: 0.5,
      review_threshold: 0.3,
      model_name: MODEL,
    });
    await registryCall(registry.url, 'PUT', `/v1/artifacts/${bundle.sha256}`, bundle.bytes, [200, 201]);
    const version = await registryCall(
      registry.url,
      'POST',
      `/v1/models/${MODEL}/versions`,
      {
        artifact_sha256: bundle.sha256,
        feature_set_version: paymentsFraud.version,
        feature_names: names,
        metrics: { auc: 0.5 },
        baseline: {
          features: names.map((name) => ({ name, bin_edges: [0, 50, 101], counts: [1, 1] })),
          score: { name: 'score', bin_edges: [0, 0.5, 1], counts: [1, 1] },
        },
        training_window_start: T0 - 86_400_000,
        training_window_end: T0,
        run_id: `bench-${bundle.sha256.slice(0, 16)}`,
      },
      [200, 201],
    );
    await registryCall(
      registry.url,
      'POST',
      `/v1/models/${MODEL}/versions/${version.version}/stage`,
      { stage: 'Production' },
      [200],
    );

    // The offline log, seeded once.
    // (A log seeded by an older build is converted here by the features migrations: timed.)
    const migrating = performance.now();
    await createFeatureStore(dbUrl);
    console.log(`feature store migrations: ${((performance.now() - migrating) / 1000).toFixed(1)} s`);
    const present = Number(
      (await db.query('SELECT count(*) AS n FROM features.offline_vectors WHERE namespace = $1', [NAMESPACE])).rows[0]
        .n,
    );
    // The materializer registers a version in feature-set order, which is the model's; a log whose version
    // names another order (read through a permutation) is reseeded, to measure the usual case.
    const stored = await storedFeatureNames(db, 'features', paymentsFraud.version);
    const inModelOrder = stored !== null && stored.join('\u0000') === names.join('\u0000');
    if (present !== ROWS || !inModelOrder || process.env.RESEED === '1') {
      await db.query('DELETE FROM features.offline_vectors WHERE namespace = $1', [NAMESPACE]);
      await db.query('DELETE FROM features.feature_set_versions WHERE feature_set_version = $1', [
        paymentsFraud.version,
      ]);
      const seeded = performance.now();
      for (let first = 0; first < ROWS; first += 250_000) {
        await seedOfflineLog(db, {
          namespace: NAMESPACE,
          featureSetVersion: paymentsFraud.version,
          featureNames: names,
          first,
          count: Math.min(250_000, ROWS - first),
          t0: T0,
          stepMs: STEP_MS,
          entities: 20_000,
        });
      }
      await db.query('VACUUM ANALYZE features.offline_vectors');
      console.log(`seeded ${fmt(ROWS)} offline rows in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);
    }
    await db.query(`DO $$ BEGIN
      IF to_regclass('batch_scoring.results') IS NOT NULL THEN
        TRUNCATE batch_scoring.results, batch_scoring.checkpoints, batch_scoring.runs;
      END IF; END $$`);
    await db.query('CHECKPOINT');

    const config = loadBatchScorerConfig({
      ...process.env,
      DATABASE_URL: dbUrl,
      REGISTRY_URL: registry.url,
      LOG_LEVEL: 'warn',
      BATCH_PROGRESS_INTERVAL_MS: '5000',
    });
    console.log(
      `\nbackend ${backend.name}, ${k} features, model ${k}→32→16→1, chunk ${config.BATCH_CHUNK_ROWS} rows, micro-batch ${config.BATCH_MICRO_BATCH_ROWS} rows\n`,
    );

    // 1) batch scoring with RSS sampling; SHARDS=n runs shards 0/n … n-1/n of one run at once in this process
    global.gc?.();
    const shards = Number(process.env.SHARDS ?? 1);
    const registries = Array.from({ length: shards }, (_, i) => createMetricsRegistry(`batch-scorer-bench-${i}`));
    const rowsDone = async () => {
      let done = 0;
      for (const r of registries) {
        done += (await (r.getSingleMetric('flywheel_batch_scorer_rows_done') as Gauge).get()).values[0]?.value ?? 0;
      }
      return done;
    };
    const samples: { rss: number; done: number }[] = [];
    const rssBefore = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      const rss = process.memoryUsage().rss;
      void rowsDone().then((done) => samples.push({ rss, done }));
    }, 25);
    const runId = `bench-${Date.now()}`;
    const started = performance.now();
    const summaries = await Promise.all(
      registries.map((metricsRegistry, index) =>
        runBatchScoring(
          {
            model: MODEL,
            alias: 'champion',
            from: T0,
            to: T0 + ROWS * STEP_MS,
            runId,
            shard: { index, count: shards },
            toTopic: false,
            namespace: NAMESPACE,
          },
          { config, metricsRegistry, logger: pino({ level: 'warn' }, pino.destination(2)) },
        ),
      ),
    );
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const total = (field: 'rows_done' | 'rows_done_now' | 'rows_skipped') =>
      summaries.reduce((n, s) => n + s[field], 0);
    const summary = {
      run_id: runId,
      rows_done_now: total('rows_done_now'),
      rows_skipped: total('rows_skipped'),
      timings: summaries[0].timings,
    };
    samples.push({ rss: process.memoryUsage().rss, done: total('rows_done') });
    const batchRate = summary.rows_done_now / seconds;
    const written = Number(
      (await db.query('SELECT count(*) AS n FROM batch_scoring.results WHERE run_id = $1', [summary.run_id])).rows[0].n,
    );

    // 2) raw predict on the same rows: same standardisation, same micro-batch size; predict + dataSync timed
    const micro = config.BATCH_MICRO_BATCH_ROWS;
    const scorerModel = buildFraudModel(k, 7); // same seed → same weights as the registered model
    let predictMs = 0;
    const x = new Float32Array(micro * k);
    for (let first = 0; first < ROWS; first += micro) {
      const n = Math.min(micro, ROWS - first);
      for (let r = 0; r < n; r++) {
        for (let j = 0; j < k; j++) x[r * k + j] = (featureValue(first + r, j) - spec.means[j]) / spec.stds[j];
      }
      const input = tf.tensor2d(x.subarray(0, n * k), [n, k], 'float32');
      const t = performance.now();
      // one pass over the micro-batch, as the Scorer does (the default slices it into 32-row batches)
      const output = scorerModel.predict(input, { batchSize: n }) as tf.Tensor;
      output.dataSync();
      predictMs += performance.now() - t;
      output.dispose();
      input.dispose();
    }
    const rawRate = ROWS / (predictMs / 1000);

    // 4) the read alone: same selection, same cursor, same chunk size
    const featuresPool = new Pool({ connectionString: dbUrl, max: 1 });
    const cursor = await OfflineLogCursor.open(
      featuresPool,
      {
        schema: 'features',
        namespace: NAMESPACE,
        featureSetVersion: paymentsFraud.version,
        featureNames: names,
        storedFeatureNames: names,
        from: T0,
        to: T0 + ROWS * STEP_MS,
        shard: { index: 0, count: 1 },
      },
      null,
    );
    const readStarted = performance.now();
    let read = 0;
    for (
      let rows = await cursor.fetch(config.BATCH_CHUNK_ROWS);
      rows.length > 0;
      rows = await cursor.fetch(config.BATCH_CHUNK_ROWS)
    ) {
      read += rows.length;
    }
    const readRate = read / ((performance.now() - readStarted) / 1000);
    await cursor.close();
    await featuresPool.end();

    const at = (fraction: number) => samples.find((s) => s.done >= fraction * ROWS)?.rss ?? Number.NaN;
    console.log(
      `load average at the end: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (2 cores)`,
    );
    console.log(`1) batch scoring (runBatchScoring in process${shards > 1 ? `, ${shards} shards at once` : ''})`);
    console.log(
      `   ${fmt(summary.rows_done_now)} rows in ${seconds.toFixed(1)} s = ${fmt(batchRate)} rows/s; ${fmt(written)} result rows written, skipped ${fmt(summary.rows_skipped)}`,
    );
    console.log(
      `   time${shards > 1 ? ' (shard 0)' : ''}: waiting for reads ${summary.timings.read_wait} s, scoring ${summary.timings.score} s, waiting for writes ${summary.timings.write_wait} s (writes themselves ${summary.timings.write} s, overlapped)`,
    );
    console.log('2) raw tfjs predict, same rows, same micro-batch size');
    console.log(
      `   ${fmt(rawRate)} rows/s  →  batch scoring = ${((batchRate / rawRate) * 100).toFixed(1)}% of raw predict (target ≥ 60%)`,
    );
    console.log('3) RSS of this process');
    console.log(
      `   before ${mib(rssBefore)}; at 10% ${mib(at(0.1))}, 50% ${mib(at(0.5))}, 100% ${mib(at(1))}; peak ${mib(Math.max(...samples.map((s) => s.rss)))} (${samples.length} samples)`,
    );
    console.log('4) the cursor read alone (Postgres: index-order scan + the stored float8[] per row)');
    console.log(`   ${fmt(readRate)} rows/s`);
    scorerModel.dispose();
  } finally {
    await db.end();
    await registry.stop();
    await postgres.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
