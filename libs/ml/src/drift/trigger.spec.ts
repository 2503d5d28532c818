import type { Histogram } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { binCounts, quantileHistogram } from './stats';
import {
  type Calibration,
  calibrateThreshold,
  DriftTrigger,
  expectedRunLength,
  seededRandom,
  type WindowStatistic,
  windowAlphaFor,
  windowStatistic,
} from './trigger';

function normalSampler(seed: number): (mean?: number) => number {
  const random = seededRandom(seed);
  return (mean = 0) => {
    const u = 1 - random();
    return mean + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

const draw = normalSampler(2024);
const training = Array.from({ length: 200_000 }, () => draw());
const baseline: Histogram = quantileHistogram('amount_z', training, 10);

/**
 * Streams `windows` windows of fresh N(mean, 1) values (not drawn from the histogram: real values, binned on
 * the baseline edges) through a detector + trigger; returns exceedances and alarms.
 */
function stream(calibration: Calibration, windows: number, seed: number, mean = 0) {
  const sample = normalSampler(seed);
  const trigger = new DriftTrigger({ consecutive: calibration.consecutive, minSamples: 1, cooldownMs: 0 });
  const values = new Float64Array(calibration.windowSize);
  let exceedances = 0;
  const alarmsAt: number[] = [];
  for (let w = 0; w < windows; w++) {
    for (let i = 0; i < values.length; i++) values[i] = sample(mean);
    const value = windowStatistic(calibration.statistic, baseline.counts, binCounts(baseline.bin_edges, values));
    if (value > calibration.threshold) exceedances++;
    const decision = trigger.observe({
      start: w,
      end: w + 1,
      samples: values.length,
      readings: [
        {
          detector: 'x',
          feature: 'amount_z',
          statistic: calibration.statistic,
          value,
          threshold: calibration.threshold,
        },
      ],
    });
    if (decision.fired) alarmsAt.push(w);
  }
  return { exceedances, alarms: alarmsAt.length, alarmsAt };
}

describe('calibrated drift trigger', () => {
  it('solves the expected run length for k consecutive exceedances', () => {
    // fair coin: expected flips until two heads in a row = 6 (classic result)
    expect(expectedRunLength(0.5, 2)).toBeCloseTo(6, 12);
    expect(expectedRunLength(0.1, 1)).toBeCloseTo(10, 12);
    expect(windowAlphaFor(50, 1)).toBeCloseTo(0.02, 15);
    const p = windowAlphaFor(50, 2);
    expect(expectedRunLength(p, 2)).toBeCloseTo(50, 6);
    expect(p).toBeGreaterThan(0.02);
    expect(() => windowAlphaFor(2, 2)).toThrow(RangeError);
  });

  it('is deterministic for a seed', () => {
    const options = { statistic: 'psi' as const, windowSize: 100, ertSamples: 5000, seed: 7, simulations: 2000 };
    expect(calibrateThreshold(baseline, options).threshold).toBe(calibrateThreshold(baseline, options).threshold);
  });

  // 10 000 windows of 200 stationary values each; target ERT 50 windows (10 000 samples) → ~200 alarms.
  // Tolerances: alarms are a renewal count with sd ≈ sqrt(200) ≈ 14 (±25% ≈ 3.5 sd); the threshold's own
  // Monte-Carlo error with 20 000 simulations adds ~5%.
  const cases: { statistic: WindowStatistic; consecutive: number }[] = [
    { statistic: 'psi', consecutive: 1 },
    { statistic: 'psi', consecutive: 2 },
    { statistic: 'ks', consecutive: 1 },
  ];
  it.each(cases)(
    '$statistic, k = $consecutive: measured false-alarm rate on stationary data matches the configured ERT',
    ({ statistic, consecutive }) => {
      const windowSize = 200;
      const ertSamples = 50 * windowSize;
      const calibration = calibrateThreshold(baseline, {
        statistic,
        windowSize,
        ertSamples,
        consecutive,
        simulations: 20_000,
        seed: 3,
      });
      const windows = 10_000;
      const { exceedances, alarms } = stream(calibration, windows, 99 + consecutive);
      const expectedAlarms = windows / (ertSamples / windowSize);
      const exceedRate = exceedances / windows;
      // the grouped KS statistic is discrete (multiples of 1/windowSize), ties make it conservative
      const lowerFactor = statistic === 'ks' ? 0.5 : 0.75;
      expect(exceedRate).toBeLessThan(calibration.windowAlpha * 1.25);
      expect(exceedRate).toBeGreaterThan(calibration.windowAlpha * lowerFactor);
      expect(alarms).toBeLessThan(expectedAlarms * 1.25);
      expect(alarms).toBeGreaterThan(expectedAlarms * lowerFactor);
    },
  );

  it('detects a shifted distribution within a bounded number of windows', () => {
    const windowSize = 200;
    for (const statistic of ['psi', 'ks'] as const) {
      const calibration = calibrateThreshold(baseline, {
        statistic,
        windowSize,
        ertSamples: 1_000_000,
        consecutive: 3,
        seed: 5,
      });
      for (let trial = 0; trial < 10; trial++) {
        // a 0.5 sd mean shift from the first window on: fires at the k-th window, never later than k + 2
        const { alarmsAt } = stream(calibration, 5, 500 + trial, 0.5);
        expect(alarmsAt.length).toBeGreaterThan(0);
        expect(alarmsAt[0]).toBeLessThanOrEqual(calibration.consecutive + 1);
      }
      // and a stationary stream of the same length raises nothing at this (much lower) false-alarm rate
      expect(stream(calibration, 50, 777).alarms).toBe(0);
    }
  });

  describe('DriftTrigger', () => {
    const reading = (detector: string, value: number) => ({
      detector,
      feature: detector,
      statistic: 'psi',
      value,
      threshold: 0.2,
    });
    const window = (i: number, values: Record<string, number>, samples = 100) => ({
      start: i * 1000,
      end: (i + 1) * 1000,
      samples,
      readings: Object.entries(values).map(([d, v]) => reading(d, v)),
    });

    it('needs k consecutive drifted windows of the same detector', () => {
      const t = new DriftTrigger({ consecutive: 3, minSamples: 50, cooldownMs: 0 });
      expect(t.observe(window(0, { a: 0.3, b: 0.1 })).fired).toBe(false);
      expect(t.observe(window(1, { a: 0.3, b: 0.3 })).fired).toBe(false);
      expect(t.observe(window(2, { a: 0.1, b: 0.3 })).fired).toBe(false); // a's run broken
      const d = t.observe(window(3, { a: 0.3, b: 0.4 }));
      expect(d.fired).toBe(true);
      if (!d.fired) return;
      expect(d.evidence).toEqual([
        { ...reading('b', 0.4), window_start: 1000, window_end: 4000, samples: 100, run: 3 },
      ]);
    });

    it('ignores windows below the minimum sample count', () => {
      const t = new DriftTrigger({ consecutive: 2, minSamples: 50, cooldownMs: 0 });
      expect(t.observe(window(0, { a: 0.3 }))).toEqual({ fired: false, reason: 'drift-not-sustained' });
      expect(t.observe(window(1, { a: 9 }, 10))).toEqual({ fired: false, reason: 'too-few-samples' });
      expect(t.observe(window(2, { a: 0.3 })).fired).toBe(true);
    });

    it('stays quiet during the cooldown after firing or a reset', () => {
      const t = new DriftTrigger({ consecutive: 1, minSamples: 1, cooldownMs: 2500 });
      expect(t.observe(window(0, { a: 1 })).fired).toBe(true); // end 1000 → quiet until 3500
      expect(t.observe(window(1, { a: 1 }))).toEqual({ fired: false, reason: 'cooldown' });
      expect(t.observe(window(2, { a: 1 }))).toEqual({ fired: false, reason: 'cooldown' });
      expect(t.observe(window(3, { a: 1 })).fired).toBe(true); // end 4000 ≥ 3500
      t.reset(10_000);
      expect(t.observe(window(11, { a: 1 }))).toEqual({ fired: false, reason: 'cooldown' });
      expect(t.observe(window(12, { a: 1 })).fired).toBe(true);
    });
  });
});
