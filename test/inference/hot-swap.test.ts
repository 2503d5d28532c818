import { topics, withPrefix } from '@flywheel/contracts';
import { type ServiceProcess, startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  collect,
  type MeshClient,
  type ModelSource,
  makeVectors,
  meshClient,
  metricsText,
  type Prediction,
  produceVectors,
  serviceEnv,
  startRegistryModelSource,
  trainBundle,
} from './inference-harness';

describe('stream-inference: hot swap under load', () => {
  const env = testEnv();
  const prefix = testPrefix('hotswap');
  let mesh: MeshClient;
  let source: ModelSource;
  let service: ServiceProcess;

  beforeAll(async () => {
    mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    // The real registry: versions registered and promoted over its HTTP API, events through its outbox.
    source = await startRegistryModelSource(env, mesh, prefix);
  });

  afterAll(async () => {
    await service?.stop();
    await source?.close();
    await mesh?.close();
  });

  it('20,000 vectors, v2 promoted mid-stream: one prediction per event, one version per batch, one switch per partition', async () => {
    const v1 = await source.register(await trainBundle(11));
    const v2 = await source.register(await trainBundle(22));
    await source.promote(v1);
    service = await startServiceProcess('stream-inference', { env: serviceEnv(env, prefix, source.url) });
    const out = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
    const inputs = await collect<{ event_id: string }>(mesh, withPrefix(prefix, topics.featureVectors));
    try {
      const vectors = makeVectors(20_000, 12345);
      const producing = produceVectors(mesh, prefix, vectors, 250);
      await waitUntil(() => out.items.length >= 5_000, { timeoutMs: 120_000, message: '5000 scored before the swap' });
      await source.promote(v2);
      await producing;
      const ids = new Set(vectors.map((v) => v.event_id));
      await waitUntil(() => new Set(out.items.map((p) => p.value.event_id)).size >= ids.size, {
        timeoutMs: 180_000,
        message: 'every event scored',
      });
      await waitUntil(() => inputs.items.length >= vectors.length, { message: 'inputs read back' });

      // exactly one prediction per event_id after dedupe, none lost, none invented
      const unique = new Map<string, Prediction>();
      for (const p of out.items) if (!unique.has(p.value.event_id)) unique.set(p.value.event_id, p.value);
      expect(unique.size).toBe(ids.size);
      for (const id of unique.keys()) expect(ids.has(id)).toBe(true);

      // each batch names one version
      const batchVersions = new Map<string, Set<number>>();
      for (const p of out.items) {
        expect(p.batch).toBeDefined();
        const set = batchVersions.get(p.batch!) ?? new Set<number>();
        set.add(p.value.model_version);
        batchVersions.set(p.batch!, set);
      }
      for (const set of batchVersions.values()) expect(set.size).toBe(1);

      // per partition, in input offset order: v1 … v1 then v2 … v2 (one switch, at a batch boundary)
      const inputOffset = new Map(
        inputs.items.map((m) => [m.value.event_id, { partition: m.partition, offset: m.offset }]),
      );
      const partitions = new Map<number, Array<{ offset: bigint; version: number; batch: string }>>();
      for (const p of out.items) {
        const at = inputOffset.get(p.value.event_id)!;
        const list = partitions.get(at.partition) ?? [];
        list.push({ offset: at.offset, version: p.value.model_version, batch: p.batch! });
        partitions.set(at.partition, list);
      }
      let switched = 0;
      for (const list of partitions.values()) {
        list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
        const versions = list.map((x) => x.version);
        const firstV2 = versions.indexOf(v2);
        expect(versions.slice(0, firstV2 === -1 ? undefined : firstV2).every((v) => v === v1)).toBe(true);
        if (firstV2 !== -1) {
          expect(versions.slice(firstV2).every((v) => v === v2)).toBe(true);
          if (firstV2 > 0) {
            switched++;
            expect(list[firstV2 - 1].batch).not.toBe(list[firstV2].batch);
          }
        }
      }
      expect(switched).toBeGreaterThan(0);
      const counts = [v1, v2].map((v) => [...unique.values()].filter((p) => p.model_version === v).length);
      expect(counts[0]).toBeGreaterThanOrEqual(5_000);
      expect(counts[1]).toBeGreaterThan(0);
      console.log(
        `[hot-swap] ${out.items.length} predictions, ${unique.size} unique, v1=${counts[0]} v2=${counts[1]}, ${batchVersions.size} batches, switch seen in ${switched} partitions`,
      );
      const metrics = await metricsText(service.url);
      expect(metrics).toMatch(/flywheel_inference_model_swaps_total\{[^}]*role="serving"[^}]*\} 2/);
      expect(metrics).toMatch(/flywheel_inference_model_info\{[^}]*version="2"[^}]*role="serving"[^}]*\} 1/);
    } finally {
      await out.stop();
      await inputs.stop();
    }
  });
});
