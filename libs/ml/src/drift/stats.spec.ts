import type { Histogram } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import {
  aucCases,
  chiSquaredCases,
  chiSquaredTable,
  eceCase,
  jsCases,
  kolmogorovTable,
  ks2Case,
  psiCases,
} from '../../test-fixtures/drift-reference';
import { chiSquaredSurvival, kolmogorovSurvival, regularizedGammaQ } from './distributions';
import {
  auc,
  binCounts,
  binIndex,
  chiSquaredGoodnessOfFit,
  chiSquaredIndependence,
  expectedCalibrationError,
  histogramCdf,
  jensenShannonDistance,
  ks2Sample,
  ksAgainstHistogram,
  precisionRecallAt,
  psi,
  psiFromCounts,
  quantileEdges,
  quantileHistogram,
} from './stats';
import { seededRandom } from './trigger';

// ---------------------------------------------------------------------------------------------------
// Independent reference implementations (deliberately naive).

/** Exact two-sample KS by brute force: ECDFs counted at every point of the pooled sample. */
function bruteKs2(a: number[], b: number[]): number {
  let d = 0;
  for (const x of [...a, ...b]) {
    const fa = a.filter((v) => v <= x).length / a.length;
    const fb = b.filter((v) => v <= x).length / b.length;
    d = Math.max(d, Math.abs(fa - fb));
  }
  return d;
}

/** Bin of x by a linear scan of the definition: [e_i, e_{i+1}), outer bins open-ended. */
function bruteBin(edges: number[], x: number): number {
  const bins = edges.length - 1;
  for (let i = bins - 1; i >= 1; i--) if (x >= edges[i]) return i;
  return 0;
}

/** PSI by the direct formula on explicit counts. */
function brutePsi(e: number[], a: number[], eps = 1e-4): number {
  const se = e.reduce((s, v) => s + v, 0);
  const sa = a.reduce((s, v) => s + v, 0);
  let out = 0;
  for (let i = 0; i < e.length; i++) {
    const pe = e[i] / se || eps;
    const pa = a[i] / sa || eps;
    out += (pa - pe) * Math.log(pa / pe);
  }
  return out;
}

/** AUC by O(n²) pair counting (ties ½). */
function bruteAuc(scores: number[], labels: number[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

/** Q(k, y) for integer k: e^-y Σ_{i<k} y^i / i! (closed form of the Poisson tail). */
function gammaQInteger(k: number, y: number): number {
  let term = 1;
  let sum = 1;
  for (let i = 1; i < k; i++) {
    term *= y / i;
    sum += term;
  }
  return Math.exp(-y) * sum;
}

/** P(χ²_1 > x) = 2(1 - Φ(√x)) by Simpson integration of the normal density from 0 to √x. */
function chi2Df1Survival(x: number): number {
  const z = Math.sqrt(x);
  const steps = 20_000;
  const h = z / steps;
  const f = (t: number) => Math.exp((-t * t) / 2) / Math.sqrt(2 * Math.PI);
  let s = f(0) + f(z);
  for (let i = 1; i < steps; i++) s += (i % 2 === 1 ? 4 : 2) * f(i * h);
  return 2 * (0.5 - (s * h) / 3);
}

/** Kolmogorov survival from the alternating series only (no small-x branch), many terms. */
function kolmogorovSeries(x: number): number {
  let s = 0;
  for (let k = 1; k < 2000; k++) s += (k % 2 === 1 ? 2 : -2) * Math.exp(-2 * k * k * x * x);
  return s;
}

/** sup |Fn - F0| for a sample against a histogram CDF, by evaluating at every sample point ± δ and a fine grid. */
function bruteKsHistogram(h: Histogram, sample: number[]): number {
  const n = sample.length;
  const fn = (x: number) => sample.filter((v) => v <= x).length / n;
  const points: number[] = [];
  for (const v of sample) points.push(v, v - 1e-9, v + 1e-9);
  for (const e of h.bin_edges) points.push(e, e - 1e-9, e + 1e-9);
  const lo = Math.min(...points) - 1;
  const hi = Math.max(...points) + 1;
  for (let i = 0; i <= 2000; i++) points.push(lo + ((hi - lo) * i) / 2000);
  return Math.max(...points.map((x) => Math.abs(fn(x) - histogramCdf(h, x))));
}

function normals(random: () => number, n: number, mean = 0, sd = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = 1 - random();
    const v = random();
    out.push(mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------

describe('drift statistics', () => {
  describe('binning', () => {
    it('follows [e_i, e_{i+1}) with open outer bins, also with repeated edges', () => {
      const edges = [0, 1, 1, 2, 5];
      for (const x of [-10, 0, 0.5, 1, 1.5, 2, 4.999, 5, 100]) expect(binIndex(edges, x)).toBe(bruteBin(edges, x));
      expect(binCounts([0, 1, 2], [-1, 0, 0.99, 1, 2, 3, Number.NaN])).toEqual([3, 3]);
    });

    it('puts edges at the quantiles and de-duplicates ties', () => {
      expect(quantileEdges([1, 2, 3, 4, 5], 4)).toEqual([1, 2, 3, 4, 5]);
      // at most `bins` distinct values: one bin per value, however rare (a 5% flag is not merged into the 0s)
      expect(quantileEdges([0, 0, 0, 0, 1], 4)).toEqual([0, 1, 2]);
      const flag = [...Array(95).fill(0), ...Array(5).fill(1)];
      expect(binCounts(quantileEdges(flag, 10), flag)).toEqual([95, 5]);
      expect(quantileEdges([2, 0, 1, 2, 1, 0], 3)).toEqual([0, 1, 2, 3]);
      expect(quantileEdges([7, 7, 7], 5)).toEqual([7, 8]);
      // more distinct values than bins: quantile edges, repeated quantiles collapsed
      const skewed = [...Array(80).fill(0), ...Array.from({ length: 20 }, (_, i) => i + 1)];
      expect(quantileEdges(skewed, 4)).toEqual([0, 20]);
      const h = quantileHistogram('x', normals(seededRandom(3), 10_000), 10);
      expect(h.counts).toHaveLength(10);
      for (const c of h.counts) expect(Math.abs(c - 1000)).toBeLessThanOrEqual(1);
    });
  });

  describe('PSI', () => {
    it.each(psiCases)('$source', ({ expected, actual, psi: value }) => {
      expect(psiFromCounts(expected, actual)).toBeCloseTo(value, 12);
      expect(psiFromCounts(expected, actual)).toBeCloseTo(brutePsi(expected, actual), 12);
    });

    it('bins a live sample on the baseline edges (direct formula on the explicit counts)', () => {
      const random = seededRandom(11);
      const baseline = quantileHistogram('amount', normals(random, 5000), 10);
      const live = normals(random, 2000, 0.3);
      const counts = live.map((x) => bruteBin(baseline.bin_edges, x));
      const explicit = baseline.counts.map((_, i) => counts.filter((b) => b === i).length);
      expect(psi(baseline, live)).toBeCloseTo(brutePsi(baseline.counts, explicit), 12);
      expect(psi(baseline, live)).toBeGreaterThan(0.05);
    });
  });

  describe('Kolmogorov distribution', () => {
    it.each(kolmogorovTable)('P(K > $x) ≈ $survival (published table)', ({ x, survival }) => {
      expect(kolmogorovSurvival(x)).toBeCloseTo(survival, 4);
    });

    it('both series agree across the branch point', () => {
      for (const x of [0.9, 1.0, 1.1, 1.17, 1.19, 1.3, 2, 3]) {
        expect(kolmogorovSurvival(x)).toBeCloseTo(kolmogorovSeries(x), 12);
      }
      expect(kolmogorovSurvival(0)).toBe(1);
      // deep in the small-x branch: K(0.2) ≈ first term of sqrt(2π)/x Σ e^{-(2k-1)²π²/(8x²)} ≈ 5.05e-13
      const k02 = (Math.sqrt(2 * Math.PI) / 0.2) * Math.exp(-(Math.PI ** 2) / (8 * 0.04));
      expect(Math.abs(1 - kolmogorovSurvival(0.2) - k02) / k02).toBeLessThan(1e-3);
    });
  });

  describe('two-sample KS', () => {
    it(ks2Case.source, () => {
      const r = ks2Sample(ks2Case.a, ks2Case.b);
      expect(r.statistic).toBeCloseTo(ks2Case.statistic, 15);
      expect(r.pValue).toBeCloseTo(kolmogorovSurvival(Math.sqrt(12 / 7) * 0.5), 15);
    });

    it('equals brute force on random samples with ties', () => {
      const random = seededRandom(5);
      for (let t = 0; t < 30; t++) {
        const a = Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.round(random() * 20) / 2);
        const b = Array.from({ length: 1 + Math.floor(random() * 60) }, () => Math.round(random() * 24) / 2);
        expect(ks2Sample(a, b).statistic).toBeCloseTo(bruteKs2(a, b), 12);
      }
    });

    it('p-value crosses 0.05 where sqrt(mn/(m+n))·D crosses 1.3581', () => {
      // m = n = 200: en = 100, so D = 0.13581 ↔ p = 0.05
      const a = Array.from({ length: 200 }, (_, i) => i);
      const shiftBy = (k: number) => Array.from({ length: 200 }, (_, i) => i + k);
      expect(ks2Sample(a, shiftBy(27)).statistic).toBeCloseTo(0.135, 12);
      expect(ks2Sample(a, shiftBy(27)).pValue).toBeGreaterThan(0.05);
      expect(ks2Sample(a, shiftBy(28)).pValue).toBeLessThan(0.05);
    });
  });

  describe('KS against a baseline histogram', () => {
    const uniform02: Histogram = { name: 'u', bin_edges: [0, 1, 2], counts: [1, 1] };

    it('hand: sample [0.5, 0.5] against uniform(0, 2)', () => {
      // F0(0.5) = 0.25; Fn jumps 0 → 1 at 0.5: D = max(0.25, 0.75) = 0.75; at the edge 1 only: |1 - 0.5|
      expect(ksAgainstHistogram(uniform02, [0.5, 0.5]).statistic).toBeCloseTo(0.75, 12);
      expect(ksAgainstHistogram(uniform02, [0.5, 0.5], { cdf: 'edges' }).statistic).toBeCloseTo(0.5, 12);
      expect(ksAgainstHistogram(uniform02, [0.5, 0.5]).pValue).toBeCloseTo(kolmogorovSurvival(Math.sqrt(2) * 0.75), 14);
    });

    it('equals brute force over a fine grid, including values outside the edges and repeated edges', () => {
      const random = seededRandom(9);
      const hists: Histogram[] = [
        { name: 'a', bin_edges: [0, 1, 3, 4, 10], counts: [5, 10, 0, 3] },
        { name: 'b', bin_edges: [0, 1, 1, 2], counts: [4, 6, 2] },
      ];
      for (const h of hists) {
        for (let t = 0; t < 10; t++) {
          const sample = Array.from(
            { length: 1 + Math.floor(random() * 40) },
            () => Math.round((random() * 12 - 1) * 4) / 4,
          );
          expect(ksAgainstHistogram(h, sample).statistic).toBeCloseTo(bruteKsHistogram(h, sample), 6);
        }
      }
    });
  });

  describe('chi-squared', () => {
    it.each(chiSquaredTable)('P(χ²(df=$df) > $x) ≈ $survival (published table)', ({ df, x, survival }) => {
      expect(chiSquaredSurvival(x, df)).toBeCloseTo(survival, 4);
    });

    it('matches the closed form for even df and the normal integral for df = 1 (series and continued fraction)', () => {
      for (const df of [2, 4, 10, 20, 100]) {
        for (const x of [0.1, 1, df - 1, df, df + 3, 2 * df, 5 * df + 10]) {
          const exact = gammaQInteger(df / 2, x / 2);
          expect(Math.abs(chiSquaredSurvival(x, df) - exact)).toBeLessThan(1e-12 + 1e-10 * exact);
        }
      }
      for (const x of [0.01, 0.5, 1, 2.5, 3.841, 9])
        expect(chiSquaredSurvival(x, 1)).toBeCloseTo(chi2Df1Survival(x), 9);
      expect(regularizedGammaQ(1, 0)).toBe(1);
    });

    it(chiSquaredCases.independence.source, () => {
      const c = chiSquaredCases.independence;
      const r = chiSquaredIndependence(c.table);
      expect(r.statistic).toBeCloseTo(c.statistic, 12);
      expect(r.df).toBe(c.df);
      expect(r.pValue).toBeCloseTo(c.pValue, 9);
    });

    it(chiSquaredCases.goodnessOfFit.source, () => {
      const c = chiSquaredCases.goodnessOfFit;
      const r = chiSquaredGoodnessOfFit(c.observed, c.expected);
      expect(r.statistic).toBeCloseTo(c.statistic, 12);
      expect(r.df).toBe(c.df);
      expect(r.pValue).toBeCloseTo(c.pValue, 12);
    });

    it('drops empty categories from the contingency table', () => {
      const r = chiSquaredIndependence([
        [10, 0, 20],
        [30, 0, 40],
      ]);
      expect(r.df).toBe(1);
      expect(r.statistic).toBeCloseTo(chiSquaredCases.independence.statistic, 12);
    });
  });

  describe('Jensen–Shannon distance', () => {
    it.each(jsCases)('$source', ({ p, q, base, distance }) => {
      expect(jensenShannonDistance(p, q, base)).toBeCloseTo(distance, 12);
    });

    it('is 0 for proportional counts and symmetric', () => {
      expect(jensenShannonDistance([1, 2, 3], [10, 20, 30])).toBeCloseTo(0, 12);
      expect(jensenShannonDistance([1, 5, 3], [4, 1, 1])).toBeCloseTo(jensenShannonDistance([4, 1, 1], [1, 5, 3]), 15);
    });
  });

  describe('quality', () => {
    it.each(aucCases)('AUC: $source', ({ scores, labels, auc: value }) => {
      expect(auc(scores, labels)).toBeCloseTo(value, 15);
    });

    it('AUC equals O(n²) pair counting on random data with ties; null with one class', () => {
      const random = seededRandom(21);
      const scores = Array.from({ length: 300 }, () => Math.round(random() * 20) / 20);
      const labels = scores.map((s) => (random() < s ? 1 : 0));
      expect(auc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
      expect(auc([0.1, 0.2], [1, 1])).toBeNull();
      expect(auc([0.1, 0.2], [false, true])).toBe(1);
    });

    it('precision and recall at a threshold (score ≥ threshold is positive)', () => {
      // predicted positive: .5 (pos), .7 (neg), .9 (pos); missed positive: .2 → P = 2/3, R = 2/3
      const r = precisionRecallAt([0.2, 0.5, 0.7, 0.9, 0.1], [1, 1, 0, 1, 0], 0.5);
      expect(r).toMatchObject({ tp: 2, fp: 1, fn: 1, tn: 1 });
      expect(r.precision).toBeCloseTo(2 / 3, 15);
      expect(r.recall).toBeCloseTo(2 / 3, 15);
      expect(precisionRecallAt([0.1], [0], 0.5)).toMatchObject({ precision: null, recall: null });
    });

    it(`ECE: ${eceCase.source}`, () => {
      expect(expectedCalibrationError(eceCase.scores, eceCase.labels, 10)).toBeCloseTo(eceCase.ece, 15);
      expect(expectedCalibrationError([1, 0], [1, 0], 10)).toBe(0);
      expect(expectedCalibrationError([], [], 10)).toBe(0);
    });
  });
});
