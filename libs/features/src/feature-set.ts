import { createHash } from 'node:crypto';
import { RISK_TIERS } from '@flywheel/contracts';

/**
 * THE feature definitions of Flywheel: one typed, declarative object. Everything that changes a feature
 * value lives here (windows, aggregates, encodings, allowed lateness) and is hashed into the version, so
 * editing a definition yields a new `feature_set_version` and a model can never be fed features it was
 * not trained on. Definitions are data (no functions), which is what makes the hash stable across builds.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Numeric fields of EnrichedEvent an aggregate can read. */
export type NumericField = 'amount_base' | 'amount';
/** Fields whose distinct values can be counted. */
export type CategoricalField = 'merchant_id' | 'merchant_category' | 'currency' | 'device_id' | 'ip_country';

export type NumericOp = 'count' | 'sum' | 'mean' | 'min' | 'max' | 'stddev';

export interface WindowDef {
  /** Suffix of the feature names, e.g. '1h'. */
  name: string;
  /** Length; the window of an aggregate at time t is (t - lengthMs, t] in event time. */
  lengthMs: number;
}

/** count/sum/mean/min/max/stddev (population) of a numeric field per window; empty window → 0. */
export interface NumericAggregateDef {
  kind: 'numeric';
  /** Feature name prefix, e.g. 'amount' → amount_sum_1h. `count` is named `<prefix>_count_<window>`. */
  name: string;
  field: NumericField;
  ops: readonly NumericOp[];
}

/** Number of distinct non-null values of a field per window, e.g. distinct merchants. */
export interface DistinctAggregateDef {
  kind: 'distinct';
  name: string;
  field: CategoricalField;
}

export type WindowedAggregateDef = NumericAggregateDef | DistinctAggregateDef;

/** Not windowed: the latest value before t, and the seconds since that event (both -1 without history). */
export type EntityFeatureDef =
  | { kind: 'last'; name: string; field: NumericField }
  | { kind: 'seconds_since_last'; name: string };

/** How a field of the enriched event becomes a double. Missing (null) inputs get `missing`, never NaN. */
export type Encoding =
  | { kind: 'number'; missing: number }
  | { kind: 'bool' }
  | { kind: 'ordinal'; values: readonly string[]; missing: number };

export interface PassThroughDef {
  name: string;
  field: keyof import('@flywheel/contracts').EnrichedEvent;
  encoding: Encoding;
}

export interface FeatureSetDefinition {
  name: string;
  /** Field of the enriched event the aggregates are keyed by (it is also the Kafka message key). */
  entityField: 'account_id';
  /**
   * An event whose event_time is older than (newest event time seen for its entity − allowedLatenessMs)
   * is late: not counted, dead-lettered as `late-event`. Younger out-of-order events are inserted in order.
   */
  allowedLatenessMs: number;
  /** Ascending by length. */
  windows: readonly WindowDef[];
  aggregates: readonly WindowedAggregateDef[];
  entityFeatures: readonly EntityFeatureDef[];
  passThrough: readonly PassThroughDef[];
}

export interface FeatureSet extends FeatureSetDefinition {
  /** Hash of the canonical JSON of the definition (first 16 hex chars of sha256). */
  version: string;
  /** Every feature name a vector carries, in a stable order. */
  featureNames: readonly string[];
  /** Names of the entity (aggregate) features, i.e. what the online store serves. */
  entityFeatureNames: readonly string[];
  /** History kept per entity: the largest window plus the allowed lateness. */
  retentionMs: number;
}

export const paymentsFraudDefinition: FeatureSetDefinition = {
  name: 'payments-fraud',
  entityField: 'account_id',
  allowedLatenessMs: HOUR,
  windows: [
    { name: '10m', lengthMs: 10 * MINUTE },
    { name: '1h', lengthMs: HOUR },
    { name: '24h', lengthMs: DAY },
    { name: '7d', lengthMs: 7 * DAY },
  ],
  aggregates: [
    { kind: 'numeric', name: 'amount', field: 'amount_base', ops: ['count', 'sum', 'mean', 'min', 'max', 'stddev'] },
    { kind: 'distinct', name: 'merchants', field: 'merchant_id' },
  ],
  entityFeatures: [
    { kind: 'last', name: 'last_amount', field: 'amount_base' },
    { kind: 'seconds_since_last', name: 'seconds_since_last_event' },
  ],
  passThrough: [
    { name: 'amount_base', field: 'amount_base', encoding: { kind: 'number', missing: 0 } },
    { name: 'is_foreign', field: 'is_foreign', encoding: { kind: 'bool' } },
    { name: 'card_present', field: 'card_present', encoding: { kind: 'bool' } },
    { name: 'hour_of_day', field: 'hour_of_day', encoding: { kind: 'number', missing: -1 } },
    { name: 'account_age_days', field: 'account_age_days', encoding: { kind: 'number', missing: -1 } },
    { name: 'account_known', field: 'account_known', encoding: { kind: 'bool' } },
    { name: 'merchant_known', field: 'merchant_known', encoding: { kind: 'bool' } },
    // LOW=0, MEDIUM=1, HIGH=2, unknown merchant=-1
    {
      name: 'merchant_risk_tier',
      field: 'merchant_risk_tier',
      encoding: { kind: 'ordinal', values: RISK_TIERS, missing: -1 },
    },
    { name: 'channel', field: 'channel', encoding: { kind: 'ordinal', values: ['pos', 'ecom', 'atm'], missing: -1 } },
  ],
};

/** Canonical JSON: object keys sorted, so the hash does not depend on property order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

export function featureSetVersion(definition: FeatureSetDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex').slice(0, 16);
}

export function windowedFeatureName(aggregate: WindowedAggregateDef, op: NumericOp | 'distinct', window: WindowDef) {
  return `${aggregate.name}_${op}_${window.name}`;
}

/** Validates a definition and derives its version and feature names. */
export function defineFeatureSet(definition: FeatureSetDefinition): FeatureSet {
  const windows = definition.windows;
  if (windows.length === 0) throw new Error('a feature set needs at least one window');
  for (let i = 1; i < windows.length; i++) {
    if (windows[i].lengthMs <= windows[i - 1].lengthMs) throw new Error('windows must be ascending by length');
  }
  if (!(definition.allowedLatenessMs >= 0)) throw new Error('allowedLatenessMs must be >= 0');
  const entityFeatureNames: string[] = [];
  for (const window of windows) {
    for (const aggregate of definition.aggregates) {
      const ops = aggregate.kind === 'numeric' ? aggregate.ops : (['distinct'] as const);
      for (const op of ops) entityFeatureNames.push(windowedFeatureName(aggregate, op, window));
    }
  }
  for (const feature of definition.entityFeatures) entityFeatureNames.push(feature.name);
  const featureNames = [...definition.passThrough.map((p) => p.name), ...entityFeatureNames];
  const duplicates = featureNames.filter((name, i) => featureNames.indexOf(name) !== i);
  if (duplicates.length > 0) throw new Error(`duplicate feature names: ${duplicates.join(', ')}`);
  return Object.freeze({
    ...definition,
    version: featureSetVersion(definition),
    featureNames,
    entityFeatureNames,
    retentionMs: windows[windows.length - 1].lengthMs + definition.allowedLatenessMs,
  });
}

/** The same definition with another allowed lateness (a different feature set version). */
export function withAllowedLateness(featureSet: FeatureSetDefinition, allowedLatenessMs: number): FeatureSet {
  const { name, entityField, windows, aggregates, entityFeatures, passThrough } = featureSet;
  return defineFeatureSet({ name, entityField, allowedLatenessMs, windows, aggregates, entityFeatures, passThrough });
}

/** The feature set the services use. */
export const paymentsFraud: FeatureSet = defineFeatureSet(paymentsFraudDefinition);
