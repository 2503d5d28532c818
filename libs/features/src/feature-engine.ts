import type { EnrichedEvent, FeatureVector } from '@flywheel/contracts';
import {
  type EntityState,
  emptyEntityState,
  entityFeaturesAt,
  entityFeatureValuesAt,
  featurePlan,
  hasEvent,
  insertEvent,
  isLate,
  numericFields,
} from './entity-state';
import type { Encoding, FeatureSet } from './feature-set';

/** What happened to one event. */
export type EventOutcome =
  /** Counted; `vector` holds its pass-through fields + the entity's features as of its time, before it. */
  | { kind: 'vector'; vector: FeatureVector }
  /** Older than the entity's watermark − allowed lateness: not counted, goes to the DLQ (late-event). */
  | { kind: 'late'; reason: string }
  /** Its event_id is already in the entity's history (an upstream redelivery): not counted twice. */
  | { kind: 'duplicate' }
  /** Cannot be featurized (missing entity key, NaN amount ...): DLQ with the reason. */
  | { kind: 'invalid'; reason: string };

/**
 * Why an event cannot be featurized, or null. `messageKey` is the Kafka key: state is partitioned by
 * it, so it must equal the entity field (else one entity's state would live on two partitions).
 */
export function invalidReason(featureSet: FeatureSet, event: EnrichedEvent, messageKey?: string | null): string | null {
  const entity = event[featureSet.entityField];
  if (typeof entity !== 'string' || entity.trim() === '') return `missing entity key ${featureSet.entityField}`;
  if (messageKey !== undefined && messageKey !== null && messageKey !== entity) {
    return `message key '${messageKey}' differs from ${featureSet.entityField} '${entity}'`;
  }
  if (typeof event.event_id !== 'string' || event.event_id === '') return 'missing event_id';
  if (!Number.isFinite(event.event_time) || event.event_time <= 0) return `event_time is ${event.event_time}`;
  for (const field of numericFields(featureSet)) {
    const value = event[field];
    if (typeof value !== 'number' || !Number.isFinite(value)) return `${field} is ${value} (not a finite number)`;
  }
  for (const p of featureSet.passThrough) {
    const value = event[p.field];
    if (p.encoding.kind === 'number' && value !== null && (typeof value !== 'number' || !Number.isFinite(value))) {
      return `${p.field} is ${value} (not a finite number)`;
    }
  }
  return null;
}

export function encode(encoding: Encoding, value: unknown): number {
  switch (encoding.kind) {
    case 'bool':
      return value === true ? 1 : 0;
    case 'number':
      return value === null || value === undefined ? encoding.missing : (value as number);
    case 'ordinal': {
      if (value === null || value === undefined) return encoding.missing;
      const index = encoding.values.indexOf(String(value));
      return index < 0 ? encoding.missing : index;
    }
  }
}

export function passThroughFeatures(featureSet: FeatureSet, event: EnrichedEvent): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of featureSet.passThrough) out[p.name] = encode(p.encoding, event[p.field]);
  return out;
}

/**
 * The one rule, used by the materializer and by anything that recomputes features for training:
 * an event's vector = its pass-through fields + its entity's aggregates as of its event time, computed
 * from the state BEFORE the event is added (windows (t − w, t] over the events accepted earlier with
 * time ≤ t). The event never sees itself, so a label-time join cannot leak the outcome into the input,
 * and serving (score a new event from what is known before it) matches training exactly.
 *
 * Mutates `state` (inserts the accepted event); returns what to emit.
 */
export function applyEvent(
  featureSet: FeatureSet,
  state: EntityState,
  event: EnrichedEvent,
  messageKey?: string | null,
): EventOutcome {
  const invalid = invalidReason(featureSet, event, messageKey);
  if (invalid) return { kind: 'invalid', reason: invalid };
  if (isLate(featureSet, state, event.event_time)) {
    return {
      kind: 'late',
      reason: `event_time ${event.event_time} is more than ${featureSet.allowedLatenessMs} ms older than the newest event of ${state.entity} (${state.maxEventTime})`,
    };
  }
  if (hasEvent(state, event.event_id)) return { kind: 'duplicate' };
  const plan = featurePlan(featureSet);
  const values = plan.scratch;
  const passThrough = featureSet.passThrough;
  for (let i = 0; i < passThrough.length; i++) values[i] = encode(passThrough[i].encoding, event[passThrough[i].field]);
  entityFeatureValuesAt(featureSet, state, event.event_time, values, passThrough.length);
  const features = plan.make(values);
  insertEvent(featureSet, state, event);
  return {
    kind: 'vector',
    vector: {
      event_id: event.event_id,
      entity: state.entity,
      event_time: event.event_time,
      feature_set: featureSet.name,
      feature_set_version: featureSet.version,
      features,
    },
  };
}

/** What the online store serves: the entity features as of its newest event, that event included. */
export function onlineFeatures(featureSet: FeatureSet, state: EntityState): Record<string, number> | null {
  if (state.maxEventTime === null) return null;
  return entityFeaturesAt(featureSet, state, state.maxEventTime);
}

/** Recomputes vectors for an entity's events in arrival order from scratch (training backfills, tests). */
export function replayEntity(
  featureSet: FeatureSet,
  entity: string,
  events: Iterable<EnrichedEvent>,
): { outcomes: EventOutcome[]; state: EntityState } {
  const state = emptyEntityState(featureSet, entity);
  const outcomes: EventOutcome[] = [];
  for (const event of events) outcomes.push(applyEvent(featureSet, state, event));
  return { outcomes, state };
}
