import type { EnrichedEvent } from '@flywheel/contracts';
import type { FeatureSet, NumericField } from './feature-set';

/**
 * The history of one entity within the retention horizon, columnar (compact as jsonb), sorted by event
 * time ascending; events with equal times keep their arrival order. This is exactly what is needed for
 * exact sliding aggregates over (t − w, t] for any accepted t, and nothing more.
 */
export interface EntityState {
  entity: string;
  /** Newest event time accepted for this entity (the entity's watermark); null before the first event. */
  maxEventTime: number | null;
  times: number[];
  ids: string[];
  /** One column per numeric field an aggregate or entity feature reads. */
  num: Record<string, number[]>;
  /** One column per categorical field a distinct-count reads. */
  cat: Record<string, (string | null)[]>;
}

export function emptyEntityState(featureSet: FeatureSet, entity: string): EntityState {
  const num: Record<string, number[]> = {};
  const cat: Record<string, (string | null)[]> = {};
  for (const field of numericFields(featureSet)) num[field] = [];
  for (const field of categoricalFields(featureSet)) cat[field] = [];
  return { entity, maxEventTime: null, times: [], ids: [], num, cat };
}

const numericFieldCache = new WeakMap<FeatureSet, NumericField[]>();
const categoricalFieldCache = new WeakMap<FeatureSet, string[]>();

export function numericFields(featureSet: FeatureSet): NumericField[] {
  let fields = numericFieldCache.get(featureSet);
  if (!fields) {
    const set = new Set<NumericField>();
    for (const a of featureSet.aggregates) if (a.kind === 'numeric') set.add(a.field);
    for (const f of featureSet.entityFeatures) if (f.kind === 'last') set.add(f.field);
    fields = [...set].sort();
    numericFieldCache.set(featureSet, fields);
  }
  return fields;
}

export function categoricalFields(featureSet: FeatureSet): string[] {
  let fields = categoricalFieldCache.get(featureSet);
  if (!fields) {
    const set = new Set<string>();
    for (const a of featureSet.aggregates) if (a.kind === 'distinct') set.add(a.field);
    fields = [...set].sort();
    categoricalFieldCache.set(featureSet, fields);
  }
  return fields;
}

/** First index whose time is > t (events at exactly t come before it). */
export function upperBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** True when the event is older than the entity's watermark minus the allowed lateness. */
export function isLate(featureSet: FeatureSet, state: EntityState, eventTime: number): boolean {
  return state.maxEventTime !== null && eventTime < state.maxEventTime - featureSet.allowedLatenessMs;
}

export function hasEvent(state: EntityState, eventId: string): boolean {
  return state.ids.includes(eventId);
}

/**
 * Inserts an accepted event in event-time order (after any event with the same time), advances the
 * watermark, and evicts what no accepted event can ever need again: an accepted event has
 * t ≥ watermark − lateness, so its largest window starts after watermark − lateness − maxWindow.
 */
export function insertEvent(featureSet: FeatureSet, state: EntityState, event: EnrichedEvent): void {
  const t = event.event_time;
  const at = upperBound(state.times, t);
  state.times.splice(at, 0, t);
  state.ids.splice(at, 0, event.event_id);
  for (const field of Object.keys(state.num)) state.num[field].splice(at, 0, event[field as NumericField]);
  for (const field of Object.keys(state.cat)) {
    const value = event[field as keyof EnrichedEvent];
    state.cat[field].splice(at, 0, value === null || value === undefined ? null : String(value));
  }
  if (state.maxEventTime === null || t > state.maxEventTime) state.maxEventTime = t;
  const horizon = state.maxEventTime - featureSet.retentionMs;
  const evict = upperBound(state.times, horizon);
  if (evict > 0) {
    state.times.splice(0, evict);
    state.ids.splice(0, evict);
    for (const column of Object.values(state.num)) column.splice(0, evict);
    for (const column of Object.values(state.cat)) column.splice(0, evict);
  }
}

interface Accumulator {
  count: number;
  sum: number;
  min: number;
  max: number;
  // Welford's running mean and sum of squared deviations: exact 0 for equal values, stable otherwise.
  mean: number;
  m2: number;
}

/**
 * The entity features as of event time t: every windowed aggregate over the events in the state with
 * time in (t − w, t], plus last value / seconds since the last event at or before t. One backward pass
 * from t serves all windows, because they are nested and share their right edge.
 */
export function entityFeaturesAt(featureSet: FeatureSet, state: EntityState, t: number): Record<string, number> {
  const out: Record<string, number> = {};
  const end = upperBound(state.times, t);
  const numeric = numericFields(featureSet);
  const categorical = categoricalFields(featureSet);
  const acc: Record<string, Accumulator> = {};
  for (const field of numeric) acc[field] = { count: 0, sum: 0, min: Infinity, max: -Infinity, mean: 0, m2: 0 };
  const distinct: Record<string, Set<string>> = {};
  for (const field of categorical) distinct[field] = new Set();

  let j = end - 1;
  for (const window of featureSet.windows) {
    const start = t - window.lengthMs;
    for (; j >= 0 && state.times[j] > start; j--) {
      for (const field of numeric) {
        const x = state.num[field][j];
        const a = acc[field];
        a.count++;
        a.sum += x;
        if (x < a.min) a.min = x;
        if (x > a.max) a.max = x;
        const delta = x - a.mean;
        a.mean += delta / a.count;
        a.m2 += delta * (x - a.mean);
      }
      for (const field of categorical) {
        const v = state.cat[field][j];
        if (v !== null) distinct[field].add(v);
      }
    }
    for (const aggregate of featureSet.aggregates) {
      if (aggregate.kind === 'distinct') {
        out[`${aggregate.name}_distinct_${window.name}`] = distinct[aggregate.field].size;
        continue;
      }
      const a = acc[aggregate.field];
      for (const op of aggregate.ops) {
        out[`${aggregate.name}_${op}_${window.name}`] = numericOp(op, a);
      }
    }
  }
  const last = end - 1;
  for (const feature of featureSet.entityFeatures) {
    if (feature.kind === 'last') out[feature.name] = last >= 0 ? state.num[feature.field][last] : -1;
    else out[feature.name] = last >= 0 ? (t - state.times[last]) / 1000 : -1;
  }
  return out;
}

function numericOp(op: string, a: Accumulator): number {
  if (op === 'count') return a.count;
  if (op === 'sum') return a.sum;
  if (a.count === 0) return 0;
  switch (op) {
    case 'mean':
      return a.sum / a.count;
    case 'min':
      return a.min;
    case 'max':
      return a.max;
    case 'stddev':
      return Math.sqrt(a.m2 / a.count);
    default:
      throw new Error(`unknown aggregate op ${op}`);
  }
}
