import { randomUUID } from 'node:crypto';
import {
  type Baseline,
  type DriftReport,
  type FeatureVector,
  type Label,
  type Prediction,
  type RetrainRequested,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { createKafkaClient, type FlywheelProducer } from '@flywheel/kafka';
import { quantileHistogram, seededRandom } from '@flywheel/ml';
import { type ServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { type MonitorBed, type RegistryStub, startMonitorBed } from './monitor-harness';

const MODEL = 'payments-fraud';
const FEATURE_SET_VERSION = '3';
const WINDOW = 500;
const normal = (random: () => number) => () =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** The baseline a trainer would have written: quantile histograms of N(0,1) features and of U³ scores. */
function makeBaseline(): Baseline {
  const n = normal(seededRandom(101));
  const random = seededRandom(102);
  return {
    features: ['amount_z', 'velocity_z', 'distance_z'].map((name) =>
      quantileHistogram(name, Array.from({ length: 50_000 }, n), 10),
    ),
    score: quantileHistogram(
      'score',
      Array.from({ length: 50_000 }, () => random() ** 3),
      10,
    ),
  };
}

describe('monitor: drift windows, calibrated trigger, retrain requests', () => {
  const env = testEnv();
  const prefix = testPrefix('monitor');
  const baseline = makeBaseline();
  const kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'monitor-test' });
  let producer: FlywheelProducer;
  let registry: RegistryStub;
  let service: ServiceProcess;
  let reports: { items: DriftReport[]; consumer: Consumer };
  let requests: { items: RetrainRequested[]; consumer: Consumer };
  let seq = 0;

  /** `windows` windows of vectors, their predictions (scores ~ U³) and labels; feature b shifted by `shift`. */
  async function produceTraffic(windows: number, seed: number, shift: number): Promise<void> {
    const n = normal(seededRandom(seed));
    const random = seededRandom(seed + 1);
    for (let w = 0; w < windows; w++) {
      const now = Date.now();
      const vectors: FeatureVector[] = [];
      const predictions: Prediction[] = [];
      const labels: Label[] = [];
      for (let i = 0; i < WINDOW; i++) {
        const entity = `acct-${seq % 41}`;
        const event_id = randomUUID();
        seq++;
        vectors.push({
          event_id,
          entity,
          event_time: now,
          feature_set: 'payments',
          feature_set_version: FEATURE_SET_VERSION,
          features: { amount_z: n(), velocity_z: n() + shift, distance_z: n() },
        });
        const score = random() ** 3;
        predictions.push({
          event_id,
          entity,
          event_time: now,
          scored_time: now,
          score,
          decision: score >= 0.5 ? 'DECLINE' : 'APPROVE',
          threshold: 0.5,
          review_threshold: null,
          model_name: MODEL,
          model_version: 1,
          feature_set_version: FEATURE_SET_VERSION,
          latency_ms: 1,
          instance: 'test',
        });
        labels.push({
          event_id,
          account_id: entity,
          is_fraud: random() < score,
          label_time: now,
          source: 'test',
          reason: null,
        });
      }
      await producer.send(
        withPrefix(prefix, topics.featureVectors),
        vectors.map((v) => ({ key: v.entity, value: v })),
      );
      await producer.send(
        withPrefix(prefix, topics.predictions),
        predictions.map((p) => ({ key: p.entity, value: p })),
      );
      await producer.send(
        withPrefix(prefix, topics.labels),
        labels.map((l) => ({ key: l.account_id, value: l })),
      );
    }
  }

  let bed: MonitorBed;

  beforeAll(async () => {
    bed = await startMonitorBed({
      kafka,
      prefix,
      model: MODEL,
      version: { feature_set_version: FEATURE_SET_VERSION, baseline },
      env: {
        DRIFT_WINDOW_SIZE: String(WINDOW),
        DRIFT_CONSECUTIVE: '2',
        DRIFT_ERT_SAMPLES: '100000000',
        DRIFT_MIN_SAMPLES: '100',
        DRIFT_COOLDOWN_MS: '3600000',
        DRIFT_PROMOTION_COOLDOWN_MS: '0',
        LOG_LEVEL: 'info',
      },
    });
    ({ producer, registry, service, reports, requests } = bed);
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('stationary traffic: a report per window, live quality, no retrain request', async () => {
    await produceTraffic(20, 1, 0);
    await waitUntil(() => reports.items.length >= 20, { timeoutMs: 90_000, message: '20 drift reports' });
    expect(registry.hits()).toBe(1);
    expect(reports.items).toHaveLength(20);
    for (const r of reports.items) {
      expect(r).toMatchObject({ model_name: MODEL, model_version: 1, window: { samples: WINDOW } });
      expect(r.features.map((f) => f.feature)).toEqual(['amount_z', 'velocity_z', 'distance_z']);
    }
    // labels join predictions (they were produced after them): live quality present on later reports
    const last = reports.items[reports.items.length - 1];
    expect(last.quality?.labelled_samples).toBeGreaterThan(0);
    expect(last.quality?.auc).toBeGreaterThan(0.6);

    const current = await fetch(`${service.url}/v1/drift`);
    expect(current.status).toBe(200);
    expect(((await current.json()) as DriftReport).model_version).toBe(1);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_monitor_psi\{model="payments-fraud",version="1",feature="velocity_z"[^}]*\} \d/);
    expect(metrics).toMatch(/flywheel_monitor_ks\{model="payments-fraud",version="1",feature="_score"[^}]*\} \d/);
    expect(metrics).toMatch(/flywheel_monitor_auc\{model="payments-fraud",version="1"[^}]*\} 0\.\d+/);
    expect(requests.items).toHaveLength(0);
    expect(metrics).not.toMatch(/flywheel_monitor_retrain_requests_total\{[^}]*\} [1-9]/);
  });

  it('a shifted feature raises exactly one retrain request (cooldown) naming the feature', async () => {
    await produceTraffic(10, 2, 0.7);
    await waitUntil(() => reports.items.length >= 30, { timeoutMs: 90_000, message: '30 drift reports' });
    await waitUntil(() => requests.items.length >= 1, { timeoutMs: 30_000, message: 'a retrain request' });
    // every shifted window is evaluated (30 reports); only one request, the rest fall in the cooldown
    expect(requests.items).toHaveLength(1);
    const [request] = requests.items;
    expect(request).toMatchObject({ model_name: MODEL, model_version: 1, reason: 'DRIFT', requested_by: 'monitor' });
    expect(request.evidence.map((e) => e.feature)).toEqual(['velocity_z']);
    expect(request.evidence[0].value).toBeGreaterThan(request.evidence[0].threshold);
    expect(request.evidence[0].samples).toBe(2 * WINDOW);
    const shifted = reports.items.slice(20);
    expect(shifted.every((r) => r.features.find((f) => f.feature === 'velocity_z')?.drifted)).toBe(true);
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    expect(metrics).toMatch(
      /flywheel_monitor_retrain_requests_total\{model="payments-fraud",reason="DRIFT"[^}]*\} 1\n/,
    );
  });
});
