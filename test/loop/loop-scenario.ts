import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DriftReport,
  type EnrichedEvent,
  ensureTopics,
  type FeatureVector,
  type Label,
  type ModelLifecycle,
  type ModelTrained,
  type Prediction,
  type RetrainRequested,
  type TrainRefused,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { fitFeatureSpec, initBackend, quantileHistogram, rocAuc, serializeBundle, trainFraudModel } from '@flywheel/ml';
import {
  databaseUrl,
  dropDatabase,
  type RegistryProcess,
  type ServiceProcess,
  startRegistryProcess,
  startServiceProcess,
  waitUntil,
} from '@flywheel/testing';
import * as tf from '@tensorflow/tfjs';
import { paymentsFraud } from '../../libs/features/src/feature-set';
import { enrichedEvent, rng } from '../features/stream';
import {
  collect,
  type MeshClient,
  MODEL_NAME,
  meshClient,
  REGISTRY_ADMIN_TOKEN,
  type Received,
  serviceEnv,
} from '../inference/inference-harness';

/**
 * The closed loop's mesh and traffic, shared by test/loop/closed-loop.test.ts and bench/drift-loop.bench.ts:
 * enriched events + labels → feature-materializer → stream-inference → monitor → trainer → registry, every
 * service a built process on one prefixed mesh, v1 trained on phase-A data and promoted by hand.
 */
export const LOOP_FEATURES = ['amount_base', 'account_age_days'];
export const LOOP_FSV = paymentsFraud.version;
export const LOOP_WINDOW = 500;
const ACCOUNTS = 200;
export const SECOND = 1_000;
export const MINUTE = 60 * SECOND;

export type Phase = 'A' | 'B';
interface Row {
  features: Record<string, number>;
  fraud: boolean;
}

/** Phase A: fraud ⇔ large amount. Phase B: accounts much younger (shift), fraud ⇔ very young account. */
export function row(phase: Phase, random: () => number): Row {
  const amount = Math.floor(random() * 4000) / 4;
  const age = phase === 'A' ? Math.floor(random() * 3000) : Math.floor(random() * 300);
  const risky = phase === 'A' ? amount > 800 : age < 60;
  return { features: { amount_base: amount, account_age_days: age }, fraud: random() < (risky ? 0.7 : 0.03) };
}

/** `count` events of a phase from `firstTime`, `stepMs` apart, with their labels (1 ms after the event). */
export function traffic(phase: Phase, count: number, firstTime: number, seed: number, offset: number, stepMs: number) {
  const random = rng(seed);
  const events: EnrichedEvent[] = [];
  const labels: Label[] = [];
  for (let i = 0; i < count; i++) {
    const r = row(phase, random);
    const account_id = `acct-${(offset + i) % ACCOUNTS}`;
    const event_time = firstTime + i * stepMs;
    const event = enrichedEvent({
      account_id,
      event_time,
      amount_base: r.features.amount_base,
      amount: r.features.amount_base,
      account_age_days: r.features.account_age_days,
    });
    events.push(event);
    labels.push({
      event_id: event.event_id,
      account_id,
      is_fraud: r.fraud,
      label_time: event_time + 1,
      source: 'loop-test',
      reason: null,
    });
  }
  return { events, labels };
}

export interface LoopMesh {
  prefix: string;
  topic(name: string): string;
  mesh: MeshClient;
  registry: RegistryProcess;
  inference: ServiceProcess;
  monitor: ServiceProcess;
  /** Holdout AUC of v1 (stored as its metrics.auc). */
  v1Auc: number;
  vectors: Received<FeatureVector>[];
  predictions: Received<Prediction>[];
  lifecycle: Received<ModelLifecycle>[];
  requests: Received<RetrainRequested>[];
  trained: Received<ModelTrained>[];
  refused: Received<TrainRefused>[];
  reports: Received<DriftReport>[];
  /** event_ids sent so far, in order. */
  produced: string[];
  /** Sends events and their labels in slices of 500 (events first). */
  send(batch: { events: EnrichedEvent[]; labels: Label[] }): Promise<void>;
  close(): Promise<void>;
}

export interface LoopMeshOptions {
  env: { kafkaBrokers: string; schemaRegistryUrl: string; databaseUrl: string };
  prefix: string;
  /** Event time before which v1's training window ends (phase A starts here). */
  preStart: number;
  /** Monitor variables over the loop's defaults (window 500, k = 2, ERT 1e8, no promotion cooldown). */
  monitorEnv?: Record<string, string>;
}

/** Starts the registry (automatic policy), promotes v1, then the four services; readers on every topic. */
export async function startLoopMesh(options: LoopMeshOptions): Promise<LoopMesh> {
  const { env, prefix, preStart } = options;
  const topic = (name: string) => withPrefix(prefix, name);
  const mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
  const services: ServiceProcess[] = [];
  const readers: Array<{ stop(): Promise<void> }> = [];
  let featuresDb: string | undefined;
  let registry: RegistryProcess | undefined;
  const reader = async <T>(name: string): Promise<Received<T>[]> => {
    const r = await collect<T>(mesh, topic(name));
    readers.push(r);
    return r.items;
  };
  const close = async () => {
    for (const s of services.reverse()) await s.stop().catch(() => undefined);
    await registry?.close().catch(() => undefined);
    for (const r of readers) await r.stop().catch(() => undefined);
    await mesh.close();
    if (featuresDb) await dropDatabase(featuresDb);
  };
  try {
    const admin = mesh.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, {
        prefix,
        only: [
          topics.eventsEnriched,
          topics.labels,
          topics.modelsRetrainRequested,
          topics.modelsTrainRefused,
          topics.monitorDrift,
        ],
        logger: { info: () => undefined, warn: () => undefined },
      });
    } finally {
      await admin.disconnect();
    }
    featuresDb = await databaseUrl(env.databaseUrl, `flywheel_test_loop_f_${randomBytes(4).toString('hex')}`);
    const lifecycle = await reader<ModelLifecycle>(topics.modelsLifecycle);
    registry = await startRegistryProcess({
      kafkaBrokers: env.kafkaBrokers,
      schemaRegistryUrl: env.schemaRegistryUrl,
      databaseServerUrl: env.databaseUrl,
      label: 'loop_r',
      topicPrefix: prefix,
      adminToken: REGISTRY_ADMIN_TOKEN,
      policy: 'automatic',
    });
    const v1Auc = await registerV1(registry.url, preStart);
    await waitUntil(() => lifecycle.some((l) => l.value.production_version === 1), {
      timeoutMs: 30_000,
      message: 'lifecycle: v1 in Production',
    });

    // four processes load their modules at once (stream-inference: tfjs + wasm); on a busy 2-core machine that
    // alone has taken over a minute, so readiness gets more than the default 60 s
    const ready = { timeoutMs: 150_000 };
    const kafka = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'warn',
    };
    const started = await Promise.all([
      startServiceProcess('feature-materializer', {
        ...ready,
        env: { ...kafka, DATABASE_URL: featuresDb, FEATURES_GROUP_ID: `${prefix}features` },
      }),
      startServiceProcess('stream-inference', {
        ...ready,
        env: serviceEnv(env, prefix, registry.url, { LOG_LEVEL: 'warn', REGISTRY_TOKEN: REGISTRY_ADMIN_TOKEN }),
      }),
      startServiceProcess('monitor', {
        ...ready,
        env: {
          ...kafka,
          REGISTRY_URL: registry.url,
          REGISTRY_TOKEN: REGISTRY_ADMIN_TOKEN,
          MODEL_NAME,
          CONSUMER_GROUP: `${prefix}monitor`,
          DRIFT_WINDOW_SIZE: String(LOOP_WINDOW),
          DRIFT_CONSECUTIVE: '2',
          DRIFT_ERT_SAMPLES: '100000000',
          DRIFT_MIN_SAMPLES: '100',
          DRIFT_COOLDOWN_MS: '3600000',
          DRIFT_PROMOTION_COOLDOWN_MS: '0',
          QUALITY_WINDOW: String(LOOP_WINDOW),
          // one request for this drift: the labels would also show v1's quality loss (a QUALITY request, a second
          // training on nearly the same window); the quality trigger has its own tests (test/monitor, unit)
          QUALITY_TRIGGER: 'false',
          ...options.monitorEnv,
        },
      }),
      startServiceProcess('trainer', {
        ...ready,
        env: {
          ...kafka,
          FEATURES_DATABASE_URL: featuresDb,
          REGISTRY_URL: registry.url,
          TRAINER_REGISTRY_TOKEN: REGISTRY_ADMIN_TOKEN,
          TRAINER_FEATURE_SET_VERSION: LOOP_FSV,
          TRAINER_FEATURE_NAMES: LOOP_FEATURES.join(','),
          TRAINER_WINDOW_MS: String(90 * MINUTE),
          TRAINER_EPOCHS: '8',
          MIN_TRAINING_ROWS: '300',
        },
      }),
    ]);
    services.push(...started);
    const [, inference, monitor] = started;
    const produced: string[] = [];
    const loop: LoopMesh = {
      prefix,
      topic,
      mesh,
      registry,
      inference,
      monitor,
      v1Auc,
      lifecycle,
      vectors: await reader<FeatureVector>(topics.featureVectors),
      predictions: await reader<Prediction>(topics.predictions),
      requests: await reader<RetrainRequested>(topics.modelsRetrainRequested),
      trained: await reader<ModelTrained>(topics.modelsTrained),
      refused: await reader<TrainRefused>(topics.modelsTrainRefused),
      reports: await reader<DriftReport>(topics.monitorDrift),
      produced,
      async send(batch) {
        for (let i = 0; i < batch.events.length; i += 500) {
          const events = batch.events.slice(i, i + 500);
          await mesh.producer.send(
            topic(topics.eventsEnriched),
            events.map((e) => ({ key: e.account_id, value: e })),
          );
          produced.push(...events.map((e) => e.event_id));
          await mesh.producer.send(
            topic(topics.labels),
            batch.labels.slice(i, i + 500).map((l) => ({ key: l.account_id, value: l })),
          );
        }
      },
      close,
    };
    return loop;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * v1: trained on phase-A data (another seed than the stream), registered and promoted by hand; returns its AUC.
 *
 * Phase A's fraud depends on the amount only, and v1 is the amount-only model: its standardisation flattens
 * account_age_days (std 1e9), so it takes the feature but cannot fit noise in it. Otherwise the age shift moves
 * v1's scores too, and the score detector would fire as well (a second request, another training).
 */
async function registerV1(registryUrl: string, preStart: number): Promise<number> {
  const api = async (method: string, path: string, body: Buffer | object) => {
    const binary = Buffer.isBuffer(body);
    const response = await fetch(`${registryUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${REGISTRY_ADMIN_TOKEN}`,
        'x-registry-actor': 'loop-test',
        'content-type': binary ? 'application/octet-stream' : 'application/json',
      },
      body: binary ? new Uint8Array(body) : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`registry ${method} ${path} answered ${response.status}: ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  await initBackend('auto');
  const random = rng(7);
  const data = Array.from({ length: 3_000 }, () => row('A', random));
  const fitted = fitFeatureSpec(
    data.map((r) => r.features),
    LOOP_FEATURES,
  );
  const ageIndex = LOOP_FEATURES.indexOf('account_age_days');
  const trainedV1 = await trainFraudModel(
    { rows: data.map((r) => r.features), labels: data.map((r) => (r.fraud ? 1 : 0)) },
    {
      featureNames: LOOP_FEATURES,
      seed: 7,
      epochs: 8,
      batchSize: 64,
      featureSpec: {
        ...fitted,
        means: fitted.means.map((m, j) => (j === ageIndex ? 0 : m)),
        stds: fitted.stds.map((v, j) => (j === ageIndex ? 1e9 : v)),
      },
    },
  );
  const { feature_names, means, stds } = trainedV1.spec;
  const matrix = data.map((r) => feature_names.map((name, j) => (r.features[name] - means[j]) / stds[j]));
  const scores = Array.from(
    tf.tidy(() => (trainedV1.model.predict(tf.tensor2d(matrix)) as tf.Tensor).dataSync() as Float32Array),
  );
  const auc = rocAuc(
    scores,
    data.map((r) => (r.fraud ? 1 : 0)),
  );
  const bundle = await serializeBundle(trainedV1.model, trainedV1.spec, {
    feature_set_version: LOOP_FSV,
    threshold: 0.5,
    review_threshold: 0.25,
    model_name: MODEL_NAME,
  });
  await api('PUT', `/v1/artifacts/${bundle.sha256}`, bundle.bytes);
  const version = await api('POST', `/v1/models/${MODEL_NAME}/versions`, {
    artifact_sha256: bundle.sha256,
    feature_set_version: LOOP_FSV,
    feature_names,
    metrics: { auc },
    baseline: {
      features: LOOP_FEATURES.map((name) =>
        quantileHistogram(
          name,
          data.map((r) => r.features[name]),
          10,
        ),
      ),
      score: quantileHistogram('score', scores, 10),
    },
    training_window_start: preStart - 86_400_000,
    training_window_end: preStart,
    run_id: randomUUID(),
  });
  if (version.version !== 1) throw new Error(`v1 registered as version ${String(version.version)}`);
  await api('POST', `/v1/models/${MODEL_NAME}/versions/1/stage`, { stage: 'Production' });
  return auc;
}
