import { type RawEvent, topics } from '@flywheel/contracts';
import {
  type KafkaCluster,
  killBroker,
  restartBroker,
  type ServiceProcess,
  startKafka,
  stopKafka,
  testPrefix,
  uniqueSuffix,
  waitUntil,
} from '@flywheel/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createKey, createTopics, post, startCollector, TopicReader, transaction } from './collector-harness';

const env = testEnv();
const prefix = testPrefix('outage');
const runName = `collector-outage-${uniqueSuffix()}`;
let cluster: KafkaCluster;
let kafka: Kafka;
let collector: ServiceProcess;

beforeAll(async () => {
  // Its own broker: stopping the shared one would break every other test of the run.
  cluster = await startKafka({ name: runName });
  kafka = await createTopics(cluster.bootstrapServers, prefix);
  collector = await startCollector({
    KAFKA_BROKERS: cluster.bootstrapServers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: env.databaseUrl,
    TOPIC_PREFIX: prefix,
    COLLECTOR_PRODUCE_TIMEOUT_MS: '2000',
    COLLECTOR_RETRY_AFTER_SECONDS: '1',
  });
});

afterAll(async () => {
  await collector?.stop();
  await stopKafka(runName);
});

interface Outcome {
  started: number;
  ended: number;
  status: number;
  ids: string[];
}

it('answers 503 (never 2xx) while Kafka is down, accepts again after, and loses no acknowledged event', async () => {
  const { key } = await createKey(env.databaseUrl, 'outage-test');
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const client = async () => {
    while (running) {
      const batch = Array.from({ length: 20 }, () => transaction(n++));
      const started = Date.now();
      const res = await post(collector.url, JSON.stringify(batch), headers).catch(() => ({ status: 0, json: null }));
      const ids =
        res.status >= 200 && res.status < 300
          ? res.json.results
              .filter((r: { status: string }) => r.status === 'accepted')
              .map((r: { event_id: string }) => r.event_id)
          : [];
      outcomes.push({ started, ended: Date.now(), status: res.status, ids });
    }
  };
  const clients = Array.from({ length: 4 }, client);
  const ok = () => outcomes.filter((o) => o.status === 200).length;

  await waitUntil(() => ok() >= 20, { timeoutMs: 30_000, message: 'no traffic accepted before the outage' });
  killBroker(cluster, 1, 'SIGKILL');
  const killedAt = Date.now();
  await waitUntil(() => outcomes.filter((o) => o.started > killedAt && o.status === 503).length >= 8, {
    timeoutMs: 60_000,
    message: 'no 503s while Kafka was down',
  });
  const ready = await fetch(`${collector.url}/health/ready`);
  expect(ready.status).toBe(503);
  const restartAt = Date.now();
  await restartBroker(cluster, 1);
  await waitUntil(() => outcomes.filter((o) => o.started > restartAt && o.status === 200).length >= 10, {
    timeoutMs: 90_000,
    message: 'not accepting again after Kafka came back',
  });
  running = false;
  await Promise.all(clients);

  const duringOutage = outcomes.filter((o) => o.started > killedAt && o.ended < restartAt);
  const statuses = new Map<number, number>();
  for (const o of duringOutage) statuses.set(o.status, (statuses.get(o.status) ?? 0) + 1);
  expect(duringOutage.length).toBeGreaterThan(0);
  expect(duringOutage.filter((o) => o.status >= 200 && o.status < 300)).toEqual([]);
  expect([...statuses.keys()]).toEqual([503]);

  const acknowledged = new Set(outcomes.flatMap((o) => o.ids));
  const reader = await TopicReader.start<RawEvent>(kafka, env.schemaRegistryUrl, prefix, topics.eventsRaw);
  try {
    await waitUntil(
      () => {
        const seen = new Set(reader.records.map((r) => r.value.event_id));
        return [...acknowledged].every((id) => seen.has(id));
      },
      { timeoutMs: 120_000, message: 'some acknowledged events are missing from events.raw.v1' },
    ).catch((error) => {
      const seen = new Set(reader.records.map((r) => r.value.event_id));
      const missing = [...acknowledged].filter((id) => !seen.has(id));
      const lost = outcomes.filter((o) => o.ids.some((id) => !seen.has(id)));
      throw new Error(
        `${(error as Error).message}: ${missing.length} of ${acknowledged.size} missing, ${reader.records.length} records read; ` +
          `requests with missing ids (ms relative to kill): ${JSON.stringify(lost.slice(0, 10).map((o) => [o.started - killedAt, o.ended - killedAt, o.ids.filter((id) => !seen.has(id)).length]))}, restart at ${restartAt - killedAt}`,
      );
    });
  } finally {
    await reader.stop();
  }
  const seen = new Set(reader.records.map((r) => r.value.event_id));
  const missing = [...acknowledged].filter((id) => !seen.has(id));
  console.log(
    `[outage] ${outcomes.length} requests, ${acknowledged.size} events acknowledged, during outage ${JSON.stringify(Object.fromEntries(statuses))}, on topic ${reader.records.length} (${seen.size} distinct), missing ${missing.length}`,
  );
  expect(missing).toEqual([]);
});
