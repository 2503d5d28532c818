import type { Histogram } from '@flywheel/contracts';
import type { TrainingRow } from '@flywheel/features';

export interface TimeSplit {
  train: TrainingRow[];
  holdout: TrainingRow[];
  /** First event time of the holdout (inclusive): train rows are all before it. */
  cutoff: number;
}

/**
 * Splits rows into train and holdout BY EVENT TIME: the holdout is every row at or after the instant that leaves
 * the last `holdoutFraction` of the observed event-time span [first, last]. No row of the holdout is older than a
 * training row, so the holdout measures what a model trained "then" does on what came "later", as in serving.
 */
export function splitByTime(rows: readonly TrainingRow[], holdoutFraction: number): TimeSplit {
  if (!(holdoutFraction > 0 && holdoutFraction < 1)) throw new Error('holdoutFraction must be in (0, 1)');
  if (rows.length === 0) return { train: [], holdout: [], cutoff: 0 };
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const row of rows) {
    if (row.event_time < first) first = row.event_time;
    if (row.event_time > last) last = row.event_time;
  }
  // span + 1 ms so that with fraction f the cut lands inside [first, last] and the newest row is always holdout
  const cutoff = Math.ceil(first + (1 - holdoutFraction) * (last - first + 1));
  const train: TrainingRow[] = [];
  const holdout: TrainingRow[] = [];
  for (const row of rows) (row.event_time < cutoff ? train : holdout).push(row);
  return { train, holdout, cutoff };
}

export function countPositives(rows: readonly { label: number }[]): number {
  let n = 0;
  for (const row of rows) if (row.label === 1) n++;
  return n;
}

/** Value at quantile p of ascending `sorted` (linear interpolation between closest ranks, numpy's default). */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile of no values');
  const position = p * (n - 1);
  const lower = Math.floor(position);
  const upper = Math.min(n - 1, lower + 1);
  const weight = position - lower;
  return sorted[lower] + (sorted[upper] - sorted[lower]) * weight;
}

/**
 * Ascending, distinct bin edges at the quantiles 0, 1/bins, …, 1 of `values` (so each bin holds about the same
 * share of the training data). Repeated quantiles (discrete or constant features) collapse to one edge; a constant
 * variable gets the two edges [v, v + 1] so the histogram is still well formed (at least two edges).
 */
export function quantileBinEdges(values: ArrayLike<number>, bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 1) throw new Error('bins must be a positive integer');
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) throw new Error('cannot bin zero values');
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const edge = quantileSorted(sorted, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  if (edges.length === 1) edges.push(edges[0] + 1);
  return edges;
}

/**
 * Counts values per bin as the Histogram contract defines it: counts[i] holds [edges[i], edges[i+1]); the outer
 * bins are open-ended (below the first edge → bin 0, at or above the last edge → the last bin).
 */
export function histogramCounts(values: ArrayLike<number>, edges: readonly number[]): number[] {
  if (edges.length < 2) throw new Error('a histogram needs at least two edges');
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  for (let k = 0; k < values.length; k++) {
    const v = values[k];
    // largest i with edges[i] <= v, clamped to [0, bins - 1]
    let lo = 0;
    let hi = bins - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    counts[lo]++;
  }
  return counts;
}

export function histogram(name: string, values: ArrayLike<number>, bins: number, edges?: number[]): Histogram {
  const binEdges = edges ?? quantileBinEdges(values, bins);
  return { name, bin_edges: binEdges, counts: histogramCounts(values, binEdges) };
}

/** Per-feature histograms with quantile edges from the (training) rows. */
export function featureHistograms(
  rows: readonly { features: Record<string, number> }[],
  featureNames: readonly string[],
  bins: number,
): Histogram[] {
  return featureNames.map((name) => {
    const values = Float64Array.from(rows, (row) => row.features[name]);
    return histogram(name, values, bins);
  });
}

export interface ClassificationMetrics {
  auc: number;
  log_loss: number;
  precision: number;
  recall: number;
}

/** Precision and recall of "score >= threshold" (DECLINE). Precision is 0 when nothing is flagged. */
export function precisionRecallAt(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  threshold: number,
): { precision: number; recall: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < scores.length; i++) {
    const flagged = scores[i] >= threshold;
    if (flagged && labels[i] === 1) tp++;
    else if (flagged) fp++;
    else if (labels[i] === 1) fn++;
  }
  return { precision: tp + fp === 0 ? 0 : tp / (tp + fp), recall: tp + fn === 0 ? 0 : tp / (tp + fn) };
}

/** Drops rows lacking a finite value for any of `featureNames`; returns the kept rows and how many were dropped. */
export function usableRows(
  rows: readonly TrainingRow[],
  featureNames: readonly string[],
): { rows: TrainingRow[]; dropped: number } {
  const kept = rows.filter((row) =>
    featureNames.every((name) => typeof row.features?.[name] === 'number' && Number.isFinite(row.features[name])),
  );
  return { rows: kept, dropped: rows.length - kept.length };
}
