import { randomUUID } from 'node:crypto';
import { type DriftReport, type RetrainRequested, topics, withPrefix } from '@flywheel/contracts';
import { createKafkaClient, type FlywheelProducer } from '@flywheel/kafka';
import { type ServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { DRIFT_FEATURE_SET_VERSION, DRIFT_MODEL, trafficMessages, trafficRows, trainedFacts } from './drift-traffic';
import { type MonitorBed, startMonitorBed } from './monitor-harness';

const EVENTS = 100_000;
// 10,000 s of event time; a catching-up consumer reads ~1,000 events of one partition at a time (~600 s of event
// time here), well within the 1 h time limit, so windows close by count as they would live
const STEP_MS = 100;
const CHUNK = 2_000;

/** Sum of a counter's samples with the given label values in a Prometheus text exposition. */
function counter(metrics: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}

/**
 * The "no false alarm": 100,000 stationary events (vector, prediction, label each) produced straight to
 * the monitor's input topics, the monitor a real process with the default trigger configuration (windows of
 * 2,000, ERT 10M samples, k = 3, quality windows of 5,000 labels against the holdout AUC; only the
 * post-promotion cooldown is 0, so every window is judged): no retrain request.
 */
describe('monitor: no retrain request over 100,000 stationary events (default trigger config)', () => {
  const env = testEnv();
  const prefix = testPrefix('nofa');
  const kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'no-false-alarm-test' });
  const facts = trainedFacts();
  let producer: FlywheelProducer;
  let service: ServiceProcess;
  let reports: { items: DriftReport[]; consumer: Consumer };
  let requests: { items: RetrainRequested[]; consumer: Consumer };

  let bed: MonitorBed;

  beforeAll(async () => {
    bed = await startMonitorBed({
      kafka,
      prefix,
      model: DRIFT_MODEL,
      version: { feature_set_version: DRIFT_FEATURE_SET_VERSION, ...facts },
      // every trigger setting at its default but the post-promotion cooldown, 0 so that no window is exempt
      env: { DRIFT_PROMOTION_COOLDOWN_MS: '0', LOG_LEVEL: 'warn' },
    });
    ({ producer, service, reports, requests } = bed);
  });

  afterAll(async () => {
    await bed?.stop();
  });

  it('judges every window and raises no retrain request', async () => {
    const next = trafficRows(2024);
    const t0 = Date.now() - EVENTS * STEP_MS - 3_600_000;
    const runId = randomUUID();
    const produced = Date.now();
    for (let start = 0; start < EVENTS; start += CHUNK) {
      const messages = Array.from({ length: CHUNK }, (_, j) =>
        trafficMessages(next(start + j), start + j, t0 + (start + j) * STEP_MS, runId),
      );
      await Promise.all([
        producer.send(
          withPrefix(prefix, topics.featureVectors),
          messages.map((m) => ({ key: m.vector.entity, value: m.vector })),
        ),
        producer.send(
          withPrefix(prefix, topics.predictions),
          messages.map((m) => ({ key: m.prediction.entity, value: m.prediction })),
        ),
        producer.send(
          withPrefix(prefix, topics.labels),
          messages.map((m) => ({ key: m.label.account_id, value: m.label })),
        ),
      ]);
    }
    const producedMs = Date.now() - produced;
    console.info(`[no-false-alarm] produced ${EVENTS} × 3 messages in ${producedMs} ms`);

    // 100,000 / 2,000 feature and score windows, 100,000 / 5,000 quality windows
    const expected = { features: EVENTS / 2_000, score: EVENTS / 2_000, quality: EVENTS / 5_000 };
    let metrics = '';
    const windows = (kind: string) =>
      counter(metrics, 'flywheel_monitor_windows_evaluated_total', { model: DRIFT_MODEL, kind });
    await waitUntil(
      async () => {
        metrics = await (await fetch(`${service.url}/metrics`)).text();
        return Object.entries(expected).every(([kind, n]) => windows(kind) >= n);
      },
      { timeoutMs: 120_000, intervalMs: 500, message: 'every window of the 100,000 events evaluated' },
    );
    const consumedMs = Date.now() - produced;
    await waitUntil(() => reports.items.length >= expected.features, { message: '50 drift reports' });

    expect({ features: windows('features'), score: windows('score'), quality: windows('quality') }).toEqual(expected);
    expect(reports.items).toHaveLength(expected.features);
    expect(reports.items.every((r) => r.window.samples === 2_000)).toBe(true);
    // live quality was measured against the holdout AUC (the quality detector is on and near its baseline)
    const quality = reports.items[reports.items.length - 1].quality;
    expect(quality?.labelled_samples).toBe(5_000);
    expect(Math.abs((quality?.auc ?? 0) - facts.metrics.auc)).toBeLessThan(0.05);

    expect(requests.items).toEqual([]);
    expect(counter(metrics, 'flywheel_monitor_retrain_requests_total', { model: DRIFT_MODEL })).toBe(0);
    // single drifted windows do happen (each detector's per-window alpha is ~3%); k = 3 in a row is what is rare
    const exceedances = reports.items.reduce((n, r) => n + r.features.filter((f) => f.drifted).length, 0);
    console.info(
      `[no-false-alarm] ${EVENTS} events: windows evaluated ${JSON.stringify(expected)}, ` +
        `feature windows over their threshold ${exceedances} of ${reports.items.length * facts.baseline.features.length}, ` +
        `retrain requests ${requests.items.length}; produced in ${producedMs} ms, all evaluated after ${consumedMs} ms`,
    );
  }, 170_000);
});
