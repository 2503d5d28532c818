import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
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
  type SerializedBundle,
  SYNTHETIC_FEATURES,
  serializeBundle,
  syntheticFraudData,
  trainFraudModel,
} from '@flywheel/ml';
import type * as tf from '@tensorflow/tfjs';
import type { Consumer, Kafka } from 'kafkajs';

export const MODEL_NAME = 'payments-fraud';
export const FEATURE_SET = 'payments-fraud';

export interface TrainedBundle extends SerializedBundle {
  model: tf.LayersModel;
  spec: { feature_names: string[]; means: number[]; stds: number[] };
  featureSetVersion: string;
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
  return { ...bundle, model: trained.model, spec: trained.spec, featureSetVersion };
}

/**
 * Where the service under test gets models from: artifacts + versions over HTTP, and Production/alias
 * changes on models.lifecycle.v1. Today a fake (a local HTTP server + lifecycle events we produce); once
 * the registry's model API lands, swap `startFakeModelSource` for a real-registry implementation of this
 * same interface (register/promote through its HTTP API) — the one line in each test's setup.
 */
export interface ModelSource {
  /** REGISTRY_URL for the service. */
  url: string;
  /** Registers a new version (artifact stored) and returns its number. */
  register(bundle: SerializedBundle & { featureSetVersion: string }): Promise<number>;
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
  await ensureTopics(admin, {
    prefix,
    only: [topics.featureVectors, topics.predictions, topics.predictionsShadow, topics.modelsLifecycle],
    logger: { info: () => undefined, warn: () => undefined },
  });
  await admin.disconnect();
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
