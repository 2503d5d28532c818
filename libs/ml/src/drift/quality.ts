/**
 * The quality detector: live AUC (from labels) against the Production version's holdout AUC.
 *
 * On stationary data the live AUC over a window of n₊ positives and n₋ negatives scatters around the model's
 * true AUC A with the Hanley–McNeil standard error SE(A, n₊, n₋). A window is "degraded" when
 *
 *     live AUC < A_holdout − margin − z·SE(A_holdout, n₊, n₋),   z = Φ⁻¹(1 − windowAlpha)
 *
 * so that, if the holdout AUC were exact, a stationary window would fall below with probability ≈ windowAlpha
 * (normal approximation of the AUC's sampling distribution), the same per-window exceedance probability the
 * distribution detectors are calibrated for. The margin absorbs what that ignores: the holdout AUC's own
 * sampling error (a holdout of a few hundred rows is ±0.03) and small, tolerated quality losses.
 */
import { normalQuantile } from './distributions';

/**
 * Hanley & McNeil (1982) standard error of an AUC estimate from `positives` and `negatives` samples:
 * Var = [A(1−A) + (n₊−1)(Q1−A²) + (n₋−1)(Q2−A²)] / (n₊·n₋), Q1 = A/(2−A), Q2 = 2A²/(1+A).
 */
export function aucStandardError(auc: number, positives: number, negatives: number): number {
  if (!(auc >= 0 && auc <= 1)) throw new RangeError(`auc must be in [0, 1], got ${auc}`);
  if (!(positives >= 1 && negatives >= 1)) throw new RangeError('need at least one positive and one negative');
  const q1 = auc / (2 - auc);
  const q2 = (2 * auc * auc) / (1 + auc);
  const variance =
    (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)) /
    (positives * negatives);
  return Math.sqrt(Math.max(0, variance));
}

export interface QualityThresholdOptions {
  /** The Production version's AUC on its holdout (models.trained.v1 metrics.auc, stored by the registry). */
  holdoutAuc: number;
  /** Tolerated loss below the holdout AUC before the statistical allowance. */
  margin: number;
  /** Per-window probability of a stationary window falling below the threshold (see trigger.windowAlphaFor). */
  windowAlpha: number;
  positives: number;
  negatives: number;
}

/** The live-AUC value below which a labelled window counts as degraded (module doc). */
export function qualityThreshold(options: QualityThresholdOptions): number {
  const z = normalQuantile(1 - options.windowAlpha);
  const se = aucStandardError(options.holdoutAuc, options.positives, options.negatives);
  return options.holdoutAuc - options.margin - z * se;
}
