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

const OP_CODES = { count: 0, sum: 1, mean: 2, min: 3, max: 4, stddev: 5 } as const;
const DISTINCT = 6;

/**
 * Everything about a feature set that does not depend on the event, derived once: the columns read, and
 * per window the (op, column) of each output slot in `entityFeatureNames` order. Feature objects are made
 * by a factory compiled from the (fixed) name list, so every vector is one object literal with the same
 * hidden class — computed keys added one by one would turn each vector into a slow dictionary object,
 * which dominated the materializer's CPU profile (building, JSON and Avro encoding of 39-entry maps).
 */
export interface FeaturePlan {
  numeric: readonly NumericField[];
  categorical: readonly string[];
  /** Per window: op code, column index (numeric or categorical) pairs, flattened. */
  windowSlots: readonly Int32Array[];
  lastColumns: readonly (NumericField | null)[];
  /** All feature names (pass-through first), `featureSet.featureNames`. */
  make: (values: ArrayLike<number>) => Record<string, number>;
  /** Entity feature names only, read from values[offset ...]. */
  makeEntity: (values: ArrayLike<number>, offset: number) => Record<string, number>;
  /** Reused output buffer of length featureNames.length (single-threaded: filled and consumed synchronously). */
  scratch: Float64Array;
}

const planCache = new WeakMap<FeatureSet, FeaturePlan>();

function objectFactory(names: readonly string[]) {
  const body = names.map((name, i) => `${JSON.stringify(name)}: v[o + ${i}]`).join(',\n');
  // Names come from the typed definition (JSON-quoted here), never from input data.
  return new Function('v', 'o', `return {\n${body}\n};`) as (v: ArrayLike<number>, o: number) => Record<string, number>;
}

export function featurePlan(featureSet: FeatureSet): FeaturePlan {
  let plan = planCache.get(featureSet);
  if (plan) return plan;
  const numeric = numericFields(featureSet);
  const categorical = categoricalFields(featureSet);
  const windowSlots = featureSet.windows.map(() => {
    const slots: number[] = [];
    for (const aggregate of featureSet.aggregates) {
      if (aggregate.kind === 'distinct') slots.push(DISTINCT, categorical.indexOf(aggregate.field));
      else for (const op of aggregate.ops) slots.push(OP_CODES[op], numeric.indexOf(aggregate.field));
    }
    return Int32Array.from(slots);
  });
  const all = objectFactory(featureSet.featureNames);
  const entity = objectFactory(featureSet.entityFeatureNames);
  plan = {
    numeric,
    categorical,
    windowSlots,
    lastColumns: featureSet.entityFeatures.map((f) => (f.kind === 'last' ? f.field : null)),
    make: (values) => all(values, 0),
    makeEntity: entity,
    scratch: new Float64Array(featureSet.featureNames.length),
  };
  planCache.set(featureSet, plan);
  return plan;
}

// Accumulators per numeric column, reused across calls: count, sum, min, max, mean, m2.
let acc = new Float64Array(0);
const distinctSets: Set<string>[] = [];

/**
 * The entity features as of event time t, written to out[offset ...] in `entityFeatureNames` order: every
 * windowed aggregate over the events in the state with time in (t − w, t], plus last value / seconds since
 * the last event at or before t. One backward pass from t serves all windows, because they are nested and
 * share their right edge. Returns offset + the number of values written.
 */
export function entityFeatureValuesAt(
  featureSet: FeatureSet,
  state: EntityState,
  t: number,
  out: { [i: number]: number },
  offset: number,
): number {
  const plan = featurePlan(featureSet);
  const { numeric, categorical } = plan;
  const times = state.times;
  const end = upperBound(times, t);
  const nf = numeric.length;
  if (acc.length < nf * 6) acc = new Float64Array(nf * 6);
  for (let f = 0; f < nf; f++) {
    const b = f * 6;
    acc[b] = 0;
    acc[b + 1] = 0;
    acc[b + 2] = Infinity;
    acc[b + 3] = -Infinity;
    // Welford's running mean and sum of squared deviations: exact 0 for equal values, stable otherwise.
    acc[b + 4] = 0;
    acc[b + 5] = 0;
  }
  const numColumns = numeric.map((field) => state.num[field]);
  const catColumns = categorical.map((field) => state.cat[field]);
  for (let c = 0; c < categorical.length; c++) {
    if (distinctSets[c]) distinctSets[c].clear();
    else distinctSets[c] = new Set();
  }
  let k = offset;
  let j = end - 1;
  const windows = featureSet.windows;
  for (let w = 0; w < windows.length; w++) {
    const start = t - windows[w].lengthMs;
    for (; j >= 0 && times[j] > start; j--) {
      for (let f = 0; f < nf; f++) {
        const x = numColumns[f][j];
        const b = f * 6;
        const count = ++acc[b];
        acc[b + 1] += x;
        if (x < acc[b + 2]) acc[b + 2] = x;
        if (x > acc[b + 3]) acc[b + 3] = x;
        const delta = x - acc[b + 4];
        acc[b + 4] += delta / count;
        acc[b + 5] += delta * (x - acc[b + 4]);
      }
      for (let c = 0; c < catColumns.length; c++) {
        const v = catColumns[c][j];
        if (v !== null) distinctSets[c].add(v);
      }
    }
    const slots = plan.windowSlots[w];
    for (let i = 0; i < slots.length; i += 2) {
      const op = slots[i];
      const column = slots[i + 1];
      if (op === DISTINCT) {
        out[k++] = distinctSets[column].size;
        continue;
      }
      const b = column * 6;
      const count = acc[b];
      let value: number;
      if (op === OP_CODES.count) value = count;
      else if (op === OP_CODES.sum) value = acc[b + 1];
      else if (count === 0) value = 0;
      else if (op === OP_CODES.mean) value = acc[b + 1] / count;
      else if (op === OP_CODES.min) value = acc[b + 2];
      else if (op === OP_CODES.max) value = acc[b + 3];
      else value = Math.sqrt(acc[b + 5] / count);
      out[k++] = value;
    }
  }
  const last = end - 1;
  for (const field of plan.lastColumns) {
    if (field !== null) out[k++] = last >= 0 ? state.num[field][last] : -1;
    else out[k++] = last >= 0 ? (t - times[last]) / 1000 : -1;
  }
  return k;
}

/** The entity features as of event time t as an object (see entityFeatureValuesAt). */
export function entityFeaturesAt(featureSet: FeatureSet, state: EntityState, t: number): Record<string, number> {
  const plan = featurePlan(featureSet);
  entityFeatureValuesAt(featureSet, state, t, plan.scratch, 0);
  return plan.makeEntity(plan.scratch, 0);
}
