/**
 * TypeScript shapes of the Avro records in ../schemas, written by hand to match them field for field
 * (types.spec.ts fails when a schema and its interface drift apart).
 *
 * Value mapping, as avsc decodes with `avroTypeOptions` (see schemas.ts):
 * - `long` with logicalType `timestamp-millis` → `EpochMillis` (a plain number). The logical type is
 *   deliberately NOT registered with avsc, so times are numbers everywhere in the mesh (no Date objects
 *   that JSON, Postgres drivers and arithmetic each treat differently). Convert at the edges.
 * - `string` with logicalType `uuid` → `Uuid` (a plain string).
 * - `long` → number (avsc throws for values beyond 2^53, far above any offset or count here).
 * - `bytes` → Buffer; `map<T>` → `Record<string, T>`; a `["null", T]` union → `T | null` (unwrapped).
 * - nullable fields are `T | null`, never optional: a decoded record always has every field, and
 *   writing code must decide on each value.
 */

import type { CatalogTopicName, DlqTopicName, TopicName } from './topics';
import { topics } from './topics';

/** Epoch milliseconds, UTC (Avro long, logicalType timestamp-millis). */
export type EpochMillis = number;
/** A UUID in its canonical string form (Avro string, logicalType uuid). */
export type Uuid = string;

// ---------------------------------------------------------------------------------------------------
// Enums. Each const array lists the Avro enum symbols in schema order (types.spec.ts checks it).

export const CHANNELS = ['pos', 'ecom', 'atm'] as const;
export type Channel = (typeof CHANNELS)[number];

export const RISK_TIERS = ['LOW', 'MEDIUM', 'HIGH'] as const;
export type RiskTier = (typeof RISK_TIERS)[number];

export const DECISIONS = ['APPROVE', 'REVIEW', 'DECLINE'] as const;
export type Decision = (typeof DECISIONS)[number];

export const MODEL_CHANGES = ['REGISTERED', 'STAGE_CHANGED', 'ALIAS_SET', 'ALIAS_REMOVED'] as const;
export type ModelChange = (typeof MODEL_CHANGES)[number];

export const MODEL_STAGES = ['None', 'Staging', 'Production', 'Archived'] as const;
export type ModelStage = (typeof MODEL_STAGES)[number];

export const RETRAIN_REASONS = ['DRIFT', 'QUALITY', 'MANUAL', 'SCHEDULE'] as const;
export type RetrainReason = (typeof RETRAIN_REASONS)[number];

export const ALERT_STATUSES = ['FIRING', 'RESOLVED'] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

// ---------------------------------------------------------------------------------------------------
// Open sets: plain strings in Avro (so a new value needs no schema change); known values as constants.

export const EVENT_TYPE_TRANSACTION = 'transaction';

/** DeadLetter.failure_kind values the mesh uses. Consumers must tolerate others. */
export const failureKinds = {
  /** Bytes are not what the topic promises (not Avro / bad magic byte / not JSON at ingest). */
  payloadFormat: 'payload-format',
  /** Decodes, but violates the schema or a semantic rule (unknown schema id, missing field, bad value). */
  schemaViolation: 'schema-violation',
  /** Too large (request item or record over the limit). */
  size: 'size',
  /** Producer not allowed to write this (bad/revoked API key, wrong tenant). */
  auth: 'auth',
  /** enrichment-api could not enrich (reference lookup failed beyond retries, conversion rate missing). */
  enrichment: 'enrichment',
  /** feature-materializer could not compute the vector. */
  feature: 'feature',
  /** Event older than the allowed lateness for its windows. */
  lateEvent: 'late-event',
  /** stream-inference could not score (model error, NaN score). */
  inference: 'inference',
  /** Input does not match what the model expects (feature-set version or feature names). */
  modelMismatch: 'model-mismatch',
  /** A dependency did not answer in time, after all retries. */
  timeout: 'timeout',
  /** Anything else: a bug. */
  internal: 'internal',
} as const;
export type KnownFailureKind = (typeof failureKinds)[keyof typeof failureKinds];
const knownFailureKinds: ReadonlySet<string> = new Set(Object.values(failureKinds));
export function isKnownFailureKind(kind: string): kind is KnownFailureKind {
  return knownFailureKinds.has(kind);
}

/** TrainRefused.reason_code values the trainer uses. Consumers must tolerate others. */
export const trainRefusalReasons = {
  insufficientRows: 'INSUFFICIENT_ROWS',
  insufficientPositives: 'INSUFFICIENT_POSITIVES',
  noLabels: 'NO_LABELS',
  duplicateRequest: 'DUPLICATE_REQUEST',
  /** An automatic request for a model version this trainer already retrained from moments ago (coalesced). */
  alreadyRetrained: 'ALREADY_RETRAINED',
  trainingFailed: 'TRAINING_FAILED',
  notBetterThanProduction: 'NOT_BETTER_THAN_PRODUCTION',
} as const;
export type KnownTrainRefusalReason = (typeof trainRefusalReasons)[keyof typeof trainRefusalReasons];

/** Alert.severity values, as in Prometheus alert rules. */
export const alertSeverities = { critical: 'critical', warning: 'warning', info: 'info' } as const;
export type KnownAlertSeverity = (typeof alertSeverities)[keyof typeof alertSeverities];

// ---------------------------------------------------------------------------------------------------
// io.flywheel.payments

/** events.raw.v1 — raw-event.avsc */
export interface RawEvent {
  event_id: Uuid;
  event_type: string;
  event_time: EpochMillis;
  received_time: EpochMillis;
  source: string;
  api_key_id: string | null;
  account_id: string;
  merchant_id: string;
  amount: number;
  currency: string;
  channel: Channel;
  card_present: boolean;
  device_id: string | null;
  ip_country: string | null;
  attributes: Record<string, string> | null;
}

/** labels.v1 — label.avsc */
export interface Label {
  event_id: Uuid;
  account_id: string;
  is_fraud: boolean;
  label_time: EpochMillis;
  source: string;
  reason: string | null;
}

/** reference.accounts.v1 — account.avsc */
export interface Account {
  account_id: string;
  home_country: string;
  opened_at: EpochMillis;
  segment: string;
  updated_at: EpochMillis;
}

/** reference.merchants.v1 — merchant.avsc */
export interface Merchant {
  merchant_id: string;
  mcc: string;
  category: string;
  risk_tier: RiskTier;
  country: string;
  updated_at: EpochMillis;
}

/** events.enriched.v1 — enriched-event.avsc: every RawEvent field, then enrichment. */
export interface EnrichedEvent extends RawEvent {
  enriched_time: EpochMillis;
  account_known: boolean;
  account_home_country: string | null;
  account_opened_at: EpochMillis | null;
  account_segment: string | null;
  merchant_known: boolean;
  merchant_mcc: string | null;
  merchant_category: string | null;
  merchant_risk_tier: RiskTier | null;
  merchant_country: string | null;
  base_currency: string;
  amount_base: number;
  is_foreign: boolean;
  hour_of_day: number;
  account_age_days: number | null;
}

// ---------------------------------------------------------------------------------------------------
// io.flywheel.features

/** features.vectors.v1 — feature-vector.avsc */
export interface FeatureVector {
  event_id: Uuid;
  entity: string;
  event_time: EpochMillis;
  feature_set: string;
  feature_set_version: string;
  features: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------------
// io.flywheel.inference

/** predictions.v1 and predictions.shadow.v1 — prediction.avsc */
export interface Prediction {
  event_id: Uuid;
  entity: string;
  event_time: EpochMillis;
  scored_time: EpochMillis;
  score: number;
  decision: Decision;
  threshold: number;
  review_threshold: number | null;
  model_name: string;
  model_version: number;
  feature_set_version: string;
  latency_ms: number;
  instance: string;
}

// ---------------------------------------------------------------------------------------------------
// io.flywheel.models

export interface ModelVersionRef {
  version: number;
  artifact_uri: string;
  artifact_sha256: string;
  feature_set_version: string;
}

/** models.lifecycle.v1 — model-lifecycle.avsc */
export interface ModelLifecycle {
  change_id: Uuid;
  model_name: string;
  version: number;
  change: ModelChange;
  from_stage: ModelStage | null;
  to_stage: ModelStage | null;
  alias: string | null;
  aliases: Record<string, number>;
  production_version: number | null;
  production: ModelVersionRef | null;
  artifact_uri: string;
  artifact_sha256: string;
  feature_set_version: string;
  actor: string;
  reason: string | null;
  changed_at: EpochMillis;
}

/** counts[i] counts values in [bin_edges[i], bin_edges[i+1]); outer bins are open-ended. */
export interface Histogram {
  name: string;
  bin_edges: number[];
  counts: number[];
}

export interface Baseline {
  features: Histogram[];
  score: Histogram;
}

/** models.trained.v1 — model-trained.avsc */
export interface ModelTrained {
  run_id: Uuid;
  model_name: string;
  artifact_uri: string;
  artifact_sha256: string;
  artifact_size_bytes: number;
  feature_set_version: string;
  feature_names: string[];
  metrics: Record<string, number>;
  production_version: number | null;
  production_metrics: Record<string, number> | null;
  baseline: Baseline;
  training_window_start: EpochMillis;
  training_window_end: EpochMillis;
  parent_version: number | null;
  retrain_request_id: Uuid | null;
  trained_at: EpochMillis;
}

export interface Evidence {
  detector: string;
  feature: string | null;
  statistic: string;
  value: number;
  threshold: number;
  window_start: EpochMillis;
  window_end: EpochMillis;
  samples: number;
}

/** models.retrain-requested.v1 — retrain-requested.avsc */
export interface RetrainRequested {
  request_id: Uuid;
  model_name: string;
  model_version: number;
  requested_at: EpochMillis;
  requested_by: string;
  reason: RetrainReason;
  evidence: Evidence[];
}

/** models.train-refused.v1 — train-refused.avsc */
export interface TrainRefused {
  request_id: Uuid;
  model_name: string;
  /** KnownTrainRefusalReason or a newer code. */
  reason_code: string;
  message: string;
  rows: number;
  positives: number;
  refused_at: EpochMillis;
}

// ---------------------------------------------------------------------------------------------------
// io.flywheel.monitor

export interface Window {
  start: EpochMillis;
  end: EpochMillis;
  samples: number;
}

export interface FeatureDrift {
  feature: string;
  psi: number;
  ks_statistic: number;
  ks_p_value: number | null;
  chi2: number | null;
  js: number | null;
  drifted: boolean;
}

export interface ScoreDrift {
  psi: number;
  ks_statistic: number;
  ks_p_value: number | null;
  drifted: boolean;
}

export interface Quality {
  auc: number | null;
  precision: number | null;
  recall: number | null;
  ece: number;
  labelled_samples: number;
  positives: number;
}

/** monitor.drift.v1 — drift-report.avsc */
export interface DriftReport {
  report_id: Uuid;
  model_name: string;
  model_version: number;
  window: Window;
  features: FeatureDrift[];
  score: ScoreDrift;
  quality: Quality | null;
  emitted_at: EpochMillis;
}

// ---------------------------------------------------------------------------------------------------
// io.flywheel.ops

export interface Header {
  key: string;
  value: Buffer | null;
}

/** every `<topic>.dlq` — dead-letter.avsc */
export interface DeadLetter {
  original_topic: string;
  original_partition: number | null;
  original_offset: number | null;
  original_timestamp: EpochMillis | null;
  original_key: Buffer | null;
  original_value: Buffer | null;
  original_headers: Header[];
  /** KnownFailureKind or a newer kind. */
  failure_kind: string;
  error_class: string;
  error_message: string;
  stage: string;
  attempts: number;
  first_failure_time: EpochMillis;
  last_failure_time: EpochMillis;
  event_id: string | null;
}

/** alerts.v1 — alert.avsc */
export interface Alert {
  alert_id: Uuid;
  fingerprint: string;
  rule: string;
  status: AlertStatus;
  /** KnownAlertSeverity or another label value. */
  severity: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  starts_at: EpochMillis;
  ends_at: EpochMillis | null;
  value: number;
}

// ---------------------------------------------------------------------------------------------------
// Topic → value type, for typed producers and handlers: `send<T extends TopicName>(t: T, v: TopicValue<T>)`.

export interface TopicValueMap {
  [topics.eventsRaw]: RawEvent;
  [topics.eventsEnriched]: EnrichedEvent;
  [topics.labels]: Label;
  [topics.referenceAccounts]: Account;
  [topics.referenceMerchants]: Merchant;
  [topics.featureVectors]: FeatureVector;
  [topics.predictions]: Prediction;
  [topics.predictionsShadow]: Prediction;
  [topics.predictionsBatch]: Prediction;
  [topics.modelsLifecycle]: ModelLifecycle;
  [topics.modelsTrained]: ModelTrained;
  [topics.modelsRetrainRequested]: RetrainRequested;
  [topics.modelsTrainRefused]: TrainRefused;
  [topics.monitorDrift]: DriftReport;
  [topics.alerts]: Alert;
}

/** Value type of a catalog topic; every DLQ carries a DeadLetter. */
export type TopicValue<T extends CatalogTopicName> = T extends TopicName
  ? TopicValueMap[T]
  : T extends DlqTopicName
    ? DeadLetter
    : never;
