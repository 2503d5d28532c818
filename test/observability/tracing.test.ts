import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ensureTopics, type Prediction, type RawEvent, topics, withPrefix } from '@flywheel/contracts';
import { initBackend, serializeBundle, syntheticFraudData, trainFraudModel } from '@flywheel/ml';
import { type ServiceProcess, startServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentsFraud } from '../../libs/features/src/feature-set';
import { testEnv } from '../../libs/testing/src/test-env';
import { createKey, transaction } from '../collector/collector-harness';
import { freshDatabase, rawEvent } from '../enrichment/enrichment-harness';
import {
  type MeshClient,
  MODEL_NAME,
  type ModelSource,
  meshClient,
  serviceEnv,
  startFakeModelSource,
} from '../inference/inference-harness';
import { type ReceivedSpan, startOtlpReceiver } from './otlp-receiver';

const SERVER = 2;
const PRODUCER = 4;
const CONSUMER = 5;

/** A prediction as read back from predictions.v1, with the traceparent it carries. */
interface TracedPrediction {
  value: Prediction;
  traceparent: string | undefined;
}

/**
 * One trace per event, across four service processes exporting over OTLP/HTTP to a receiver in this test:
 * collector (HTTP request → events.raw.v1) → enrichment-api → feature-materializer → stream-inference →
 * predictions.v1. Every hop's span is the child of the previous hop's, in the trace of the HTTP request.
 */
describe('tracing: one trace per event from the HTTP request to its prediction', () => {
  const env = testEnv();
  const prefix = testPrefix('tracing');
  const topic = (name: string) => withPrefix(prefix, name);
  const processes: ServiceProcess[] = [];
  const predictions: TracedPrediction[] = [];
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let mesh: MeshClient;
  let source: ModelSource;
  let reader: Consumer;
  let collector: ServiceProcess;
  let enrichment: ServiceProcess;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    db = await freshDatabase(env);
    mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    const admin = mesh.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, {
      prefix,
      only: [topics.eventsRaw, topics.labels, topics.eventsEnriched],
      logger: { info: () => undefined, warn: () => undefined },
    });
    await admin.disconnect();

    // A small model on two features the materializer emits, for the feature set it computes.
    await initBackend('auto');
    const data = syntheticFraudData(500, 11);
    const featureNames = ['amount_base', 'account_age_days'];
    const trained = await trainFraudModel(
      { rows: data.map((r) => r.features), labels: data.map((r) => r.label) },
      { featureNames, seed: 11, epochs: 1, batchSize: 128 },
    );
    const bundle = await serializeBundle(trained.model, trained.spec, {
      feature_set_version: paymentsFraud.version,
      threshold: 0.5,
      review_threshold: 0.25,
      model_name: MODEL_NAME,
    });
    source = await startFakeModelSource(mesh, prefix);
    const version = await source.register({
      ...bundle,
      featureSetVersion: paymentsFraud.version,
      featureNames,
      metrics: {},
      baseline: { features: [], score: { name: 'score', bin_edges: [0, 1], counts: [1] } },
    });
    await source.promote(version);

    reader = mesh.kafka.consumer({ groupId: testGroup('tracing-predictions'), maxWaitTimeInMs: 100 });
    await reader.connect();
    await reader.subscribe({ topics: [topic(topics.predictions)], fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        predictions.push({
          value: (await mesh.serde.decode(topic(topics.predictions), message.value)) as Prediction,
          traceparent: message.headers?.traceparent?.toString(),
        });
      },
    });

    const common = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      // Export within a fraction of a second instead of the default 5 s.
      OTEL_BSP_SCHEDULE_DELAY: '200',
      LOG_LEVEL: 'info',
    };
    // Four Node processes starting at once on two shared cores: allow more than the default minute.
    const timeoutMs = 120_000;
    const started = await Promise.all([
      startServiceProcess('collector', { env: { ...common, DATABASE_URL: db.url }, timeoutMs }),
      startServiceProcess('enrichment-api', {
        env: { ...common, DATABASE_URL: db.url, ENRICHMENT_GROUP_ID: testGroup('tracing-enrichment') },
        timeoutMs,
      }),
      startServiceProcess('feature-materializer', {
        env: { ...common, DATABASE_URL: db.url, FEATURES_GROUP_ID: testGroup('tracing-features') },
        timeoutMs,
      }),
      startServiceProcess('stream-inference', {
        env: serviceEnv(env, prefix, source.url, { ...common, CONSUMER_GROUP: testGroup('tracing-inference') }),
        timeoutMs,
      }),
    ]);
    processes.push(...started);
    [collector, enrichment] = started;
  });

  afterAll(async () => {
    for (const p of processes.reverse()) await p.stop();
    await reader?.disconnect();
    await source?.close();
    await mesh?.close();
    await db?.drop();
    await receiver?.close();
  });

  /** The spans of one trace, by name (topic names carry the test's prefix). */
  function traceOf(traceId: string): ReceivedSpan[] {
    return receiver.spans.filter((s) => s.traceId === traceId);
  }

  it('links the HTTP request, every Kafka hop and the prediction of each event', async () => {
    const { key } = await createKey(db.url, 'tracing-test');
    // A client that traces too: its traceparent is continued by the collector's request span.
    const clientTraceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const requests: Array<{ events: number[]; headers: Record<string, string> }> = [
      // (transaction(0) has amount 0, which enrichment rejects: start at 1)
      { events: [1], headers: { traceparent: `00-${clientTraceId}-${clientSpanId}-01` } },
      { events: [2], headers: {} },
      { events: [3, 4], headers: {} },
    ];
    const eventsOfRequest: string[][] = [];
    const traceResponses: string[] = [];
    const run = randomBytes(3).toString('hex');
    for (const request of requests) {
      const body = request.events.map((i) =>
        transaction(i, { event_time: Date.now(), account_id: `acct-${run}-${i}` }),
      );
      const res = await fetch(`${collector.url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...request.headers },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      traceResponses.push(res.headers.get('traceresponse') ?? '');
      const answer = (await res.json()) as { results: Array<{ event_id: string; status: string }> };
      expect(answer.results.every((r) => r.status === 'accepted')).toBe(true);
      eventsOfRequest.push(answer.results.map((r) => r.event_id));
    }
    const eventIds = eventsOfRequest.flat();

    const p = prefix;
    const chain = [
      { name: `${p}events.raw.v1 publish`, service: 'collector', kind: PRODUCER },
      { name: `${p}events.raw.v1 process`, service: 'enrichment-api', kind: CONSUMER },
      { name: `${p}events.enriched.v1 publish`, service: 'enrichment-api', kind: PRODUCER },
      { name: `${p}events.enriched.v1 process`, service: 'feature-materializer', kind: CONSUMER },
      { name: `${p}features.vectors.v1 publish`, service: 'feature-materializer', kind: PRODUCER },
      { name: `${p}features.vectors.v1 process`, service: 'stream-inference', kind: CONSUMER },
      { name: `${p}predictions.v1 publish`, service: 'stream-inference', kind: PRODUCER },
    ];
    /** The span of `name` in the event's trace: the request's raw publish is shared, the rest is per event. */
    const spanOf = (traceId: string, eventId: string, name: string) =>
      traceOf(traceId).find(
        (s) => s.name === name && (name === chain[0].name ? true : s.attributes['messaging.message.id'] === eventId),
      );

    const predictionOf = (eventId: string) => predictions.find((x) => x.value.event_id === eventId);
    await waitUntil(() => eventIds.every((id) => predictionOf(id)), {
      timeoutMs: 60_000,
      message: 'a prediction for every event',
    });
    // Spans are exported in the background: wait until each event's last hop has arrived.
    const traceIdOf = (eventId: string) => predictionOf(eventId)?.traceparent?.split('-')[1] ?? '';
    await waitUntil(() => eventIds.every((id) => chain.every((c) => spanOf(traceIdOf(id), id, c.name))), {
      timeoutMs: 30_000,
      message: 'every hop of every event exported',
    });

    for (const [r, ids] of eventsOfRequest.entries()) {
      for (const eventId of ids) {
        const traceId = traceIdOf(eventId);
        const http = traceOf(traceId).find((s) => s.kind === SERVER && s.service === 'collector');
        expect(http?.name).toBe('POST /v1/events');
        // The client was told its request's trace (W3C traceresponse).
        expect(traceResponses[r]).toBe(`00-${traceId}-${http?.spanId}-01`);
        if (r === 0) {
          // The client's trace continues: same trace id, the request span is a child of the client's span.
          expect(traceId).toBe(clientTraceId);
          expect(http?.parentSpanId).toBe(clientSpanId);
        }
        let parent = http!;
        for (const hop of chain) {
          const span = spanOf(traceId, eventId, hop.name)!;
          expect(span.service, hop.name).toBe(hop.service);
          expect(span.kind, hop.name).toBe(hop.kind);
          expect(span.parentSpanId, `${hop.name} is a child of ${parent.name}`).toBe(parent.spanId);
          expect(span.attributes['messaging.system']).toBe('kafka');
          expect(span.attributes['messaging.destination.name']).toBe(hop.name.split(' ')[0]);
          parent = span;
        }
        // The prediction itself points at the last publish span.
        expect(predictionOf(eventId)?.traceparent).toBe(`00-${traceId}-${parent.spanId}-01`);
      }
    }
    // One trace per request: events of one request share it, events of different requests do not.
    const traceIds = eventsOfRequest.map((ids) => new Set(ids.map(traceIdOf)));
    expect(traceIds.map((s) => s.size)).toEqual([1, 1, 1]);
    expect(new Set(traceIds.map((s) => [...s][0])).size).toBe(3);
    // Within the shared trace, each event keeps a branch of its own from the enrichment on.
    const [a, b] = eventsOfRequest[2];
    const shared = traceIdOf(a);
    expect(spanOf(shared, a, chain[1].name)?.spanId).not.toBe(spanOf(shared, b, chain[1].name)?.spanId);

    // The collector's request log line carries the request's trace.id.
    const requestLines = readFileSync(collector.logFile, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"/v1/events"'))
      .map((line) => JSON.parse(line));
    expect(requestLines.map((l) => l.trace?.id)).toEqual(expect.arrayContaining([...new Set(eventIds.map(traceIdOf))]));
  });

  it('writes a dead-lettered event log line with the trace.id of that event', async () => {
    // A raw event breaking an enrichment rule, produced straight to events.raw.v1 with no trace context:
    // enrichment-api starts its trace and logs the dead letter inside it.
    const negative: RawEvent = rawEvent({ amount: -5, account_id: `acct-dlq-${randomBytes(3).toString('hex')}` });
    await mesh.producer.send(topic(topics.eventsRaw), [{ key: negative.account_id, value: negative }]);
    const line = await waitUntil(
      () =>
        readFileSync(enrichment.logFile, 'utf8')
          .split('\n')
          .filter((l) => l.includes(negative.event_id))
          .map((l) => JSON.parse(l))
          .find((l) => l.message === 'message dead-lettered'),
      { timeoutMs: 30_000, message: 'the dead-lettered log line' },
    );
    expect(line.event_id).toBe(negative.event_id);
    expect(line.error?.type).toBe('EnrichmentRuleError');
    expect(line.trace?.id).toMatch(/^[0-9a-f]{32}$/);
    const span = await waitUntil(
      () =>
        receiver.spans.find(
          (s) =>
            s.name === `${prefix}events.raw.v1 process` && s.attributes['messaging.message.id'] === negative.event_id,
        ),
      { timeoutMs: 15_000, message: 'the span of the dead-lettered event' },
    );
    expect(line.trace.id).toBe(span.traceId);
    expect(line.span?.id).toBe(span.spanId);
    expect(span.attributes['flywheel.dlq.failure_kind']).toBe('enrichment');
    // Its dead letter continues the same trace.
    await waitUntil(
      () =>
        traceOf(span.traceId).find(
          (s) => s.name === `${prefix}events.raw.v1.dlq publish` && s.parentSpanId === span.spanId,
        ),
      { timeoutMs: 15_000, message: 'the DLQ publish span in the event trace' },
    );
  });
});
