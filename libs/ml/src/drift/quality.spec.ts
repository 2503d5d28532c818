import { describe, expect, it } from 'vitest';
import { normalCdf, normalQuantile } from './distributions';
import { aucStandardError, qualityThreshold } from './quality';
import { auc } from './stats';
import { seededRandom } from './trigger';

describe('normal distribution', () => {
  it('Φ⁻¹ at well-known quantiles (values as scipy.stats.norm.ppf prints them)', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 12);
    expect(normalQuantile(0.95)).toBeCloseTo(1.6448536269514722, 12);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232306167813, 11);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 10);
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(() => normalQuantile(1.5)).toThrow(RangeError);
  });

  it('Φ and Φ⁻¹ invert each other across the tails', () => {
    for (const p of [1e-12, 1e-5, 0.01, 0.02425, 0.3, 0.7, 0.97575, 0.999, 1 - 1e-9]) {
      expect(normalCdf(normalQuantile(p))).toBeCloseTo(p, 14);
    }
    expect(normalCdf(-1.959963984540054)).toBeCloseTo(0.025, 15);
  });
});

// calibration simulates thousands of windows: seconds of CPU, more on a busy machine
describe('quality detector', { timeout: 60_000 }, () => {
  it('Hanley–McNeil standard error, worked by hand', () => {
    // A = 0.9, 50/50: Q1 = 0.9/1.1 = 0.818182, Q2 = 1.62/1.9 = 0.852632, A² = 0.81;
    // Var = (0.09 + 49·0.008182 + 49·0.042632) / 2500 = 2.579855 / 2500 → SE = 0.0321238
    expect(aucStandardError(0.9, 50, 50)).toBeCloseTo(0.0321238, 6);
    // A = 0.5, 100/100: Q1 = 1/3, Q2 = 1/3, A² = 0.25; Var = (0.25 + 198/12) / 10000 → SE = 0.0409268
    expect(aucStandardError(0.5, 100, 100)).toBeCloseTo(Math.sqrt((0.25 + 198 / 12) / 10_000), 12);
    // more samples, smaller error; perfect separation, none
    expect(aucStandardError(0.8, 400, 4000)).toBeLessThan(aucStandardError(0.8, 40, 400));
    expect(aucStandardError(1, 10, 10)).toBe(0);
  });

  it('threshold = holdout − margin − z(1−α)·SE', () => {
    const t = qualityThreshold({ holdoutAuc: 0.9, margin: 0.05, windowAlpha: 0.025, positives: 50, negatives: 50 });
    expect(t).toBeCloseTo(0.9 - 0.05 - 1.959963984540054 * aucStandardError(0.9, 50, 50), 12);
  });

  it('on stationary labels a window falls below the margin-free threshold at about the per-window alpha', () => {
    // a calibrated model: score ~ U(0,1)², fraud with probability = score; the true AUC from 200k samples
    const random = seededRandom(77);
    const draw = (n: number) => {
      const scores = Array.from({ length: n }, () => random() ** 2);
      return { scores, labels: scores.map((s) => random() < s) };
    };
    const big = draw(200_000);
    const trueAuc = auc(big.scores, big.labels) as number;
    const alpha = 0.05;
    const windows = 2000;
    let below = 0;
    for (let w = 0; w < windows; w++) {
      const { scores, labels } = draw(500);
      const positives = labels.filter(Boolean).length;
      const threshold = qualityThreshold({
        holdoutAuc: trueAuc,
        margin: 0,
        windowAlpha: alpha,
        positives,
        negatives: 500 - positives,
      });
      if ((auc(scores, labels) as number) < threshold) below++;
    }
    // Hanley–McNeil is an approximation (exact for exponential score distributions): within ±40% of alpha here
    expect(below / windows).toBeGreaterThan(alpha * 0.6);
    expect(below / windows).toBeLessThan(alpha * 1.4);
    console.info(`[quality] measured per-window rate ${(below / windows).toFixed(4)} for alpha ${alpha}`);
  });
});
