import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DeadLetter, dlqTopicFor, topics, withPrefix } from '@flywheel/contracts';
import { type ServiceProcess, startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  collect,
  directPredict,
  type MeshClient,
  type ModelSource,
  makeVectors,
  meshClient,
  metricsText,
  type Prediction,
  produceVectors,
  serviceEnv,
  startRegistryModelSource,
  type TrainedBundle,
  trainBundle,
} from './inference-harness';

describe('stream-inference: serve, refuse mismatches, refuse corrupt artifacts, request-response', () => {
  const env = testEnv();
  const prefix = testPrefix('inference');
  let mesh: MeshClient;
  let source: ModelSource;
  let v1: TrainedBundle;
  let service: ServiceProcess;
  let featureStore: Server;
  let predictions: Awaited<ReturnType<typeof collect<Prediction>>>;

  beforeAll(async () => {
    mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    // The real registry (own process and database, lifecycle events through its outbox). The service reads it
    // through a pass-through proxy so that the corrupt-artifact test can serve wrong bytes for one sha256:
    // the registry itself refuses a mismatched upload (422), so a corrupted *download* is simulated there.
    source = await startRegistryModelSource(env, mesh, prefix, { tamperProxy: true });
    v1 = await trainBundle(101);
    const version = await source.register(v1);
    await source.promote(version);

    // The online store does not exist yet: a fake one that knows one entity and hangs for another.
    featureStore = createServer((req, res) => {
      if (req.url === '/v1/features/acct-known') {
        const features = makeVectors(1, 555)[0].features;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ entity: 'acct-known', feature_set_version: '3', features }));
      } else if (req.url === '/v1/features/acct-slow') {
        setTimeout(() => res.writeHead(200).end('{}'), 3_000);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => featureStore.listen(0, '127.0.0.1', resolve));
    const storeUrl = `http://127.0.0.1:${(featureStore.address() as AddressInfo).port}`;

    predictions = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
    service = await startServiceProcess('stream-inference', {
      env: serviceEnv(env, prefix, source.url, { FEATURE_STORE_URL: storeUrl, FEATURE_STORE_TIMEOUT_MS: '300' }),
    });
  });

  afterAll(async () => {
    await service?.stop();
    await predictions?.stop();
    await source?.close();
    featureStore?.closeAllConnections();
    await new Promise((resolve) => featureStore?.close(resolve));
    await mesh?.close();
  });

  it('scores with the promoted version; scores equal a direct tfjs predict within 1e-6', async () => {
    const vectors = makeVectors(600, 9001);
    await produceVectors(mesh, prefix, vectors);
    await waitUntil(() => new Set(predictions.items.map((p) => p.value.event_id)).size >= vectors.length, {
      timeoutMs: 60_000,
      message: 'every vector scored',
    });
    const byId = new Map(predictions.items.map((p) => [p.value.event_id, p.value]));
    const expected = directPredict(v1, vectors);
    let maxDiff = 0;
    vectors.forEach((v, i) => {
      const p = byId.get(v.event_id)!;
      maxDiff = Math.max(maxDiff, Math.abs(p.score - expected[i]));
      expect(p.model_name).toBe('payments-fraud');
      expect(p.model_version).toBe(1);
      expect(p.entity).toBe(v.entity);
      expect(p.feature_set_version).toBe('3');
      expect(p.latency_ms).toBe(p.scored_time - p.event_time);
      expect(p.decision).toBe(p.score >= 0.7 ? 'DECLINE' : p.score >= 0.35 ? 'REVIEW' : 'APPROVE');
    });
    expect(maxDiff).toBeLessThanOrEqual(1e-6);
    // the scores are not degenerate: the model separates the rows
    expect(Math.max(...expected) - Math.min(...expected)).toBeGreaterThan(0.1);

    const ready = (await (await fetch(`${service.url}/health/ready`)).json()) as {
      checks: Record<string, { detail?: string }>;
    };
    expect(ready.checks.model.detail).toMatch(/payments-fraud v1 \((wasm|tensorflow)\)/);
    const metrics = await metricsText(service.url);
    expect(metrics).toMatch(
      /flywheel_inference_model_info\{[^}]*model="payments-fraud",version="1",backend="(wasm|tensorflow)",role="serving"[^}]*\} 1/,
    );
    expect(metrics).toMatch(/flywheel_inference_rows_scored_total\{[^}]*mode="stream"[^}]*\} \d+/);
    expect(metrics).toMatch(/flywheel_inference_end_to_end_latency_seconds_count\{[^}]*\} \d+/);
  });

  it('sends vectors of another feature-set version to the DLQ as model-mismatch', async () => {
    const wrong = makeVectors(7, 77, '2');
    const right = makeVectors(3, 78, '3');
    await produceVectors(mesh, prefix, [...wrong, ...right]);
    const dlq = await collect<DeadLetter>(mesh, dlqTopicFor(withPrefix(prefix, topics.featureVectors)));
    try {
      await waitUntil(() => dlq.items.length >= wrong.length, {
        timeoutMs: 30_000,
        message: 'mismatches dead-lettered',
      });
      await waitUntil(() => right.every((v) => predictions.items.some((p) => p.value.event_id === v.event_id)), {
        message: 'matching vectors of the same batch scored',
      });
      expect(dlq.items.map((d) => d.value.event_id).sort()).toEqual(wrong.map((v) => v.event_id).sort());
      for (const d of dlq.items) {
        expect(d.value.failure_kind).toBe('model-mismatch');
        expect(d.value.stage).toBe('stream-inference');
        expect(d.value.error_message).toMatch(
          /feature_set_version 2 does not match model payments-fraud v1 \(feature set 3\)/,
        );
      }
      expect(predictions.items.some((p) => wrong.some((w) => w.event_id === p.value.event_id))).toBe(false);
    } finally {
      await dlq.stop();
    }
  });

  it('refuses an artifact whose sha256 does not match; the old version keeps serving; the metric shows it', async () => {
    const v2 = await trainBundle(202);
    const version = await source.register(v2);
    // the bytes served for v2's sha256 are v1's: a tampered or corrupted download
    source.tamper(v2.sha256, v1.bytes);
    await source.promote(version);
    await waitUntil(
      async () =>
        /flywheel_inference_model_load_failures_total\{[^}]*reason="sha256-mismatch"[^}]*\} 1/.test(
          await metricsText(service.url),
        ),
      { timeoutMs: 30_000, message: 'load failure counted' },
    );
    const vectors = makeVectors(200, 4242);
    await produceVectors(mesh, prefix, vectors);
    await waitUntil(() => vectors.every((v) => predictions.items.some((p) => p.value.event_id === v.event_id)), {
      timeoutMs: 30_000,
      message: 'scored after the refused promotion',
    });
    const ids = new Set(vectors.map((v) => v.event_id));
    expect(
      new Set(predictions.items.filter((p) => ids.has(p.value.event_id)).map((p) => p.value.model_version)),
    ).toEqual(new Set([1]));
    const metrics = await metricsText(service.url);
    expect(metrics).toMatch(/flywheel_inference_model_info\{[^}]*version="1"[^}]*role="serving"[^}]*\} 1/);
    expect(metrics).not.toMatch(/flywheel_inference_model_info\{[^}]*version="2"/);
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);

    // and a good artifact promoted afterwards is taken
    const v3 = await trainBundle(303);
    await source.promote(await source.register(v3));
    await waitUntil(
      async () =>
        /flywheel_inference_model_info\{[^}]*version="3"[^}]*role="serving"[^}]*\} 1/.test(
          await metricsText(service.url),
        ),
      { timeoutMs: 30_000, message: 'v3 swapped in' },
    );
  });

  it('POST /v1/predict scores a vector or an entity with the same scorer, and says 503 when the store hangs', async () => {
    const model = (await (await fetch(`${service.url}/health/ready`)).json()) as {
      checks: Record<string, { detail?: string }>;
    };
    expect(model.checks.model.detail).toMatch(/v3/);
    const v3 = await trainBundle(303); // deterministic: the same weights as the served v3
    const vector = makeVectors(1, 31337)[0];
    const res = await fetch(`${service.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ features: vector.features, feature_set_version: '3', entity: vector.entity }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Prediction;
    expect(body.model_version).toBe(3);
    expect(Math.abs(body.score - directPredict(v3, [vector])[0])).toBeLessThanOrEqual(1e-6);

    const byEntity = await fetch(`${service.url}/v1/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entity: 'acct-known' }),
    });
    expect(byEntity.status).toBe(200);
    const known = makeVectors(1, 555)[0];
    expect(Math.abs(((await byEntity.json()) as Prediction).score - directPredict(v3, [known])[0])).toBeLessThanOrEqual(
      1e-6,
    );

    const post = (payload: unknown) =>
      fetch(`${service.url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
    expect((await post({ entity: 'acct-slow' })).status).toBe(503);
    expect((await post({ entity: 'acct-nobody' })).status).toBe(404);
    expect((await post({ features: vector.features, feature_set_version: '9' })).status).toBe(422);
    const missing = await post({ features: { amount_base: 1 }, feature_set_version: '3' });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { message: string }).message).toMatch(/txn_count_1h/);
    expect((await post({ nothing: true })).status).toBe(400);
  });
});
