import type { Baseline, FeatureVector, Prediction } from '@flywheel/contracts';
import { auc, quantileHistogram, seededRandom } from '@flywheel/ml';
import { describe, expect, it } from 'vitest';
import { DriftMonitor, type DriftMonitorOptions } from './drift-monitor';

const normal = (random: () => number) => () =>
  Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

function makeBaseline(): Baseline {
  const n = normal(seededRandom(1));
  const random = seededRandom(2);
  return {
    features: [
      quantileHistogram('a', Array.from({ length: 50_000 }, n), 10),
      quantileHistogram('b', Array.from({ length: 50_000 }, n), 10),
    ],
    score: quantileHistogram(
      'score',
      Array.from({ length: 50_000 }, () => random() ** 3),
      10,
    ),
  };
}

const options: DriftMonitorOptions = {
  modelName: 'm',
  windowSize: 200,
  ertSamples: 100_000_000,
  consecutive: 2,
  minSamples: 100,
  cooldownMs: 3_600_000,
  promotionCooldownMs: 0,
  qualityWindow: 1000,
  labelHorizonMs: 3_600_000,
  maxPendingJoins: 10_000,
  simulations: 20_000,
};

function vectors(count: number, seed: number, shiftB: number, t0: number): FeatureVector[] {
  const n = normal(seededRandom(seed));
  return Array.from({ length: count }, (_, i) => ({
    event_id: `e-${seed}-${i}`,
    entity: 'acct',
    event_time: t0 + i,
    feature_set: 'payments',
    feature_set_version: '3',
    features: { a: n(), b: n() + shiftB },
  }));
}

function prediction(id: string, score: number, t: number, version = 1): Prediction {
  return {
    event_id: id,
    entity: 'acct',
    event_time: t,
    scored_time: t,
    score,
    decision: 'APPROVE',
    threshold: 0.5,
    review_threshold: null,
    model_name: 'm',
    model_version: version,
    feature_set_version: '3',
    latency_ms: 1,
    instance: 'x',
  };
}

describe('DriftMonitor', () => {
  const baseline = makeBaseline();

  it('stays quiet on stationary data and requests once, naming the feature, when b shifts', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch(1, '3', baseline, 0);
    const stationary = monitor.addVectors(vectors(100 * 200, 7, 0, 1000));
    expect(stationary).toHaveLength(100);
    expect(stationary.filter((e) => e.retrain)).toHaveLength(0);
    expect(monitor.report?.window.samples).toBe(200);
    expect(monitor.report?.features.map((f) => f.feature)).toEqual(['a', 'b']);

    const shifted = monitor.addVectors(vectors(20 * 200, 8, 0.6, 100_000));
    const requests = shifted.flatMap((e) => (e.retrain ? [e.retrain] : []));
    expect(requests).toHaveLength(1); // cooldown: one hour of event time, the shifted phase lasts 4 s
    expect(shifted.findIndex((e) => e.retrain)).toBeLessThanOrEqual(options.consecutive);
    const request = requests[0];
    expect(request).toMatchObject({ model_name: 'm', model_version: 1, reason: 'DRIFT', requested_by: 'monitor' });
    expect(request.evidence.map((e) => e.feature)).toEqual(['b']);
    expect(request.evidence[0].value).toBeGreaterThan(request.evidence[0].threshold);
    expect(request.evidence[0].samples).toBe(2 * 200);
    expect(monitor.report?.features.find((f) => f.feature === 'b')?.drifted).toBe(true);
  });

  it('skips vectors of another feature-set version and before any Production version', () => {
    const monitor = new DriftMonitor(options);
    expect(monitor.addVectors(vectors(300, 1, 0, 0))).toHaveLength(0);
    monitor.watch(1, '4', baseline, 0);
    expect(monitor.addVectors(vectors(300, 1, 0, 0))).toHaveLength(0);
    expect(monitor.counters.vectorsSkipped).toBe(600);
  });

  it('joins labels to predictions by event_id in either order and reports live quality', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch(1, '3', baseline, 0);
    const random = seededRandom(4);
    const scores: number[] = [];
    const labels: boolean[] = [];
    const preds: Prediction[] = [];
    for (let i = 0; i < 400; i++) {
      const s = random() ** 3; // the baseline's score distribution: no score drift
      scores.push(s);
      labels.push(random() < s);
      preds.push(prediction(`p${i}`, s, 1000 + i));
    }
    const asLabel = (i: number) => ({
      event_id: `p${i}`,
      account_id: 'acct',
      is_fraud: labels[i],
      label_time: 2000 + i,
      source: 't',
      reason: null,
    });
    // half the labels arrive before their prediction
    monitor.addLabels(labels.slice(0, 200).map((_, i) => asLabel(i)));
    const evaluations = monitor.addPredictions([...preds, prediction('other', 0.5, 1000, 2)]);
    monitor.addLabels(labels.slice(200).map((_, i) => asLabel(200 + i)));
    expect(evaluations).toHaveLength(0);
    expect(monitor.counters.labelsJoined).toBe(400);
    expect(monitor.counters.predictionsSkipped).toBe(1);
    const [report] = monitor.addVectors(vectors(200, 3, 0, 5000));
    expect(report.report.quality?.labelled_samples).toBe(400);
    expect(report.report.quality?.auc).toBeCloseTo(auc(scores, labels)!, 12);
    expect(report.report.quality?.positives).toBe(labels.filter(Boolean).length);
    expect(report.report.score.ks_statistic).toBeGreaterThan(0);
  });

  it('requests a retrain on sustained score drift (KS on the score), with the score as evidence', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch(1, '3', baseline, 0);
    const random = seededRandom(6);
    // uniform scores where the baseline is U³: two windows in a row over the threshold
    const evaluations = monitor.addPredictions(Array.from({ length: 400 }, (_, i) => prediction(`s${i}`, random(), i)));
    expect(evaluations).toHaveLength(1);
    expect(evaluations[0].retrain?.evidence).toEqual([
      expect.objectContaining({ detector: 'ks:score', feature: null, statistic: 'ks', samples: 400 }),
    ]);
    expect(evaluations[0].report.score.drifted).toBe(true);
  });
});
