import { envBool, httpEnv, kafkaEnv, loadConfig, observabilityEnv, schemaRegistryEnv } from '@flywheel/config';
import { z } from 'zod';

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v && v.trim() !== '' ? v.trim() : undefined));

const MonitorEnv = z.object({
  ...httpEnv,
  HTTP_PORT: httpEnv.HTTP_PORT.default(8086),
  ...kafkaEnv,
  ...schemaRegistryEnv,
  ...observabilityEnv,
  /** Registered model whose Production version is watched. */
  MODEL_NAME: z.string().min(1).default('payments-fraud'),
  /** Model registry base URL: `GET /v1/models/{name}/versions/{v}` gives the version's baseline. */
  REGISTRY_URL: z.url().default('http://127.0.0.1:8081'),
  /** Bearer token for registry reads, when required. Never logged. */
  REGISTRY_TOKEN: optionalString,
  REGISTRY_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  /** How long start-up may take to read models.lifecycle.v1 up to its end. */
  LIFECYCLE_BOOTSTRAP_TIMEOUT_MS: z.coerce.number().int().min(1_000).default(60_000),
  CONSUMER_GROUP: z.string().min(1).default('monitor'),
  CONSUMER_FROM_BEGINNING: envBool(true),
  BATCH_MAX_ROWS: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** Samples per drift window (tumbling) of feature vectors and of scores: a window closes at this count … */
  DRIFT_WINDOW_SIZE: z.coerce.number().int().min(10).default(2_000),
  /** … or when a sample arrives this many seconds (event time) after its first one; 0 = by count only. */
  DRIFT_WINDOW_SECONDS: z.coerce.number().min(0).default(3_600),
  /**
   * Target expected number of samples between two false retrain requests on stationary data (all detectors
   * together; each gets ERT × detectors). 10M → P(false request in 100k stationary events) ≈ 1%.
   */
  DRIFT_ERT_SAMPLES: z.coerce.number().min(1).default(10_000_000),
  /** Consecutive drifted windows of one detector before a request (hysteresis). */
  DRIFT_CONSECUTIVE: z.coerce.number().int().min(1).default(3),
  /** Windows with fewer samples never count towards a request (time-closed windows can be smaller). */
  DRIFT_MIN_SAMPLES: z.coerce.number().int().min(1).default(500),
  /** No second request of the same detector kind (features, score, quality) within this long (event time). */
  DRIFT_COOLDOWN_MS: z.coerce.number().int().min(0).default(3_600_000),
  /** No request within this long (event time) after the watched version was promoted. */
  DRIFT_PROMOTION_COOLDOWN_MS: z.coerce.number().int().min(0).default(900_000),
  /** Simulated windows per detector calibration (default: chosen from the target rate). */
  DRIFT_CALIBRATION_SIMULATIONS: z.coerce.number().int().min(100).optional(),
  /**
   * Labelled predictions per quality window: every QUALITY_WINDOW-th joined label judges the newest ones (live
   * AUC against the Production version's holdout AUC); they are also the live quality in the reports.
   */
  QUALITY_WINDOW: z.coerce.number().int().min(10).default(5_000),
  /** Retrain requests on live quality loss (needs labels and the Production version's holdout auc). */
  QUALITY_TRIGGER: envBool(true),
  /** Tolerated live-AUC loss below the holdout AUC, before the statistical allowance. */
  QUALITY_AUC_MARGIN: z.coerce.number().min(0).max(0.5).default(0.05),
  /** A quality window needs this many positives and negatives to be judged. */
  QUALITY_MIN_CLASS_SAMPLES: z.coerce.number().int().min(1).default(30),
  /** How long (event time) a prediction waits for its label, and a label for its prediction. */
  LABEL_HORIZON_MS: z.coerce
    .number()
    .int()
    .min(1_000)
    .default(7 * 24 * 3_600_000),
  /** Bound on predictions/labels waiting to be joined (memory). */
  MAX_PENDING_JOINS: z.coerce.number().int().min(1_000).default(500_000),
  PRODUCE_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
});

export type MonitorConfig = Readonly<z.infer<typeof MonitorEnv>>;

/** The one place the monitor reads its environment; tests pass their own `env`. */
export function loadMonitorConfig(env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  return loadConfig(MonitorEnv, env);
}
