/**
 * Drift and quality statistics, pure functions over plain arrays.
 *
 * Histogram convention (libs/contracts `Histogram`): `counts[i]` counts values in
 * `[bin_edges[i], bin_edges[i+1])`, so `counts.length === bin_edges.length - 1`; values below the first edge
 * fall in the first bin and values at or above the last edge in the last bin (outer bins open-ended).
 */
import type { Histogram } from '@flywheel/contracts';
import { chiSquaredSurvival, kolmogorovSurvival } from './distributions';

/**
 * Proportion used in place of an empty bin by `psi`, on either side: ln(0) is undefined and a single empty
 * bin would otherwise make PSI infinite. 1e-4 is the usual credit-scoring convention; it caps one empty
 * bin's contribution at about (p - 1e-4)·ln(p / 1e-4) (≈ 0.69 for p = 0.1).
 */
export const PSI_EPSILON = 1e-4;

export function validateHistogram(h: Histogram): void {
  if (h.bin_edges.length < 2) throw new RangeError(`histogram ${h.name}: needs at least 2 edges`);
  if (h.counts.length !== h.bin_edges.length - 1) {
    throw new RangeError(`histogram ${h.name}: counts must have one element fewer than bin_edges`);
  }
  for (let i = 1; i < h.bin_edges.length; i++) {
    if (!(h.bin_edges[i] >= h.bin_edges[i - 1])) throw new RangeError(`histogram ${h.name}: edges not sorted`);
  }
}

/** Index of the bin of `x`: the number of interior edges (bin_edges[1..m-1]) that are ≤ x. NaN → -1. */
export function binIndex(edges: ArrayLike<number>, x: number): number {
  if (Number.isNaN(x)) return -1;
  const bins = edges.length - 1;
  // binary search for the count of interior edges ≤ x, interior edges are edges[1..bins-1]
  let lo = 1;
  let hi = bins; // exclusive
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Counts of `values` in the bins defined by `edges` (same convention as Histogram). NaNs are skipped. */
export function binCounts(edges: ArrayLike<number>, values: ArrayLike<number>): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = binIndex(edges, values[i]);
    if (b >= 0) counts[b]++;
  }
  return counts;
}

/**
 * Baseline bin edges: at the 0, 1/bins, …, 1 quantiles of `values` (type-7 linear interpolation, as numpy's
 * default), de-duplicated so ties do not create empty bins. A discrete feature with at most `bins` distinct
 * values gets one bin per value instead: quantile edges would merge a rare value into its neighbour's bin (a
 * flag set on 5% of the rows has every quantile but the last at 0 → edges [0, 1], one bin), so a shift in that
 * value's share could never show in the PSI. A constant gets [v, v + 1], so the edges are always ascending.
 */
export function quantileEdges(values: ArrayLike<number>, bins: number): number[] {
  if (values.length === 0) throw new RangeError('quantileEdges needs at least one value');
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError('bins must be a positive integer');
  const sorted = Float64Array.from(values).sort();
  const distinct = distinctSorted(sorted, bins + 1);
  // [v_0, v_1), …, [v_last, ∞): each value alone in its bin
  if (distinct.length <= bins) return [...distinct, distinct[distinct.length - 1] + 1];
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const h = (sorted.length - 1) * (i / bins);
    const lo = Math.floor(h);
    const hi = Math.min(lo + 1, sorted.length - 1);
    const q = sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
    if (edges.length === 0 || q > edges[edges.length - 1]) edges.push(q);
  }
  return edges;
}

/** The distinct values of ascending `sorted`, stopping once there are more than `limit`. */
function distinctSorted(sorted: Float64Array, limit: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < sorted.length && out.length <= limit; i++) {
    if (i === 0 || sorted[i] !== sorted[i - 1]) out.push(sorted[i]);
  }
  return out;
}

/** A Histogram of `values` on quantile edges of those same values. */
export function quantileHistogram(name: string, values: ArrayLike<number>, bins = 10): Histogram {
  const bin_edges = quantileEdges(values, bins);
  return { name, bin_edges, counts: binCounts(bin_edges, values) };
}

function proportions(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  const out = new Array<number>(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = total > 0 ? counts[i] / total : 0;
  return out;
}

/**
 * Population stability index of `actual` counts against `expected` counts over the same bins:
 * Σ (a_i - e_i)·ln(a_i / e_i) on proportions, empty bins replaced by PSI_EPSILON (see there).
 */
export function psiFromCounts(expected: ArrayLike<number>, actual: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  if (expected.length !== actual.length) throw new RangeError('expected and actual differ in bin count');
  const e = proportions(expected);
  const a = proportions(actual);
  let psi = 0;
  for (let i = 0; i < e.length; i++) {
    const ei = e[i] > 0 ? e[i] : epsilon;
    const ai = a[i] > 0 ? a[i] : epsilon;
    psi += (ai - ei) * Math.log(ai / ei);
  }
  return psi;
}

/** PSI of a live sample against a baseline histogram, binned on the baseline's (quantile) edges. */
export function psi(baseline: Histogram, sample: ArrayLike<number>, epsilon = PSI_EPSILON): number {
  validateHistogram(baseline);
  return psiFromCounts(baseline.counts, binCounts(baseline.bin_edges, sample), epsilon);
}

export interface KsResult {
  statistic: number;
  /** Asymptotic p-value, P(K > sqrt(n_eff)·D). */
  pValue: number;
}

/**
 * Two-sample Kolmogorov–Smirnov: D = sup |F1 - F2| over all points, two-sided p-value from the limiting
 * Kolmogorov distribution at sqrt(m·n/(m+n))·D (scipy's `kstwobign.sf`). scipy's ks_2samp(method='asymp')
 * uses the finite-n distribution `kstwo` at n = round(m·n/(m+n)) instead: close for large samples, not equal
 * (see test/fixtures/drift).
 */
export function ks2Sample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const x = Float64Array.from(a).sort();
  const y = Float64Array.from(b).sort();
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError('ks2Sample needs two non-empty samples');
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < m && j < n) {
    const v = Math.min(x[i], y[j]);
    while (i < m && x[i] === v) i++;
    while (j < n && y[j] === v) j++;
    const diff = Math.abs(i / m - j / n);
    if (diff > d) d = diff;
  }
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: kolmogorovSurvival(Math.sqrt(en) * d) };
}

/**
 * CDF of a histogram, uniform within each bin: 0 below the first edge, 1 at or above the last edge (the
 * outer bins' mass is placed between their finite edges, as the baseline's quantile edges are the
 * training minimum and maximum). A zero-width bin (repeated edge) is a step.
 */
export function histogramCdf(h: Histogram, x: number): number {
  const edges = h.bin_edges;
  const last = edges.length - 1;
  if (x < edges[0]) return 0;
  if (x >= edges[last]) return 1;
  let total = 0;
  for (const c of h.counts) total += c;
  if (total === 0) return Number.NaN;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const lo = edges[i];
    const hi = edges[i + 1];
    if (x >= hi) {
      below += h.counts[i];
      continue;
    }
    if (x >= lo && hi > lo) below += (h.counts[i] * (x - lo)) / (hi - lo);
    break;
  }
  return below / total;
}

export interface KsHistogramOptions {
  /**
   * 'linear' (default): the baseline CDF is piecewise linear (uniform within bins) and D is the sup over
   * every real x. 'edges': D is taken only at the interior bin edges, where the baseline CDF is exact
   * whatever the shape inside a bin (grouped KS; use it for discrete features, and in the trigger, whose
   * null distribution is then exactly the multinomial one).
   */
  cdf?: 'linear' | 'edges';
}

/** KS of a live sample against a baseline histogram; p-value asymptotic at sqrt(n)·D (baseline as known). */
export function ksAgainstHistogram(
  baseline: Histogram,
  sample: ArrayLike<number>,
  options: KsHistogramOptions = {},
): KsResult {
  validateHistogram(baseline);
  const n = sample.length;
  if (n === 0) throw new RangeError('ksAgainstHistogram needs a non-empty sample');
  let d: number;
  if (options.cdf === 'edges') {
    d = ksFromCounts(baseline.counts, binCounts(baseline.bin_edges, sample));
  } else {
    const s = Float64Array.from(sample).sort();
    d = 0;
    // |Fn - F0| is monotone between consecutive sample points and edges: check both one-sided limits at
    // each sample point (Fn jumps there) and the value at each edge (F0 has kinks there).
    for (let i = 0; i < n; ) {
      let j = i;
      while (j < n && s[j] === s[i]) j++;
      const f0 = histogramCdf(baseline, s[i]);
      const f0Left = histogramCdfLeft(baseline, s[i]);
      d = Math.max(d, Math.abs(j / n - f0), Math.abs(i / n - f0Left));
      i = j;
    }
    for (const e of baseline.bin_edges) {
      const fnLeft = lowerBound(s, e) / n;
      const fn = upperBound(s, e) / n;
      d = Math.max(d, Math.abs(fnLeft - histogramCdfLeft(baseline, e)), Math.abs(fn - histogramCdf(baseline, e)));
    }
  }
  return { statistic: d, pValue: kolmogorovSurvival(Math.sqrt(n) * d) };
}

/** Grouped KS from bin counts: max over interior edges of |cumulative proportion difference|. */
export function ksFromCounts(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) throw new RangeError('expected and actual differ in bin count');
  const e = proportions(expected);
  const a = proportions(actual);
  let ce = 0;
  let ca = 0;
  let d = 0;
  for (let i = 0; i < e.length - 1; i++) {
    ce += e[i];
    ca += a[i];
    d = Math.max(d, Math.abs(ce - ca));
  }
  return d;
}

/** lim_{t→x-} of the histogram CDF (differs from histogramCdf only at zero-width bins and the last edge). */
function histogramCdfLeft(h: Histogram, x: number): number {
  const edges = h.bin_edges;
  if (x <= edges[0]) return 0;
  if (x > edges[edges.length - 1]) return 1;
  let total = 0;
  for (const c of h.counts) total += c;
  let below = 0;
  for (let i = 0; i < h.counts.length; i++) {
    const lo = edges[i];
    const hi = edges[i + 1];
    if (x > hi) {
      below += h.counts[i];
      continue;
    }
    if (hi > lo) below += (h.counts[i] * (x - lo)) / (hi - lo);
    else if (x > lo) below += h.counts[i];
    break;
  }
  return total === 0 ? Number.NaN : below / total;
}

function lowerBound(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(s: Float64Array, x: number): number {
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (s[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface ChiSquaredResult {
  statistic: number;
  df: number;
  pValue: number;
}

/**
 * Pearson's chi-squared test of independence on an r×c contingency table (no continuity correction, as
 * scipy.stats.chi2_contingency(correction=False)). Columns whose total is 0 are dropped (they carry no
 * information and would divide by zero); df = (r-1)(c'-1) over the remaining c' columns.
 */
export function chiSquaredIndependence(table: number[][]): ChiSquaredResult {
  const rows = table.length;
  if (rows < 2) throw new RangeError('a contingency table needs at least 2 rows');
  const cols = table[0].length;
  const colTotals = new Array<number>(cols).fill(0);
  const rowTotals = table.map((r) => {
    if (r.length !== cols) throw new RangeError('ragged contingency table');
    let s = 0;
    r.forEach((v, j) => {
      s += v;
      colTotals[j] += v;
    });
    return s;
  });
  const total = rowTotals.reduce((s, v) => s + v, 0);
  const liveCols = colTotals.filter((c) => c > 0).length;
  if (total === 0 || liveCols < 2 || rowTotals.some((r) => r === 0)) {
    return { statistic: 0, df: Math.max(0, (rows - 1) * (liveCols - 1)), pValue: 1 };
  }
  let stat = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      if (colTotals[j] === 0) continue;
      const expected = (rowTotals[i] * colTotals[j]) / total;
      stat += (table[i][j] - expected) ** 2 / expected;
    }
  }
  const df = (rows - 1) * (liveCols - 1);
  return { statistic: stat, df, pValue: chiSquaredSurvival(stat, df) };
}

/**
 * Chi-squared goodness of fit of observed counts to expected proportions (or counts, rescaled to the
 * observed total), df = k - 1 (as scipy.stats.chisquare). Categories with expected 0 must be observed 0.
 */
export function chiSquaredGoodnessOfFit(observed: ArrayLike<number>, expected: ArrayLike<number>): ChiSquaredResult {
  if (observed.length !== expected.length) throw new RangeError('observed and expected differ in length');
  const k = observed.length;
  let n = 0;
  let eTotal = 0;
  for (let i = 0; i < k; i++) {
    n += observed[i];
    eTotal += expected[i];
  }
  if (eTotal <= 0) throw new RangeError('expected counts sum to 0');
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const e = (expected[i] / eTotal) * n;
    if (e === 0) {
      if (observed[i] > 0) return { statistic: Number.POSITIVE_INFINITY, df: k - 1, pValue: 0 };
      continue;
    }
    stat += (observed[i] - e) ** 2 / e;
  }
  return { statistic: stat, df: k - 1, pValue: k > 1 ? chiSquaredSurvival(stat, k - 1) : 1 };
}

/**
 * Jensen–Shannon distance sqrt(JSD(p‖q)) of two count or probability vectors, normalised first
 * (scipy.spatial.distance.jensenshannon; natural log by default, base 2 gives a value in [0, 1]).
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>, base = Math.E): number {
  if (p.length !== q.length) throw new RangeError('p and q differ in length');
  const pp = proportions(p);
  const qq = proportions(q);
  let js = 0;
  for (let i = 0; i < pp.length; i++) {
    const m = (pp[i] + qq[i]) / 2;
    if (pp[i] > 0) js += 0.5 * pp[i] * Math.log(pp[i] / m);
    if (qq[i] > 0) js += 0.5 * qq[i] * Math.log(qq[i] / m);
  }
  return Math.sqrt(Math.max(0, js) / Math.log(base));
}

/**
 * Area under the ROC curve by ranks (Mann–Whitney U / (n₊·n₋)), tied scores get their average rank (a
 * tied positive/negative pair counts ½). null when only one class is present.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number | boolean>): number | null {
  const n = scores.length;
  if (n !== labels.length) throw new RangeError('scores and labels differ in length');
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const averageRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (isPositive(labels[order[k]])) {
        positives++;
        rankSum += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface PrecisionRecall {
  /** TP / (TP + FP); null when nothing is predicted positive. */
  precision: number | null;
  /** TP / (TP + FN); null when there are no positives. */
  recall: number | null;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

/** Precision and recall when score ≥ threshold is predicted positive. */
export function precisionRecallAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  threshold: number,
): PrecisionRecall {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < scores.length; i++) {
    const predicted = scores[i] >= threshold;
    const actual = isPositive(labels[i]);
    if (predicted && actual) tp++;
    else if (predicted) fp++;
    else if (actual) fn++;
    else tn++;
  }
  return {
    precision: tp + fp > 0 ? tp / (tp + fp) : null,
    recall: tp + fn > 0 ? tp / (tp + fn) : null,
    tp,
    fp,
    fn,
    tn,
  };
}

/**
 * Expected calibration error with `bins` equal-width bins on [0, 1] (bin b holds scores in
 * [b/bins, (b+1)/bins), the last bin also holds 1): Σ_b (n_b / N)·|mean(label) - mean(score)|. 0 when empty.
 */
export function expectedCalibrationError(
  scores: ArrayLike<number>,
  labels: ArrayLike<number | boolean>,
  bins = 10,
): number {
  if (scores.length !== labels.length) throw new RangeError('scores and labels differ in length');
  const n = scores.length;
  if (n === 0) return 0;
  const count = new Array<number>(bins).fill(0);
  const sumScore = new Array<number>(bins).fill(0);
  const sumLabel = new Array<number>(bins).fill(0);
  for (let i = 0; i < n; i++) {
    const s = Math.min(1, Math.max(0, scores[i]));
    const b = Math.min(bins - 1, Math.floor(s * bins));
    count[b]++;
    sumScore[b] += s;
    sumLabel[b] += isPositive(labels[i]) ? 1 : 0;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    ece += (count[b] / n) * Math.abs(sumLabel[b] / count[b] - sumScore[b] / count[b]);
  }
  return ece;
}

function isPositive(label: number | boolean): boolean {
  return label === true || label === 1;
}
