import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Baseline,
  type DriftReport,
  ensureTopics,
  type ModelLifecycle,
  type RetrainRequested,
  schemaFor,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { AvroSerde, FlywheelProducer } from '@flywheel/kafka';
import { type ServiceProcess, startServiceProcess } from '@flywheel/testing';
import type { Consumer, Kafka } from 'kafkajs';
import { testEnv } from '../../libs/testing/src/test-env';

export interface RegistryStub {
  url: string;
  hits(): number;
  close(): Promise<void>;
}

/** A stand-in for the model registry: serves version 1 of `model` (baseline, metrics), counting requests. */
export async function startRegistryStub(
  model: string,
  version: { feature_set_version: string; baseline: Baseline; metrics?: Record<string, number> },
): Promise<RegistryStub> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === `/v1/models/${model}/versions/1`) {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model_name: model, version: 1, metrics: {}, ...version }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Decodes everything on `topic` from the beginning into `items` until the consumer is disconnected. */
export async function collect<T>(
  kafka: Kafka,
  serde: AvroSerde,
  topic: string,
): Promise<{ items: T[]; consumer: Consumer }> {
  const items: T[] = [];
  const consumer = kafka.consumer({ groupId: `test-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      items.push((await serde.decode(topic, message.value)) as T);
    },
  });
  return { items, consumer };
}

/** A monitor process on its own topic prefix, fed straight through its input topics by the test. */
export interface MonitorBed {
  serde: AvroSerde;
  producer: FlywheelProducer;
  registry: RegistryStub;
  service: ServiceProcess;
  reports: { items: DriftReport[]; consumer: Consumer };
  requests: { items: RetrainRequested[]; consumer: Consumer };
  stop(): Promise<void>;
}

/**
 * Topics, a registry stub serving version 1 of `model`, version 1 promoted to Production on
 * models.lifecycle.v1, then the monitor (with `env` on top of the connection settings) and readers of its
 * drift reports and retrain requests.
 */
export async function startMonitorBed(options: {
  kafka: Kafka;
  prefix: string;
  model: string;
  version: { feature_set_version: string; baseline: Baseline; metrics?: Record<string, number> };
  env: Record<string, string>;
}): Promise<MonitorBed> {
  const { kafka, prefix, model, version } = options;
  const testEnvironment = testEnv();
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, {
    prefix,
    only: [
      topics.featureVectors,
      topics.predictions,
      topics.labels,
      topics.modelsLifecycle,
      topics.monitorDrift,
      topics.modelsRetrainRequested,
    ],
    logger: { info: () => undefined, warn: () => undefined },
  });
  await admin.disconnect();
  const serde = AvroSerde.connect(testEnvironment.schemaRegistryUrl, schemaFor);
  const producer = new FlywheelProducer(kafka, serde);
  await producer.connect();
  const registry = await startRegistryStub(model, version);
  const production = {
    version: 1,
    artifact_uri: '/v1/artifacts/abc',
    artifact_sha256: 'abc',
    feature_set_version: version.feature_set_version,
  };
  const promoted: ModelLifecycle = {
    change_id: randomUUID(),
    model_name: model,
    version: 1,
    change: 'STAGE_CHANGED',
    from_stage: 'Staging',
    to_stage: 'Production',
    alias: null,
    aliases: {},
    production_version: 1,
    production,
    artifact_uri: production.artifact_uri,
    artifact_sha256: production.artifact_sha256,
    feature_set_version: version.feature_set_version,
    actor: 'test',
    reason: null,
    changed_at: Date.now(),
  };
  await producer.send(withPrefix(prefix, topics.modelsLifecycle), [{ key: model, value: promoted }]);
  const service = await startServiceProcess('monitor', {
    env: {
      KAFKA_BROKERS: testEnvironment.kafkaBrokers,
      SCHEMA_REGISTRY_URL: testEnvironment.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      REGISTRY_URL: registry.url,
      MODEL_NAME: model,
      CONSUMER_GROUP: `${prefix}monitor`,
      ...options.env,
    },
  });
  const reports = await collect<DriftReport>(kafka, serde, withPrefix(prefix, topics.monitorDrift));
  const requests = await collect<RetrainRequested>(kafka, serde, withPrefix(prefix, topics.modelsRetrainRequested));
  return {
    serde,
    producer,
    registry,
    service,
    reports,
    requests,
    stop: async () => {
      await service.stop();
      await reports.consumer.disconnect();
      await requests.consumer.disconnect();
      await producer.disconnect();
      await registry.close();
    },
  };
}
