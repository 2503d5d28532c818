import type { RetrainRequested } from '@flywheel/contracts';
import type { TrainerConfig } from '../config';
import type { TrainerSettings } from './trainer';

export function settingsFrom(config: TrainerConfig): TrainerSettings {
  return {
    featureSetVersion: config.TRAINER_FEATURE_SET_VERSION,
    namespace: config.TRAINER_FEATURES_NAMESPACE,
    featureNames: config.TRAINER_FEATURE_NAMES,
    featuresSchema: config.FEATURES_SCHEMA,
    holdoutFraction: config.TRAINER_HOLDOUT_FRACTION,
    minTrainingRows: config.MIN_TRAINING_ROWS,
    minClassRows: config.TRAINER_MIN_CLASS_ROWS,
    seed: config.TRAINER_SEED,
    epochs: config.TRAINER_EPOCHS,
    batchSize: config.TRAINER_BATCH_SIZE,
    learningRate: config.TRAINER_LEARNING_RATE,
    threshold: config.TRAINER_THRESHOLD,
    reviewThreshold: config.TRAINER_REVIEW_THRESHOLD,
    histogramBins: config.TRAINER_HISTOGRAM_BINS,
  };
}

/** The training window of a request made at `requestedAt`: [end − TRAINER_WINDOW_MS, end), end = requestedAt − offset. */
export function windowFor(config: TrainerConfig, requestedAt: number): { from: number; to: number } {
  const to = requestedAt - config.TRAINER_WINDOW_END_OFFSET_MS;
  return { from: to - config.TRAINER_WINDOW_MS, to };
}

/**
 * The training window of a retrain request: as windowFor, ending at requested_at, or with
 * TRAINER_WINDOW_ANCHOR=evidence at the end of the newest evidence window (never after requested_at).
 */
export function windowForRequest(
  config: TrainerConfig,
  request: Pick<RetrainRequested, 'requested_at' | 'evidence'>,
): { from: number; to: number } {
  if (config.TRAINER_WINDOW_ANCHOR === 'evidence' && request.evidence.length > 0) {
    const seen = Math.max(...request.evidence.map((e) => e.window_end));
    return windowFor(config, Math.min(request.requested_at, seen));
  }
  return windowFor(config, request.requested_at);
}
