import { envList, httpEnv, kafkaEnv, loadConfig, observabilityEnv, schemaRegistryEnv } from '@flywheel/config';
import { paymentsFraud } from '@flywheel/features';
import { z } from 'zod';

const DAY_MS = 24 * 60 * 60 * 1000;

const TrainerEnv = z.object({
  ...httpEnv,
  HTTP_PORT: httpEnv.HTTP_PORT.default(8087),
  ...kafkaEnv,
  ...schemaRegistryEnv,
  ...observabilityEnv,
  /**
   * The feature store's offline log and labels (Postgres schema `features`), READ-ONLY. The one sanctioned
   * cross-schema read in the mesh: the offline log is the feature store's published interface for training
   * (libs/features pointInTimeTrainingSet), not its private state. Give this role SELECT on `features` only.
   */
  FEATURES_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .default('postgres://postgres@127.0.0.1:5432/flywheel'),
  FEATURES_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/)
    .default('features'),
  /** Feature-set version to train on (vectors of other versions are ignored). Default: the one this build defines. */
  TRAINER_FEATURE_SET_VERSION: z.string().min(1).default(paymentsFraud.version),
  /** State namespace that wrote the offline log; default = the feature-set version (the live materializer's). */
  TRAINER_FEATURES_NAMESPACE: z.string().min(1).optional(),
  /** Model inputs, in order. Default: every feature of the feature set this build defines. */
  TRAINER_FEATURE_NAMES: envList.default([...paymentsFraud.featureNames]),
  /** Model registry base URL (artifact upload, Production model download). */
  REGISTRY_URL: z.url().default('http://127.0.0.1:8081'),
  /** Admin bearer token for artifact uploads. Never logged. */
  TRAINER_REGISTRY_TOKEN: z.string().min(16).optional(),
  REGISTRY_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Event-time length of the training window, ending at the request's requested_at (minus the end offset). */
  TRAINER_WINDOW_MS: z.coerce
    .number()
    .int()
    .min(1)
    .default(30 * DAY_MS),
  /** The window ends this long before requested_at (e.g. to let labels of the newest events arrive). */
  TRAINER_WINDOW_END_OFFSET_MS: z.coerce.number().int().min(0).default(0),
  /**
   * What a retrain request's window ends at: `requested_at` (wall clock), or `evidence` = the end of the newest
   * window in its evidence (event time the monitor had seen; requested_at when there is no evidence). With
   * `evidence` a request made while the pipeline lags still trains on data that is in the offline log.
   */
  TRAINER_WINDOW_ANCHOR: z.enum(['requested_at', 'evidence']).default('requested_at'),
  /** Last fraction of the event-time span used as holdout. */
  TRAINER_HOLDOUT_FRACTION: z.coerce.number().gt(0).lt(1).default(0.2),
  /** Refuse below this many labelled rows (with usable features) in the window. */
  MIN_TRAINING_ROWS: z.coerce.number().int().min(2).default(500),
  /** Refuse when train or holdout has fewer positives (or negatives) than this. */
  TRAINER_MIN_CLASS_ROWS: z.coerce.number().int().min(1).default(5),
  TRAINER_SEED: z.coerce.number().int().default(42),
  TRAINER_EPOCHS: z.coerce.number().int().min(1).max(1000).default(10),
  TRAINER_BATCH_SIZE: z.coerce.number().int().min(1).default(64),
  TRAINER_LEARNING_RATE: z.coerce.number().positive().default(0.01),
  /** Decision threshold written into the bundle (DECLINE at or above), also where precision/recall are measured. */
  TRAINER_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  TRAINER_REVIEW_THRESHOLD: z.coerce.number().min(0).max(1).optional(),
  /** Bins of the baseline histograms (quantile edges). */
  TRAINER_HISTOGRAM_BINS: z.coerce.number().int().min(2).max(1000).default(10),
  /**
   * An automatic (DRIFT/QUALITY) request for a model version already retrained from within this long is answered
   * ALREADY_RETRAINED instead of training a second candidate (one drift can reach several detectors). 0 = off.
   */
  TRAINER_COALESCE_MS: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 60 * 1000),
  TRAINER_CONSUMER_GROUP: z.string().min(1).optional(),
  /** A training run blocks the consumer: the session must outlive it. */
  TRAINER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6_000).default(120_000),
  ML_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
});

export type TrainerConfig = Readonly<z.infer<typeof TrainerEnv>>;

/** The one place the trainer reads its environment; tests pass their own `env`. */
export function loadTrainerConfig(env: NodeJS.ProcessEnv = process.env): TrainerConfig {
  return loadConfig(TrainerEnv, env);
}
