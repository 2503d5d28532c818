import type { Histogram } from '@flywheel/contracts';
import type { TrainingRow } from '@flywheel/features';
import { binCounts, quantileEdges } from '@flywheel/ml';

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

/** A baseline histogram: libs/ml's quantile edges (the monitor bins live values the same way) unless given. */
export function histogram(name: string, values: ArrayLike<number>, bins: number, edges?: number[]): Histogram {
  const binEdges = edges ?? quantileEdges(values, bins);
  return { name, bin_edges: binEdges, counts: binCounts(binEdges, values) };
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
