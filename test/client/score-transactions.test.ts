import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type Prediction, topics, withPrefix } from '@flywheel/contracts';
import { initBackend, quantileHistogram, rocAuc, serializeBundle, trainFraudModel } from '@flywheel/ml';
import {
  databaseUrl,
  REPO_ROOT,
  type ServiceProcess,
  startServiceProcess,
  testPrefix,
  uniqueSuffix,
  waitUntil,
} from '@flywheel/testing';
import * as tf from '@tensorflow/tfjs';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentsFraud } from '../../libs/features/src/feature-set';
import { testEnv } from '../../libs/testing/src/test-env';
import { createTopics } from '../cli/cli-harness';
import { createKey } from '../collector/collector-harness';
import {
  collect,
  type MeshClient,
  MODEL_NAME,
  meshClient,
  metricsText,
  REGISTRY_ADMIN_TOKEN,
  type RegistrableBundle,
  type RegistryModelSource,
  serviceEnv,
  startRegistryModelSource,
} from '../inference/inference-harness';

const EXAMPLE = resolve(REPO_ROOT, 'dist/libs/client/examples/score-transactions.js');
const FEATURES = ['amount_base', 'card_present'];
const COUNT = 20;
/** Four services start at once on two cores shared with other test runs. */
const START_TIMEOUT_MS = 120_000;

/** A small model over two features the materializer emits: fraud ⇔ large and card not present. */
async function trainBundle(): Promise<RegistrableBundle> {
  await initBackend('auto');
  let seed = 11;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const rows = Array.from({ length: 2_000 }, () => ({
    amount_base: random() * 1_200,
    card_present: random() < 0.6 ? 1 : 0,
  }));
  const labels = rows.map((r) =>
    r.amount_base > 800 && r.card_present === 0 ? (random() < 0.8 ? 1 : 0) : random() < 0.02 ? 1 : 0,
  );
  const trained = await trainFraudModel(
    { rows, labels },
    { featureNames: FEATURES, seed: 11, epochs: 5, batchSize: 128 },
  );
  const { feature_names, means, stds } = trained.spec;
  const matrix = rows.map((r) => feature_names.map((name, j) => (r[name as keyof typeof r] - means[j]) / stds[j]));
  const scores = Array.from(
    tf.tidy(() => (trained.model.predict(tf.tensor2d(matrix)) as tf.Tensor).dataSync() as Float32Array),
  );
  const bundle = await serializeBundle(trained.model, trained.spec, {
    feature_set_version: paymentsFraud.version,
    threshold: 0.5,
    review_threshold: 0.25,
    model_name: MODEL_NAME,
  });
  return {
    ...bundle,
    featureSetVersion: paymentsFraud.version,
    featureNames: [...feature_names],
    metrics: { auc: rocAuc(scores, labels) },
    baseline: {
      features: FEATURES.map((name) =>
        quantileHistogram(
          name,
          rows.map((r) => r[name as keyof typeof r]),
          10,
        ),
      ),
      score: quantileHistogram('score', scores, 10),
    },
  };
}

/** The example exactly as the README runs it: its own process, configured by environment variables. */
function runExample(
  env: Record<string, string>,
  count: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [EXAMPLE, String(count)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((done) => child.once('exit', (code) => done({ code, stdout, stderr })));
}

describe('libs/client example: score-transactions against collector → enrichment → features → stream-inference', () => {
  const env = testEnv();
  const prefix = testPrefix('client');
  const database = `flywheel_test_client_${uniqueSuffix()}`;
  let mesh: MeshClient;
  let source: RegistryModelSource;
  let dbUrl: string;
  const services: ServiceProcess[] = [];
  let collector: ServiceProcess;

  beforeAll(async () => {
    // every topic of this mesh piece, created and visible before any service or reader subscribes
    await createTopics(env.kafkaBrokers, prefix, [
      topics.eventsRaw,
      topics.eventsEnriched,
      topics.labels,
      topics.featureVectors,
      topics.predictions,
      topics.predictionsShadow,
      topics.modelsLifecycle,
      topics.modelsTrained,
    ]);
    mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    dbUrl = await databaseUrl(env.databaseUrl, database);
    source = await startRegistryModelSource(env, mesh, prefix);
    const version = await source.register(await trainBundle());
    await source.promote(version);

    const kafka = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    const started = await Promise.all([
      startServiceProcess('collector', { env: { ...kafka, DATABASE_URL: dbUrl }, timeoutMs: START_TIMEOUT_MS }),
      startServiceProcess('enrichment-api', {
        env: { ...kafka, DATABASE_URL: dbUrl, ENRICHMENT_GROUP_ID: `${prefix}enrichment` },
        timeoutMs: START_TIMEOUT_MS,
      }),
      startServiceProcess('feature-materializer', {
        env: { ...kafka, DATABASE_URL: dbUrl, FEATURES_GROUP_ID: `${prefix}features` },
        timeoutMs: START_TIMEOUT_MS,
      }),
      startServiceProcess('stream-inference', {
        env: serviceEnv(env, prefix, source.url, { LOG_LEVEL: 'warn', REGISTRY_TOKEN: REGISTRY_ADMIN_TOKEN }),
        timeoutMs: START_TIMEOUT_MS,
      }),
    ]);
    services.push(...started);
    [collector] = started;
    const inference = started[3];
    await waitUntil(
      async () =>
        /flywheel_inference_model_info\{[^}]*version="1"[^}]*role="serving"[^}]*\} 1/.test(
          await metricsText(inference.url),
        ),
      { timeoutMs: 60_000, message: 'stream-inference serving v1' },
    );
  }, 240_000);

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await source?.close();
    await mesh?.close();
    const admin = new URL(env.databaseUrl);
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => client.end());
  });

  it('sends transactions with an API key and prints the prediction of each, as the README shows', async () => {
    const key = await createKey(dbUrl, 'score-example');
    const predictions = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
    try {
      const run = await runExample(
        {
          COLLECTOR_URL: collector.url,
          FLYWHEEL_API_KEY: key.key,
          KAFKA_BROKERS: env.kafkaBrokers,
          SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
          TOPIC_PREFIX: prefix,
          SCORE_TIMEOUT_MS: '60000',
        },
        COUNT,
      );
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
      const lines = run.stdout.trim().split('\n');
      expect(lines[0]).toBe(`sent ${COUNT} transactions: ${COUNT} accepted, 0 rejected`);
      expect(lines[lines.length - 1]).toBe(`scored ${COUNT}/${COUNT} transactions`);
      const scored = lines
        .map((line) =>
          /^scored (\S+) account=(\S+) amount=(\S+) score=(\S+) decision=(APPROVE|REVIEW|DECLINE) model=(\S+)@v(\d+)$/.exec(
            line,
          ),
        )
        .filter((m): m is RegExpExecArray => m !== null);
      expect(scored).toHaveLength(COUNT);
      expect(new Set(scored.map((m) => m[1])).size).toBe(COUNT);

      // every printed line is a real prediction of the mesh: same event, entity, score and version on predictions.v1
      await waitUntil(() => scored.every((m) => predictions.items.some((p) => p.value.event_id === m[1])), {
        timeoutMs: 30_000,
        message: 'the printed predictions on predictions.v1',
      });
      for (const [, eventId, account, amount, score, decision, model, version] of scored) {
        const p = predictions.items.find((item) => item.value.event_id === eventId)?.value as Prediction;
        expect(p).toMatchObject({ entity: account, decision, model_name: model, model_version: Number(version) });
        expect(Number(score)).toBeCloseTo(p.score, 4);
        expect(Number(version)).toBe(1);
        expect(Number(amount)).toBeGreaterThan(0);
      }
      // the model learned "large and card not present": the example's risky payments score above its everyday ones
      const mean = (rows: RegExpExecArray[]) => rows.reduce((s, m) => s + Number(m[4]), 0) / rows.length;
      const risky = scored.filter((m) => Number(m[3]) >= 900);
      const everyday = scored.filter((m) => Number(m[3]) < 900);
      expect(risky.length).toBeGreaterThan(0);
      expect(mean(risky)).toBeGreaterThan(mean(everyday));
    } finally {
      await predictions.stop();
    }
  });

  it('exits 2 with a usage line when no API key is given', async () => {
    const run = await runExample({ COLLECTOR_URL: collector.url, KAFKA_BROKERS: env.kafkaBrokers }, 5);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: FLYWHEEL_API_KEY=fw_... score-transactions [count]');
  });
});
