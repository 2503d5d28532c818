import type { MeshService } from '@flywheel/testing';
import type { DemoOptions } from './demo-options';

export const DEMO_MODEL = 'payments-fraud';

/**
 * What the demo's model looks at: per-payment facts whose distribution does not depend on how long the demo
 * has run. The windowed aggregates (counts and sums over 10 min … 7 days) keep growing while a demo runs, so
 * a model on them would see "drift" every few minutes that is only the demo warming up; hour_of_day follows
 * the wall clock for the same reason.
 */
export const DEMO_FEATURES = [
  'amount_base',
  'is_foreign',
  'card_present',
  'channel',
  'merchant_risk_tier',
  'account_age_days',
] as const;

/** Per-service settings that make the loop visible within minutes instead of the production defaults' hours. */
export function loopEnvironment(options: DemoOptions): Partial<Record<MeshService, Record<string, string>>> {
  const windowMs = Math.round((options.window * 1000) / options.rate);
  return {
    registry: {
      // A candidate that beats Production on the same holdout (by REGISTRY_PROMOTION_MARGIN) goes live.
      REGISTRY_PROMOTION_POLICY: 'automatic',
    },
    monitor: {
      MODEL_NAME: DEMO_MODEL,
      DRIFT_WINDOW_SIZE: String(options.window),
      DRIFT_CONSECUTIVE: String(options.consecutive),
      DRIFT_MIN_SAMPLES: String(Math.min(500, options.window)),
      // The default target (≈1% chance of a false request in 100k stationary predictions), calibrated on 5,000
      // simulated windows per detector instead of ~20,000: start-up and every promotion recalibrate all seven
      // detectors, which took minutes on a busy 2-core machine; the drift the demo makes is far above threshold.
      DRIFT_CALIBRATION_SIMULATIONS: '5000',
      // Event time: the production defaults (1 h / 15 min) would hide a second drift for the whole demo.
      DRIFT_COOLDOWN_MS: String(Math.max(30_000, 2 * options.trainWindowMs)),
      DRIFT_PROMOTION_COOLDOWN_MS: String(Math.max(10_000, windowMs)),
      QUALITY_WINDOW: String(options.window),
    },
    trainer: {
      TRAINER_FEATURE_NAMES: DEMO_FEATURES.join(','),
      TRAINER_WINDOW_MS: String(options.trainWindowMs),
      // End the window where the monitor's evidence ends (event time it has seen), not at the wall clock: on a
      // busy machine the pipeline lags and the newest seconds are not in the offline log yet.
      TRAINER_WINDOW_ANCHOR: 'evidence',
      MIN_TRAINING_ROWS: '500',
    },
  };
}
