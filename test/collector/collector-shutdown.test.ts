import { request } from 'node:http';
import { type RawEvent, topics } from '@flywheel/contracts';
import { type ServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createKey, createTopics, startCollector, TopicReader, transaction } from './collector-harness';

const env = testEnv();
const prefix = testPrefix('shutdown');
let collector: ServiceProcess;

beforeAll(async () => {
  await createTopics(env.kafkaBrokers, prefix);
  collector = await startCollector({
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: env.databaseUrl,
    TOPIC_PREFIX: prefix,
  });
});

afterAll(async () => {
  await collector?.kill();
});

it('SIGTERM during an in-flight request still answers it (and stores its events), then exits cleanly', async () => {
  const { key } = await createKey(env.databaseUrl, 'shutdown-test');
  const body = Buffer.from(JSON.stringify(Array.from({ length: 50 }, (_, i) => transaction(i))));
  const half = Math.floor(body.length / 2);
  let answer: { status: number; body: string } | undefined;
  const req = request(`${collector.url}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'content-length': body.length, authorization: `Bearer ${key}` },
  });
  const answered = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => {
        answer = { status: res.statusCode ?? 0, body: text };
        resolve();
      });
    });
    req.on('error', reject);
  });
  // The request is in flight: headers and half the body sent, the rest held back.
  req.write(body.subarray(0, half));
  req.flushHeaders();
  await waitUntil(async () => (await fetch(`${collector.url}/health/live`)).ok);

  collector.child.kill('SIGTERM');
  // Shutdown has begun once the server refuses new connections.
  await waitUntil(
    async () => {
      try {
        await fetch(`${collector.url}/health/live`);
        return false;
      } catch {
        return true;
      }
    },
    { timeoutMs: 20_000, intervalMs: 50, message: 'collector kept accepting connections after SIGTERM' },
  );
  req.end(body.subarray(half));
  await answered;
  expect(answer?.status).toBe(200);
  const parsed = JSON.parse(answer!.body) as { accepted: number; results: { event_id: string }[] };
  expect(parsed.accepted).toBe(50);
  // Nest re-raises SIGTERM after a clean app.close(), so a clean exit is "killed by SIGTERM" (or 0).
  const code = await collector.exited;
  expect(code === 0 || collector.child.signalCode === 'SIGTERM', `exit ${code} / ${collector.child.signalCode}`).toBe(
    true,
  );

  const kafka = await createTopics(env.kafkaBrokers, prefix);
  const reader = await TopicReader.start<RawEvent>(kafka, env.schemaRegistryUrl, prefix, topics.eventsRaw);
  try {
    const ids = parsed.results.map((r) => r.event_id);
    await waitUntil(() => ids.every((id) => reader.records.some((r) => r.value.event_id === id)), {
      timeoutMs: 20_000,
    });
  } finally {
    await reader.stop();
  }
});
