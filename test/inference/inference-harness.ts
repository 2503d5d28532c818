import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Baseline,
  ensureTopics,
  type FeatureVector,
  type ModelLifecycle,
  type Prediction,
  schemaFor,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import {
  initBackend,
  logLoss,
  rocAuc,
  type SerializedBundle,
  SYNTHETIC_FEATURES,
  serializeBundle,
  syntheticFraudData,
  trainFraudModel,
} from '@flywheel/ml';
import { type RegistryProcess, type ServiceProcess, startRegistryProcess, waitUntil } from '@flywheel/testing';
import * as tf from '@tensorflow/tfjs';
import type { Consumer, Kafka } from 'kafkajs';

export const MODEL_NAME = 'payments-fraud';
export const FEATURE_SET = 'payments-fraud';

/** What a version registration needs besides the bytes (the real registry requires all of it). */
export interface RegistrableBundle extends SerializedBundle {
  featureSetVersion: string;
  featureNames: string[];
  /** Holdout-style metrics (here: on the training rows; the registry only stores and compares them). */
  metrics: Record<string, number>;
  baseline: Baseline;
}

export interface TrainedBundle extends RegistrableBundle {
  model: tf.LayersModel;
  spec: { feature_names: string[]; means: number[]; stds: number[] };
}

/** Equal-width histogram over [lo, hi] (the registry's baseline format: counts = bin_edges - 1). */
function histogram(name: string, values: number[], bins = 10, range?: [number, number]) {
  let [lo, hi] = range ?? [Math.min(...values), Math.max(...values)];
  if (!(hi > lo)) hi = lo + 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]++;
  return { name, bin_edges: edges, counts };
}

/** Trains the demo model in-process (small, seconds) and bundles it. Different seeds → different weights. */
export async function trainBundle(seed: number, featureSetVersion = '3', threshold = 0.7): Promise<TrainedBundle> {
  await initBackend('auto');
  const data = syntheticFraudData(2000, seed);
  const trained = await trainFraudModel(
    { rows: data.map((r) => r.features), labels: data.map((r) => r.label) },
    { featureNames: [...SYNTHETIC_FEATURES], seed, epochs: 3, batchSize: 128 },
  );
  const bundle = await serializeBundle(trained.model, trained.spec, {
    feature_set_version: featureSetVersion,
    threshold,
    review_threshold: threshold / 2,
    model_name: MODEL_NAME,
  });
  const { feature_names, means, stds } = trained.spec;
  const matrix = data.map((r) => feature_names.map((name, j) => (r.features[name] - means[j]) / stds[j]));
  const scores = Array.from(
    tf.tidy(() => (trained.model.predict(tf.tensor2d(matrix)) as tf.Tensor).dataSync() as Float32Array),
  );
  const labels = data.map((r) => r.label);
  return {
    ...bundle,
    model: trained.model,
    spec: trained.spec,
    featureSetVersion,
    featureNames: [...feature_names],
    metrics: { auc: rocAuc(scores, labels), log_loss: logLoss(scores, labels) },
    baseline: {
      features: feature_names.map((name) =>
        histogram(
          name,
          data.map((r) => r.features[name]),
        ),
      ),
      score: histogram('score', scores, 10, [0, 1]),
    },
  };
}

/**
 * Where the service under test gets models from: artifacts + versions over HTTP, and Production/alias
 * changes on models.lifecycle.v1. `startRegistryModelSource` is the real registry (its own process and
 * database, events through its outbox); `startFakeModelSource` a local HTTP server + lifecycle events the
 * test produces, kept for tests that do not need the registry itself (scaling).
 */
export interface ModelSource {
  /** REGISTRY_URL for the service. */
  url: string;
  /** Registers a new version (artifact stored) and returns its number. */
  register(bundle: RegistrableBundle): Promise<number>;
  /** Moves a version to Production (a lifecycle event carrying the full state). */
  promote(version: number): Promise<void>;
  setAlias(alias: string, version: number): Promise<void>;
  /** Serves these bytes for a sha256 (to simulate a corrupt/tampered artifact). */
  tamper(sha256: string, bytes: Buffer): void;
  close(): Promise<void>;
}

interface VersionRow {
  version: number;
  artifact_sha256: string;
  artifact_uri: string;
  feature_set_version: string;
}

export async function startFakeModelSource(kafka: MeshClient, prefix: string): Promise<ModelSource> {
  const artifacts = new Map<string, Buffer>();
  const versions = new Map<number, VersionRow>();
  const aliases: Record<string, number> = {};
  let production: VersionRow | null = null;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    const artifact = /^\/v1\/artifacts\/([0-9a-f]{64})$/.exec(url);
    if (artifact && artifacts.has(artifact[1])) {
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(artifacts.get(artifact[1]));
      return;
    }
    const version = /^\/v1\/models\/([^/]+)\/versions\/(\d+)$/.exec(url);
    const alias = /^\/v1\/models\/([^/]+)\/aliases\/([^/]+)$/.exec(url);
    const row = version ? versions.get(Number(version[2])) : alias ? versions.get(aliases[alias[2]]) : undefined;
    if (row) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ...row, stage: production?.version === row.version ? 'Production' : 'Staging' }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lifecycleTopic = withPrefix(prefix, topics.modelsLifecycle);

  const emit = async (about: VersionRow, change: ModelLifecycle['change'], alias: string | null) => {
    const event: ModelLifecycle = {
      change_id: randomUUID(),
      model_name: MODEL_NAME,
      version: about.version,
      change,
      from_stage: change === 'REGISTERED' ? null : 'Staging',
      to_stage: production?.version === about.version ? 'Production' : 'Staging',
      alias,
      aliases: { ...aliases },
      production_version: production?.version ?? null,
      production: production
        ? {
            version: production.version,
            artifact_uri: production.artifact_uri,
            artifact_sha256: production.artifact_sha256,
            feature_set_version: production.feature_set_version,
          }
        : null,
      artifact_uri: about.artifact_uri,
      artifact_sha256: about.artifact_sha256,
      feature_set_version: about.feature_set_version,
      actor: 'test',
      reason: null,
      changed_at: Date.now(),
    };
    await kafka.producer.send(lifecycleTopic, [{ key: MODEL_NAME, value: event }]);
  };

  return {
    url,
    async register(bundle) {
      artifacts.set(bundle.sha256, bundle.bytes);
      const row: VersionRow = {
        version: versions.size + 1,
        artifact_sha256: bundle.sha256,
        artifact_uri: `/v1/artifacts/${bundle.sha256}`,
        feature_set_version: bundle.featureSetVersion,
      };
      versions.set(row.version, row);
      await emit(row, 'REGISTERED', null);
      return row.version;
    },
    async promote(version) {
      const row = versions.get(version);
      if (!row) throw new Error(`no version ${version}`);
      production = row;
      await emit(row, 'STAGE_CHANGED', null);
    },
    async setAlias(alias, version) {
      const row = versions.get(version);
      if (!row) throw new Error(`no version ${version}`);
      aliases[alias] = version;
      await emit(row, 'ALIAS_SET', alias);
    },
    tamper(sha256, bytes) {
      artifacts.set(sha256, bytes);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Admin token of the registries the harness starts (the registry wants 16+ characters). */
export const REGISTRY_ADMIN_TOKEN = 'inference-test-admin-token-0123456789';

export interface RegistryModelSource extends ModelSource {
  /** The registry process itself (its `url` is the registry's own, `source.url` may be the tamper proxy). */
  registry: ServiceProcess;
  /** Lifecycle events of MODEL_NAME read back from the topic, deduplicated by change_id, in order. */
  lifecycle: ModelLifecycle[];
}

/**
 * The real model registry as its own process (built dist/, as a user runs it) on a database of its own,
 * with REGISTRY_KAFKA_ENABLED=true and the test's TOPIC_PREFIX: `register` uploads the bundle bytes and
 * POSTs a version, `promote` stages it Production, `setAlias` PUTs the alias. Every write resolves only
 * once its lifecycle event (sent by the registry's outbox relay) has been read back from
 * models.lifecycle.v1, so a test that acts after a write knows the service can see it.
 *
 * `tamper`: the registry refuses an upload whose bytes do not hash to its sha256 (422), so a corrupt
 * artifact cannot be put *into* it. With `tamperProxy: true`, `url` is a pass-through HTTP proxy in front of
 * the registry that answers tampered sha256s with other bytes — a corrupted download, which is what the
 * service must refuse; everything else (versions, aliases, other artifacts) is the registry's answer as is.
 */
export async function startRegistryModelSource(
  env: { kafkaBrokers: string; schemaRegistryUrl: string; databaseUrl: string },
  mesh: MeshClient,
  prefix: string,
  options: { tamperProxy?: boolean } = {},
): Promise<RegistryModelSource> {
  const lifecycleTopic = withPrefix(prefix, topics.modelsLifecycle);
  // the registry also consumes models.trained.v1 when Kafka is on: meshClient created both topics
  const lifecycle: ModelLifecycle[] = [];
  const seen = new Set<string>();
  const watcher = mesh.kafka.consumer({ groupId: `test-lifecycle-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await watcher.connect();
  await watcher.subscribe({ topics: [lifecycleTopic], fromBeginning: true });
  await watcher.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const event = (await mesh.serde.decode(lifecycleTopic, message.value)) as ModelLifecycle;
      if (event.model_name !== MODEL_NAME || seen.has(event.change_id)) return;
      seen.add(event.change_id);
      lifecycle.push(event);
    },
  });

  let registry: RegistryProcess;
  try {
    registry = await startRegistryProcess({
      kafkaBrokers: env.kafkaBrokers,
      schemaRegistryUrl: env.schemaRegistryUrl,
      databaseServerUrl: env.databaseUrl,
      label: 'inference',
      topicPrefix: prefix,
      adminToken: REGISTRY_ADMIN_TOKEN,
      policy: 'manual',
    });
  } catch (error) {
    await watcher.disconnect();
    throw error;
  }

  const call = async (method: string, path: string, body: Buffer | object, expected: number[]) => {
    const binary = Buffer.isBuffer(body);
    const response = await fetch(`${registry.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${REGISTRY_ADMIN_TOKEN}`,
        'x-registry-actor': 'inference-test',
        'content-type': binary ? 'application/octet-stream' : 'application/json',
      },
      body: binary ? new Uint8Array(body) : JSON.stringify(body),
    });
    const text = await response.text();
    if (!expected.includes(response.status)) {
      throw new Error(`registry ${method} ${path} answered ${response.status}: ${text}`);
    }
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  /** Runs one write and waits until its (single) lifecycle event has been read back. */
  const write = async <T>(what: string, run: () => Promise<T>): Promise<T> => {
    const before = lifecycle.length;
    const result = await run();
    await waitUntil(() => lifecycle.length > before, {
      timeoutMs: 30_000,
      message: `lifecycle event of ${what} on ${lifecycleTopic}`,
    });
    return result;
  };

  const tampered = new Map<string, Buffer>();
  let proxy: Server | undefined;
  let url = registry.url;
  if (options.tamperProxy) {
    proxy = createServer((req, res) => {
      const artifact = /^\/v1\/artifacts\/([0-9a-f]{64})$/.exec(req.url ?? '');
      const bytes = artifact ? tampered.get(artifact[1]) : undefined;
      if (bytes) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-artifact-sha256': artifact![1] });
        res.end(bytes);
        return;
      }
      // the service only reads (GET); pass the request through and the answer back as is
      fetch(`${registry.url}${req.url}`, { method: req.method, headers: { accept: req.headers.accept ?? '*/*' } })
        .then(async (upstream) => {
          const body = Buffer.from(await upstream.arrayBuffer());
          const headers: Record<string, string> = {};
          for (const name of ['content-type', 'etag', 'x-artifact-sha256']) {
            const value = upstream.headers.get(name);
            if (value) headers[name] = value;
          }
          res.writeHead(upstream.status, headers).end(body);
        })
        .catch((error: Error) => res.writeHead(502).end(error.message));
    });
    await new Promise<void>((resolve) => proxy!.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  }

  return {
    url,
    registry,
    lifecycle,
    async register(bundle) {
      await call('PUT', `/v1/artifacts/${bundle.sha256}`, bundle.bytes, [200, 201]);
      const version = await write('REGISTERED', () =>
        call(
          'POST',
          `/v1/models/${MODEL_NAME}/versions`,
          {
            artifact_sha256: bundle.sha256,
            feature_set_version: bundle.featureSetVersion,
            feature_names: bundle.featureNames,
            metrics: bundle.metrics,
            baseline: bundle.baseline,
            training_window_start: Date.now() - 86_400_000,
            training_window_end: Date.now(),
            run_id: randomUUID(),
          },
          [201],
        ),
      );
      return Number(version.version);
    },
    async promote(version) {
      await write(`v${version} → Production`, () =>
        call('POST', `/v1/models/${MODEL_NAME}/versions/${version}/stage`, { stage: 'Production' }, [200]),
      );
    },
    async setAlias(alias, version) {
      await write(`alias ${alias} → v${version}`, () =>
        call('PUT', `/v1/models/${MODEL_NAME}/aliases/${alias}`, { version }, [200]),
      );
    },
    tamper(sha256, bytes) {
      if (!proxy) throw new Error('tamper needs startRegistryModelSource(..., { tamperProxy: true })');
      tampered.set(sha256, bytes);
    },
    async close() {
      if (proxy) {
        proxy.closeAllConnections();
        await new Promise<void>((resolve) => proxy!.close(() => resolve()));
      }
      await registry.close();
      await watcher.disconnect();
    },
  };
}

/** Kafka access for a test: admin-created topics, an Avro producer and readers of whole topics. */
export interface MeshClient {
  kafka: Kafka;
  serde: AvroSerde;
  producer: FlywheelProducer;
  close(): Promise<void>;
}

export async function meshClient(brokers: string, schemaRegistryUrl: string, prefix: string): Promise<MeshClient> {
  const kafka = createKafkaClient({ brokers: brokers.split(','), clientId: 'inference-test' });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, {
      prefix,
      only: [
        topics.featureVectors,
        topics.predictions,
        topics.predictionsShadow,
        topics.modelsLifecycle,
        topics.modelsTrained,
      ],
      logger: { info: () => undefined, warn: () => undefined },
    });
  } finally {
    await admin.disconnect();
  }
  const serde = AvroSerde.connect(schemaRegistryUrl, schemaFor);
  const producer = new FlywheelProducer(kafka, serde);
  await producer.connect();
  return { kafka, serde, producer, close: () => producer.disconnect() };
}

let entitySeq = 0;
/** Vectors of the synthetic data set with fresh event ids, spread over `entities` keys. */
export function makeVectors(count: number, seed: number, featureSetVersion = '3', entities = 97): FeatureVector[] {
  const run = ++entitySeq;
  return syntheticFraudData(count, seed).map((row, i) => ({
    event_id: randomUUID(),
    entity: `acct-${run}-${i % entities}`,
    event_time: Date.now(),
    feature_set: FEATURE_SET,
    feature_set_version: featureSetVersion,
    features: row.features,
  }));
}

export async function produceVectors(
  mesh: MeshClient,
  prefix: string,
  vectors: FeatureVector[],
  chunk = 500,
): Promise<void> {
  const topic = withPrefix(prefix, topics.featureVectors);
  for (let i = 0; i < vectors.length; i += chunk) {
    const now = Date.now();
    await mesh.producer.send(
      topic,
      vectors.slice(i, i + chunk).map((v) => ({ key: v.entity, value: { ...v, event_time: now } })),
    );
  }
}

export interface Received<T> {
  value: T;
  partition: number;
  offset: bigint;
  batch: string | undefined;
}

/**
 * Reads a topic from the beginning in the background; `items` grows as records arrive (each record once,
 * even across a restart of the reader). Resolves once the reader has joined its group. A reader that
 * crashes without kafkajs restarting it (seen on a busy broker: "coordinator is loading") is recreated.
 */
export async function collect<T>(
  mesh: MeshClient,
  topic: string,
): Promise<{ items: Received<T>[]; stop(): Promise<void> }> {
  const items: Received<T>[] = [];
  const seen = new Set<string>();
  let stopped = false;
  let consumer: Consumer;
  const startReader = async (): Promise<void> => {
    consumer = mesh.kafka.consumer({
      groupId: `test-reader-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      retry: { retries: 10, restartOnFailure: async () => true },
    });
    const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !stopped) void consumer.disconnect().finally(() => startReader());
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const id = `${batch.partition}:${m.offset}`;
          if (seen.has(id)) continue;
          seen.add(id);
          items.push({
            value: (await mesh.serde.decode(topic, m.value)) as T,
            partition: batch.partition,
            offset: BigInt(m.offset),
            batch: m.headers?.['flywheel-batch']?.toString(),
          });
        }
      },
    });
    await joined;
  };
  await startReader();
  return {
    items,
    stop: async () => {
      stopped = true;
      await consumer.disconnect();
    },
  };
}

export function serviceEnv(
  env: { kafkaBrokers: string; schemaRegistryUrl: string },
  prefix: string,
  registryUrl: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    TOPIC_PREFIX: prefix,
    REGISTRY_URL: registryUrl,
    MODEL_NAME,
    CONSUMER_GROUP: `${prefix}stream-inference`,
    LOG_LEVEL: 'info',
    BATCH_MAX_WAIT_MS: '20',
    ...extra,
  };
}

export async function metricsText(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}

export type { Prediction };

/** The reference: standardise by hand from the bundle's spec and call tfjs predict directly. */
export function directPredict(bundle: TrainedBundle, vectors: FeatureVector[]): Float32Array {
  const { feature_names, means, stds } = bundle.spec;
  const matrix = vectors.map((v) => feature_names.map((name, j) => (v.features[name] - means[j]) / stds[j]));
  return tf.tidy(() => (bundle.model.predict(tf.tensor2d(matrix)) as tf.Tensor).dataSync() as Float32Array);
}
