import { topics, withPrefix } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import { type ServiceProcess, startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, describe, expect, it } from 'vitest';
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
  startFakeModelSource,
  trainBundle,
} from './inference-harness';

describe('stream-inference: scaling by consumer group', () => {
  const env = testEnv();
  const started: ServiceProcess[] = [];
  const meshes: MeshClient[] = [];
  const sources: ModelSource[] = [];

  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    for (const s of sources) await s.close();
    for (const m of meshes) await m.close();
  });

  const setUp = async (prefix: string) => {
    const mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    meshes.push(mesh);
    // Kept on the fake source: this test is about the consumer group, not where models come from, and a
    // registry process per scenario would compete for the 2 cores with the 3 instances being rebalanced.
    // The real registry path is covered by stream-inference, hot-swap and shadow tests.
    const source = await startFakeModelSource(mesh, prefix);
    sources.push(source);
    await source.promote(await source.register(await trainBundle(7)));
    const start = async (instance: string) => {
      const s = await startServiceProcess('stream-inference', {
        env: serviceEnv(env, prefix, source.url, { INSTANCE_ID: instance }),
      });
      started.push(s);
      return s;
    };
    return { mesh, source, start };
  };

  it('1 → 2 → 3 instances, one SIGKILLed, one stopped, on 6 partitions: every event scored exactly once after dedupe', async () => {
    const prefix = testPrefix('scale');
    const { mesh, start } = await setUp(prefix);
    const out = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
    try {
      const a = await start('inst-a');
      // a paced stream (~2,000 vectors/s) that flows until the membership changes below are done
      const produced: string[] = [];
      let streaming = true;
      const stream = (async () => {
        for (let round = 0; streaming; round++) {
          const t = Date.now();
          const chunk = makeVectors(200, 10_000 + round, '3', 500);
          await produceVectors(mesh, prefix, chunk, 200);
          for (const v of chunk) produced.push(v.event_id);
          const spent = Date.now() - t;
          if (spent < 100) await new Promise((r) => setTimeout(r, 100 - spent)); // pacing, not waiting for a fact
        }
      })();
      const scoredBy = (instance: string, atLeast = 1) =>
        waitUntil(() => out.items.filter((p) => p.value.instance === instance).length >= atLeast, {
          timeoutMs: 120_000,
          message: `${instance} scored ${atLeast}`,
        });
      await scoredBy('inst-a', 2_000);
      const b = await start('inst-b'); // 1 → 2
      await scoredBy('inst-b');
      const c = await start('inst-c'); // 2 → 3
      await scoredBy('inst-c');
      await b.kill(); // SIGKILL mid-stream: its uncommitted batches are redelivered to the others
      const afterKill = out.items.length;
      await waitUntil(() => out.items.length >= afterKill + 4_000, { timeoutMs: 120_000, message: 'scoring went on' });
      await c.stop(); // graceful: finishes its batch, leaves the group → back to 1
      const afterStop = out.items.length;
      await waitUntil(() => out.items.length >= afterStop + 2_000, { timeoutMs: 120_000, message: 'a alone again' });
      streaming = false;
      await stream;
      const ids = new Set(produced);
      await waitUntil(() => new Set(out.items.map((p) => p.value.event_id)).size >= ids.size, {
        timeoutMs: 180_000,
        message: 'every event scored after the rebalances',
      });
      const unique = new Set(out.items.map((p) => p.value.event_id));
      expect(unique.size).toBe(ids.size);
      for (const id of unique) expect(ids.has(id)).toBe(true);
      const byInstance = new Map<string, number>();
      for (const p of out.items) byInstance.set(p.value.instance, (byInstance.get(p.value.instance) ?? 0) + 1);
      expect([...byInstance.keys()].sort()).toEqual(['inst-a', 'inst-b', 'inst-c']);
      console.log(
        `[scaling] ${out.items.length} predictions for ${unique.size} events (${out.items.length - unique.size} duplicates after SIGKILL/rebalance); by instance ${JSON.stringify(Object.fromEntries(byInstance))}`,
      );
      expect((await fetch(`${a.url}/health/ready`)).status).toBe(200);
    } finally {
      await out.stop();
    }
  });

  it('an instance beyond the partition count idles and says so in a metric', async () => {
    const prefix = testPrefix('idle');
    // a 1-partition vectors topic, created before ensureTopics (which leaves existing topics alone)
    const admin = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'idle-test' }).admin();
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic: withPrefix(prefix, topics.featureVectors), numPartitions: 1 }],
      waitForLeaders: true,
    });
    await admin.disconnect();
    const { mesh, start } = await setUp(prefix);
    const first = await start('idle-a');
    const second = await start('idle-b');
    const idle = async (s: ServiceProcess) => /flywheel_inference_idle\{[^}]*\} 1/.test(await metricsText(s.url));
    await waitUntil(async () => (await idle(first)) !== (await idle(second)), {
      timeoutMs: 60_000,
      message: 'exactly one of two instances idle on a 1-partition topic',
    });
    const out = await collect<Prediction>(mesh, withPrefix(prefix, topics.predictions));
    try {
      const vectors = makeVectors(300, 99);
      await produceVectors(mesh, prefix, vectors);
      await waitUntil(() => new Set(out.items.map((p) => p.value.event_id)).size >= vectors.length, {
        timeoutMs: 60_000,
      });
      const busy = (await idle(first)) ? 'idle-b' : 'idle-a';
      expect(new Set(out.items.map((p) => p.value.instance))).toEqual(new Set([busy]));
    } finally {
      await out.stop();
    }
  });
});
