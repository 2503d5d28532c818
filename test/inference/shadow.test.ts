import { type DeadLetter, dlqTopicFor, topics, withPrefix } from '@flywheel/contracts';
import { type ServiceProcess, startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  collect,
  directPredict,
  type MeshClient,
  makeVectors,
  meshClient,
  metricsText,
  type Prediction,
  produceVectors,
  type RegistryModelSource,
  serviceEnv,
  startRegistryModelSource,
  type TrainedBundle,
  trainBundle,
} from './inference-harness';

/**
 * Shadow scoring through the real registry: champion v1 in Production, v2 aliased `challenger`, the service
 * started with SHADOW_ALIAS=challenger. Each batch is scored by both; the champion's predictions go to
 * predictions.v1, the challenger's to predictions.shadow.v1.
 */
describe('stream-inference: shadow scoring with the challenger alias', () => {
  const env = testEnv();
  const prefix = testPrefix('shadow');
  let mesh: MeshClient;
  let source: RegistryModelSource;
  let service: ServiceProcess;
  let v1: TrainedBundle;
  let v2: TrainedBundle;
  let v3: TrainedBundle;
  let champion: Awaited<ReturnType<typeof collect<Prediction>>>;
  let shadow: Awaited<ReturnType<typeof collect<Prediction>>>;

  beforeAll(async () => {
    mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    source = await startRegistryModelSource(env, mesh, prefix);
    v1 = await trainBundle(41);
    v2 = await trainBundle(42);
    // a challenger-to-be on another feature-set version: it cannot score the stream's vectors
    v3 = await trainBundle(43, '4');
    expect(await source.register(v1)).toBe(1);
    expect(await source.register(v2)).toBe(2);
    await source.promote(1);
    await source.setAlias('challenger', 2);
    // registered last, so the newest lifecycle record is about v3: the service must resolve `challenger`
    // (v2, neither that record's version nor Production) through the registry's HTTP API
    expect(await source.register(v3)).toBe(3);
    const latest = source.lifecycle.at(-1)!;
    expect(latest).toMatchObject({
      change: 'REGISTERED',
      version: 3,
      production_version: 1,
      aliases: { champion: 1, challenger: 2 },
    });

    champion = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
    shadow = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictionsShadow));
    service = await startServiceProcess('stream-inference', {
      env: serviceEnv(env, prefix, source.url, { SHADOW_ALIAS: 'challenger' }),
    });
    await waitUntil(
      async () =>
        /flywheel_inference_model_info\{[^}]*version="2"[^}]*role="shadow"[^}]*\} 1/.test(
          await metricsText(service.url),
        ),
      { timeoutMs: 30_000, message: 'challenger v2 loaded as shadow' },
    );
  });

  afterAll(async () => {
    await service?.stop();
    await champion?.stop();
    await shadow?.stop();
    await source?.close();
    await mesh?.close();
  });

  it('predictions.v1 carry the champion v1 and predictions.shadow.v1 the challenger v2, for the same event_ids', async () => {
    const vectors = makeVectors(600, 4141);
    const ids = new Set(vectors.map((v) => v.event_id));
    await produceVectors(mesh, prefix, vectors);
    const covered = (items: typeof champion.items) =>
      new Set(items.map((p) => p.value.event_id).filter((id) => ids.has(id))).size >= ids.size;
    await waitUntil(() => covered(champion.items), { timeoutMs: 60_000, message: 'every vector scored' });
    await waitUntil(() => covered(shadow.items), {
      timeoutMs: 30_000,
      message: 'every vector shadow-scored (a dropped shadow batch would show here)',
    });

    const byId = (items: typeof champion.items) => {
      const map = new Map<string, Prediction>();
      for (const p of items) if (ids.has(p.value.event_id)) map.set(p.value.event_id, p.value);
      return map;
    };
    const served = byId(champion.items);
    const shadowed = byId(shadow.items);
    expect([...served.keys()].sort()).toEqual([...ids].sort());
    expect([...shadowed.keys()].sort()).toEqual([...ids].sort());
    expect(new Set(champion.items.map((p) => p.value.model_version))).toEqual(new Set([1]));
    expect(new Set(shadow.items.map((p) => p.value.model_version))).toEqual(new Set([2]));

    // each topic's scores are really that version's: a direct tfjs predict of v1 resp. v2 on the same rows
    const expected1 = directPredict(v1, vectors);
    const expected2 = directPredict(v2, vectors);
    let diff1 = 0;
    let diff2 = 0;
    let differ = 0;
    vectors.forEach((v, i) => {
      const p1 = served.get(v.event_id)!;
      const p2 = shadowed.get(v.event_id)!;
      diff1 = Math.max(diff1, Math.abs(p1.score - expected1[i]));
      diff2 = Math.max(diff2, Math.abs(p2.score - expected2[i]));
      if (Math.abs(p1.score - p2.score) > 1e-4) differ++;
      expect(p2.entity).toBe(p1.entity);
      expect(p2.model_name).toBe(p1.model_name);
    });
    expect(diff1).toBeLessThanOrEqual(1e-6);
    expect(diff2).toBeLessThanOrEqual(1e-6);
    // the two versions are different models (seeds 41 and 42), so the test can tell them apart
    expect(differ).toBeGreaterThan(vectors.length / 2);

    const metrics = await metricsText(service.url);
    expect(metrics).toMatch(/flywheel_inference_model_info\{[^}]*version="1"[^}]*role="serving"[^}]*\} 1/);
    expect(metrics).toMatch(/flywheel_inference_model_info\{[^}]*version="2"[^}]*role="shadow"[^}]*\} 1/);
    expect(metrics).toMatch(/flywheel_inference_rows_scored_total\{[^}]*mode="shadow"[^}]*\} \d+/);
    expect(metrics).not.toMatch(/flywheel_inference_model_load_failures_total\{[^}]*\} [1-9]/);
  });

  it('a challenger that cannot score the stream never fails or dead-letters the champion batch', async () => {
    // challenger → v3 (feature set 4): every row of the stream (feature set 3) is unusable for the shadow
    await source.setAlias('challenger', 3);
    await waitUntil(
      async () =>
        /flywheel_inference_model_info\{[^}]*version="3"[^}]*role="shadow"[^}]*\} 1/.test(
          await metricsText(service.url),
        ),
      { timeoutMs: 30_000, message: 'challenger v3 loaded as shadow' },
    );
    const dlq = await collect<DeadLetter>(mesh, dlqTopicFor(withPrefix(prefix, topics.featureVectors)));
    try {
      const vectors = makeVectors(300, 4343);
      // and some vectors neither model can use, so the DLQ is known to have caught up when they are in it
      const sentinels = makeVectors(30, 4444, '2');
      const ids = new Set(vectors.map((v) => v.event_id));
      await produceVectors(mesh, prefix, [...vectors, ...sentinels]);
      await waitUntil(
        () => new Set(champion.items.map((p) => p.value.event_id).filter((id) => ids.has(id))).size >= ids.size,
        { timeoutMs: 60_000, message: 'champion scored every vector while the shadow could not' },
      );
      await waitUntil(() => dlq.items.length >= sentinels.length, {
        timeoutMs: 30_000,
        message: 'the unusable vectors dead-lettered',
      });
      const scored = new Map(
        champion.items.filter((p) => ids.has(p.value.event_id)).map((p) => [p.value.event_id, p.value]),
      );
      const expected = directPredict(v1, vectors);
      let diff = 0;
      vectors.forEach((v, i) => {
        const p = scored.get(v.event_id)!;
        expect(p.model_version).toBe(1);
        diff = Math.max(diff, Math.abs(p.score - expected[i]));
      });
      expect(diff).toBeLessThanOrEqual(1e-6);
      // nothing of this stream reached the shadow topic, and only the champion's own refusals were
      // dead-lettered: the shadow refusing every row did not reject a row of the champion batch
      expect(shadow.items.some((p) => ids.has(p.value.event_id))).toBe(false);
      expect(dlq.items.map((d) => d.value.event_id).sort()).toEqual(sentinels.map((v) => v.event_id).sort());
      const metrics = await metricsText(service.url);
      expect(metrics).toMatch(/flywheel_inference_model_info\{[^}]*version="1"[^}]*role="serving"[^}]*\} 1/);
      expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
    } finally {
      await dlq.stop();
    }
  });

  it('the shadow topic gone: shadow sends fail and are counted, the champion still scores every vector', async () => {
    await source.setAlias('challenger', 2);
    await waitUntil(
      async () =>
        /flywheel_inference_model_info\{[^}]*version="2"[^}]*role="shadow"[^}]*\} 1/.test(
          await metricsText(service.url),
        ),
      { timeoutMs: 30_000, message: 'challenger v2 loaded as shadow again' },
    );
    const failuresBefore = shadowFailures(await metricsText(service.url));
    // an operator deletes predictions.shadow.v1 (auto-creation is off on the broker): every shadow send fails
    await shadow.stop();
    const admin = mesh.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: [withPrefix(prefix, topics.predictionsShadow)], timeout: 30_000 });
    } finally {
      await admin.disconnect();
    }
    const vectors = makeVectors(600, 4545);
    const ids = new Set(vectors.map((v) => v.event_id));
    const started = Date.now();
    await produceVectors(mesh, prefix, vectors, 50);
    await waitUntil(
      () => new Set(champion.items.map((p) => p.value.event_id).filter((id) => ids.has(id))).size >= ids.size,
      { timeoutMs: 90_000, message: 'champion scored every vector while the shadow topic was gone' },
    );
    const championDone = Date.now() - started;
    const scored = champion.items.filter((p) => ids.has(p.value.event_id));
    expect(new Set(scored.map((p) => p.value.model_version))).toEqual(new Set([1]));
    await waitUntil(async () => shadowFailures(await metricsText(service.url)) > failuresBefore, {
      timeoutMs: 90_000,
      message: 'failed shadow sends counted in flywheel_inference_shadow_failures_total',
    });
    console.info(
      `[shadow] topic gone: champion scored 600 vectors in ${championDone} ms; first failed shadow send counted after ${Date.now() - started} ms`,
    );
    expect((await fetch(`${service.url}/health/ready`)).status).toBe(200);
  });
});

function shadowFailures(metrics: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith('flywheel_inference_shadow_failures_total'));
  return line ? Number(line.split(' ').pop()) : 0;
}
