import type { Histogram } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { binCounts, quantileHistogram } from './stats';
import {
  type Calibration,
  calibrateThreshold,
  DriftTrigger,
  expectedRunLength,
  seededRandom,
  WindowCalibrations,
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

// calibration simulates thousands of windows: seconds of CPU, more on a busy machine
describe('calibrated drift trigger', { timeout: 60_000 }, () => {
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

  it("accounts for the baseline's own sampling error: small baselines keep the configured rate", () => {
    // 24 baselines of 2,000 training values each, windows of 500: the baseline's bin proportions are off by
    // ±0.7% (sd), comparable to a window's own ±1.3%; judged as if they were exact, windows exceed far more
    // often than alpha.
    const alpha = 0.05;
    const measure = (baselineUncertainty: boolean) => {
      let exceed = 0;
      let windows = 0;
      for (let b = 0; b < 24; b++) {
        const sample = normalSampler(500 + b);
        const small = quantileHistogram(
          'x',
          Array.from({ length: 2000 }, () => sample()),
          10,
        );
        const { threshold } = calibrateThreshold(small, {
          statistic: 'psi',
          windowSize: 500,
          ertSamples: 500 / alpha,
          simulations: 2000,
          seed: b,
          baselineUncertainty,
        });
        const live = normalSampler(900 + b);
        for (let w = 0; w < 60; w++) {
          const counts = binCounts(
            small.bin_edges,
            Array.from({ length: 500 }, () => live()),
          );
          if (windowStatistic('psi', small.counts, counts) > threshold) exceed++;
          windows++;
        }
      }
      return exceed / windows;
    };
    const exact = measure(false);
    const uncertain = measure(true);
    expect(exact).toBeGreaterThan(alpha * 2);
    expect(uncertain).toBeGreaterThan(alpha * 0.5);
    expect(uncertain).toBeLessThan(alpha * 1.5);
    console.info(
      `[trigger] stationary exceedance rate, alpha ${alpha}: exact baseline ${exact}, with uncertainty ${uncertain}`,
    );
  }, 60_000);

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

    it("judges a 'below' reading (a quality metric) as drifted when it falls under its threshold", () => {
      const t = new DriftTrigger({ consecutive: 1, minSamples: 1, cooldownMs: 0 });
      const auc = (value: number) => ({
        start: 0,
        end: 1,
        samples: 100,
        readings: [
          { detector: 'auc', feature: null, statistic: 'auc', value, threshold: 0.8, direction: 'below' as const },
        ],
      });
      expect(t.observe(auc(0.85)).fired).toBe(false);
      expect(t.observe(auc(Number.NaN)).fired).toBe(false);
      expect(t.observe(auc(0.7)).fired).toBe(true);
    });
  });

  describe('WindowCalibrations (windows closed by time hold fewer samples)', () => {
    const calibrations = new WindowCalibrations(baseline, {
      statistic: 'psi',
      windowSize: 2000,
      minSamples: 300,
      ertSamples: 1_000_000,
      consecutive: 2,
      simulations: 4000,
    });

    it('calibrates sizes windowSize, /2, /4 … down to minSamples and judges a window by the largest size ≤ its count', () => {
      expect(calibrations.sizes).toEqual([2000, 1000, 500, 300]);
      expect(calibrations.for(2000)?.windowSize).toBe(2000);
      expect(calibrations.for(1999)?.windowSize).toBe(1000);
      expect(calibrations.for(700)?.windowSize).toBe(500);
      expect(calibrations.for(300)?.windowSize).toBe(300);
      expect(calibrations.for(299)).toBeUndefined();
    }, 30_000);

    it('smaller windows get higher thresholds and the same false-alarm budget per sample', () => {
      const [full, half, quarter, smallest] = calibrations.sizes.map((m) => calibrations.for(m) as Calibration);
      expect(full.threshold).toBeLessThan(half.threshold);
      expect(half.threshold).toBeLessThan(quarter.threshold);
      expect(quarter.threshold).toBeLessThan(smallest.threshold);
      // expected run length in samples = the configured ERT for every size
      for (const c of [full, half, quarter, smallest]) {
        expect(expectedRunLength(c.windowAlpha, 2) * c.windowSize).toBeCloseTo(1_000_000, -1);
      }
    }, 30_000);
  });
});
