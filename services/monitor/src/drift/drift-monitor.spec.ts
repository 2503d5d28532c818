import type { Baseline, FeatureVector, Label, Prediction } from '@flywheel/contracts';
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
  windowSpanMs: 0,
  ertSamples: 100_000_000,
  consecutive: 2,
  minSamples: 100,
  cooldownMs: 3_600_000,
  promotionCooldownMs: 0,
  qualityWindow: 1000,
  qualityMargin: 0.05,
  qualityMinClassSamples: 20,
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

// calibration simulates thousands of windows: seconds of CPU, more on a busy machine
describe('DriftMonitor', { timeout: 60_000 }, () => {
  const baseline = makeBaseline();

  it('stays quiet on stationary data and requests once, naming the feature, when b shifts', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
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
    monitor.watch({ version: 1, featureSetVersion: '4', baseline });
    expect(monitor.addVectors(vectors(300, 1, 0, 0))).toHaveLength(0);
    expect(monitor.counters.vectorsSkipped).toBe(600);
  });

  it('joins labels to predictions by event_id in either order and reports live quality', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
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
    expect(monitor.joinCounters.joined).toBe(400);
    expect(monitor.counters.predictionsSkipped).toBe(1);
    const [report] = monitor.addVectors(vectors(200, 3, 0, 5000));
    expect(report.report.quality?.labelled_samples).toBe(400);
    expect(report.report.quality?.auc).toBeCloseTo(auc(scores, labels)!, 12);
    expect(report.report.quality?.positives).toBe(labels.filter(Boolean).length);
    expect(report.report.score.ks_statistic).toBeGreaterThan(0);
  });

  it('requests a retrain on sustained score drift (KS on the score), with the score as evidence', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
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

describe('DriftMonitor cooldowns (regressions)', { timeout: 60_000 }, () => {
  const baseline = makeBaseline();
  const MINUTE = 60_000;

  it('counts the post-promotion cooldown in event time, so replayed traffic is judged on its own clock', () => {
    // A monitor catching up on yesterday's traffic when the promotion (its lifecycle event stamped now, wall clock)
    // is applied: the cooldown must cover the first 15 min of the traffic's own time, not last until now + 15 min.
    const monitor = new DriftMonitor({ ...options, promotionCooldownMs: 15 * MINUTE });
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
    const yesterday = Date.now() - 86_400_000;
    // vectors 1 s apart in event time (4,000 s, so one request cooldown of 1 h follows the first request)
    const shifted = vectors(20 * 200, 9, 0.8, 0).map((v, i) => ({ ...v, event_time: yesterday + i * 1000 }));
    const evaluations = monitor.addVectors(shifted);
    const fired = evaluations.flatMap((e, w) => (e.retrain ? [w] : []));
    expect(fired).toHaveLength(1);
    // window w holds vectors [200w, 200w + 200) and ends at 200w + 199 s: windows 0–3 end inside the 900 s
    // cooldown, window 4 is the first judged, and k = 2 drifted windows in a row fire on window 5
    expect(fired[0]).toBe(4 + options.consecutive - 1);
  });

  it('a score request does not hide a following feature request (separate cooldown per detector kind)', () => {
    const monitor = new DriftMonitor(options);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
    const random = seededRandom(6);
    const scoreEvaluations = monitor.addPredictions(
      Array.from({ length: 400 }, (_, i) => prediction(`u${i}`, random(), 1000 + i)),
    );
    expect(scoreEvaluations.map((e) => e.retrain?.evidence.map((x) => x.detector))).toEqual([['ks:score']]);
    // b shifts a few seconds later, well within the one-hour cooldown of the score request
    const featureEvaluations = monitor.addVectors(vectors(10 * 200, 8, 0.8, 2000));
    const requests = featureEvaluations.flatMap((e) => (e.retrain ? [e.retrain] : []));
    expect(requests).toHaveLength(1);
    expect(requests[0].evidence.map((e) => e.feature)).toEqual(['b']);
    // the score kind is still cooling down: more drifted scores raise nothing
    const again = monitor.addPredictions(
      Array.from({ length: 800 }, (_, i) => prediction(`v${i}`, random(), 3000 + i)),
    );
    expect(again.filter((e) => e.retrain)).toHaveLength(0);
  });
});

describe('DriftMonitor time-limited windows', { timeout: 60_000 }, () => {
  const baseline = makeBaseline();
  const timed: DriftMonitorOptions = { ...options, windowSpanMs: 60_000, minSamples: 100 };

  /** `perMinute` vectors per minute of event time for `minutes` minutes, feature b shifted by `shiftB`. */
  function sparse(perMinute: number, minutes: number, shiftB: number, seed: number): FeatureVector[] {
    const step = 60_000 / perMinute;
    return vectors(perMinute * minutes, seed, shiftB, 0).map((v, i) => ({ ...v, event_time: 1_000_000 + i * step }));
  }

  it('closes windows by event time when traffic is sparse and judges them with the calibration of their size', () => {
    const monitor = new DriftMonitor(timed);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
    const quiet = monitor.addVectors(sparse(150, 30, 0, 21));
    // a window per minute of event time (the 30th stays open), 150 samples each, no request
    expect(quiet).toHaveLength(29);
    expect(quiet.every((e) => e.report.window.samples === 150 && !e.retrain)).toBe(true);
    const shifted = monitor.addVectors(
      sparse(150, 10, 0.8, 22).map((v) => ({ ...v, event_time: v.event_time + 1_800_000 })),
    );
    const requests = shifted.flatMap((e) => (e.retrain ? [e.retrain] : []));
    expect(requests).toHaveLength(1);
    expect(requests[0].evidence).toEqual([expect.objectContaining({ feature: 'b', samples: 2 * 150 })]);
    // judged against the threshold calibrated for 100-sample windows (the largest calibrated size ≤ 150)
    const b = monitor.version?.features.find((f) => f.histogram.name === 'b');
    expect(requests[0].evidence[0].threshold).toBe(b?.calibrations.for(150)?.threshold);
    expect(b?.calibrations.for(150)?.windowSize).toBe(100);
    expect(requests[0].evidence[0].threshold).toBeGreaterThan(b?.calibrations.full.threshold ?? Infinity);
  });

  it('reports windows with fewer than DRIFT_MIN_SAMPLES samples but never requests on them', () => {
    const monitor = new DriftMonitor(timed);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline });
    const evaluations = monitor.addVectors(sparse(50, 20, 1.5, 23));
    expect(evaluations).toHaveLength(19);
    expect(evaluations.every((e) => e.report.window.samples === 50)).toBe(true);
    expect(evaluations.filter((e) => e.retrain)).toHaveLength(0);
    expect(evaluations.every((e) => e.report.features.every((f) => !f.drifted))).toBe(true);
  });
});

describe('DriftMonitor quality trigger (live AUC from labels)', { timeout: 60_000 }, () => {
  const baseline = makeBaseline();
  const quality: DriftMonitorOptions = { ...options, qualityWindow: 1000 };

  /**
   * Predictions with scores ~ U³ (the baseline's: no score drift) and their labels. Stationary: fraud with
   * probability = score (a calibrated model). Concept drift: fraud with the probability of an unrelated U³
   * draw: the same base rate and the same scores, but the scores no longer rank fraud.
   */
  function traffic(count: number, seed: number, concept: boolean, t0: number) {
    const random = seededRandom(seed);
    const predictions: Prediction[] = [];
    const labels: Label[] = [];
    for (let i = 0; i < count; i++) {
      const score = random() ** 3;
      const p = concept ? random() ** 3 : score;
      predictions.push(prediction(`q${seed}-${i}`, score, t0 + i));
      labels.push({
        event_id: `q${seed}-${i}`,
        account_id: 'acct',
        is_fraud: random() < p,
        label_time: t0 + i + 1,
        source: 't',
        reason: null,
      });
    }
    return { predictions, labels };
  }

  function holdoutAuc(): number {
    const { predictions, labels } = traffic(50_000, 99, false, 0);
    return auc(
      predictions.map((p) => p.score),
      labels.map((l) => l.is_fraud),
    ) as number;
  }

  function feed(monitor: DriftMonitor, batch: ReturnType<typeof traffic>) {
    const out = [];
    for (let i = 0; i < batch.predictions.length; i += 500) {
      out.push(...monitor.addPredictions(batch.predictions.slice(i, i + 500)));
      out.push(...monitor.addLabels(batch.labels.slice(i, i + 500)));
    }
    return out;
  }

  it('detects concept drift in the labels only: scores unchanged, live AUC below the holdout AUC → QUALITY request', () => {
    const monitor = new DriftMonitor(quality);
    const holdout = holdoutAuc();
    monitor.watch({ version: 1, featureSetVersion: '3', baseline, metrics: { auc: holdout } });
    expect(monitor.version?.quality?.holdoutAuc).toBe(holdout);
    const stationary = feed(monitor, traffic(20_000, 31, false, 0));
    expect(stationary.filter((e) => e.retrain)).toHaveLength(0);
    expect(monitor.windowsEvaluated.quality).toBe(20);
    const drifted = feed(monitor, traffic(5_000, 32, true, 100_000));
    const requests = drifted.flatMap((e) => (e.retrain ? [e.retrain] : []));
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request.reason).toBe('QUALITY');
    expect(request.evidence).toHaveLength(1);
    const [evidence] = request.evidence;
    expect(evidence).toMatchObject({ detector: 'auc:quality', feature: null, statistic: 'auc', samples: 2 * 1000 });
    expect(evidence.value).toBeLessThan(evidence.threshold);
    expect(evidence.threshold).toBeLessThan(holdout - quality.qualityMargin);
    // the distributions did not move: no score request, and the score windows were judged quiet
    expect(drifted.some((e) => e.retrain?.reason === 'DRIFT')).toBe(false);
    expect(monitor.report?.score.drifted).toBe(false);
    // fired on the second window after the switch (k = 2), i.e. within 2,000 labelled events
    expect(evidence.window_start).toBeGreaterThanOrEqual(100_000);
    expect(evidence.window_end).toBeLessThan(100_000 + 2 * 1000);
  });

  it('is off when the Production version has no holdout AUC', () => {
    const monitor = new DriftMonitor(quality);
    monitor.watch({ version: 1, featureSetVersion: '3', baseline, metrics: { log_loss: 0.3 } });
    expect(monitor.version?.quality).toBeNull();
    const drifted = feed(monitor, traffic(5_000, 33, true, 0));
    expect(drifted.filter((e) => e.retrain)).toHaveLength(0);
    expect(monitor.report).toBeUndefined(); // no feature window here, and nothing fired
  });

  it('never judges a quality window without enough positives and negatives', () => {
    const monitor = new DriftMonitor({ ...quality, qualityMinClassSamples: 400 });
    monitor.watch({ version: 1, featureSetVersion: '3', baseline, metrics: { auc: holdoutAuc() } });
    // ~25% positives: ~250 per window of 1,000 < 400
    const drifted = feed(monitor, traffic(5_000, 34, true, 0));
    expect(monitor.windowsEvaluated.quality).toBe(5);
    expect(drifted.filter((e) => e.retrain)).toHaveLength(0);
  });
});
