import { randomUUID } from 'node:crypto';
import { avroTypeFor, EVENT_TYPE_TRANSACTION, failureKinds, schemaFor, topics } from '@flywheel/contracts';
import type { Type } from 'avsc';
import { type BatchItem, isObject, itemByteLength, itemBytes } from './body-decoder';

/** Who sent the batch and where: stamped on every accepted event. */
export interface IngestContext {
  apiKeyId: string;
  producer: string;
  instance: string;
  receivedTime: number;
  maxEventBytes: number;
}

export interface AcceptedEvent {
  ok: true;
  index: number;
  type: string;
  /** Catalog topic (unprefixed). */
  topic: string;
  key: string;
  eventId: string;
  value: Record<string, unknown>;
}

export interface RejectedEvent {
  ok: false;
  index: number;
  /** Event type when known, for metrics ('unknown' otherwise). */
  type: string;
  /** Catalog topic whose DLQ gets the item. */
  topic: string;
  key: string | null;
  eventId: string | null;
  kind: string;
  reason: string;
  field?: string;
  bytes: Buffer;
}

export type ValidatedEvent = AcceptedEvent | RejectedEvent;

/** How a JSON event type maps onto its contract. */
interface EventTypeSpec {
  topic: string;
  /** Fields the collector sets; a producer sending one is rejected (it would be silently overwritten). */
  stamped: (ctx: IngestContext) => Record<string, unknown>;
  /** Fields given a value when absent. */
  defaults: (ctx: IngestContext) => Record<string, unknown>;
  /** Whether the collector may assign event_id (a label's event_id names the labelled transaction). */
  assignsEventId: boolean;
}

export const EVENT_TYPES: Readonly<Record<string, EventTypeSpec>> = {
  [EVENT_TYPE_TRANSACTION]: {
    topic: topics.eventsRaw,
    stamped: (ctx) => ({
      event_type: EVENT_TYPE_TRANSACTION,
      received_time: ctx.receivedTime,
      source: `${ctx.producer}@${ctx.instance}`,
      api_key_id: ctx.apiKeyId,
    }),
    defaults: () => ({}),
    assignsEventId: true,
  },
  label: {
    topic: topics.labels,
    stamped: () => ({}),
    defaults: (ctx) => ({ source: ctx.producer }),
    assignsEventId: false,
  },
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

interface FieldInfo {
  name: string;
  nullable: boolean;
  timestamp: boolean;
  floating: boolean;
}

const fieldInfoCache = new Map<string, { fields: FieldInfo[]; known: Set<string>; type: Type }>();

function contractOf(topic: string) {
  let entry = fieldInfoCache.get(topic);
  if (!entry) {
    const fields = schemaFor(topic).fields.map((field) => {
      const branches = Array.isArray(field.type) ? field.type : [field.type];
      const nonNull = branches.filter((b) => b !== 'null');
      const base = nonNull[0] as unknown;
      const baseType = typeof base === 'string' ? base : (base as { type?: string })?.type;
      const logical = typeof base === 'object' && base ? (base as { logicalType?: string }).logicalType : undefined;
      return {
        name: field.name,
        nullable: branches.includes('null'),
        timestamp: logical === 'timestamp-millis',
        floating: baseType === 'double' || baseType === 'float',
      };
    });
    entry = { fields, known: new Set(fields.map((f) => f.name)), type: avroTypeFor(topic) };
    fieldInfoCache.set(topic, entry);
  }
  return entry;
}

/**
 * A type's stamped fields and defaults depend only on the request, so they are built once per request (per
 * IngestContext) rather than once per event.
 */
const perRequest = new WeakMap<
  IngestContext,
  Map<EventTypeSpec, { stamped: Record<string, unknown>; defaults: Record<string, unknown> }>
>();

function requestFieldsOf(spec: EventTypeSpec, ctx: IngestContext) {
  let bySpec = perRequest.get(ctx);
  if (!bySpec) {
    bySpec = new Map();
    perRequest.set(ctx, bySpec);
  }
  let fields = bySpec.get(spec);
  if (!fields) {
    fields = { stamped: spec.stamped(ctx), defaults: spec.defaults(ctx) };
    bySpec.set(spec, fields);
  }
  return fields;
}

class Rejection extends Error {
  constructor(
    readonly kind: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/**
 * Turns one JSON item into a contract record (or a rejection naming the failing field). Pure apart from
 * randomUUID; `seenIds` holds the event ids already accepted in this batch, per topic.
 */
export function validateEvent(item: BatchItem, ctx: IngestContext, seenIds: Set<string>): ValidatedEvent {
  const value = item.value;
  const obj = isObject(value) ? value : undefined;
  const typeName = typeof obj?.type === 'string' ? obj.type : undefined;
  const spec = typeName !== undefined ? EVENT_TYPES[typeName] : undefined;
  const rawId = typeof obj?.event_id === 'string' ? obj.event_id : null;
  const key = typeof obj?.account_id === 'string' && obj.account_id !== '' ? obj.account_id : null;
  const reject = (kind: string, reason: string, field?: string): RejectedEvent => ({
    ok: false,
    index: item.index,
    type: spec ? (typeName as string) : 'unknown',
    topic: spec?.topic ?? topics.eventsRaw,
    key,
    eventId: rawId,
    kind,
    reason,
    field,
    bytes: itemBytes(item),
  });

  if (item.parseError !== undefined) return reject(failureKinds.payloadFormat, item.parseError);
  const byteLength = itemByteLength(item);
  if (byteLength > ctx.maxEventBytes) {
    return reject(failureKinds.size, `event is ${byteLength} bytes; the limit is ${ctx.maxEventBytes}`);
  }
  if (!obj) return reject(failureKinds.schemaViolation, `event must be a JSON object, got ${jsonType(value)}`);
  if (typeName === undefined) {
    return reject(
      failureKinds.schemaViolation,
      obj.type === undefined ? 'missing required field' : `expected string, got ${jsonType(obj.type)}`,
      'type',
    );
  }
  if (!spec) {
    return reject(
      failureKinds.schemaViolation,
      `unknown event type '${typeName.slice(0, 64)}'; known: ${Object.keys(EVENT_TYPES).join(', ')}`,
      'type',
    );
  }
  try {
    const record = toRecord(obj, spec, ctx);
    const eventId = record.event_id as string;
    const dedupeKey = `${spec.topic}\u0000${eventId}`;
    if (seenIds.has(dedupeKey)) {
      throw new Rejection(failureKinds.schemaViolation, 'duplicate event_id within this batch', 'event_id');
    }
    seenIds.add(dedupeKey);
    return {
      ok: true,
      index: item.index,
      type: typeName,
      topic: spec.topic,
      key: record.account_id as string,
      eventId,
      value: record,
    };
  } catch (error) {
    if (error instanceof Rejection) return reject(error.kind, error.message, error.field);
    throw error;
  }
}

function toRecord(obj: Record<string, unknown>, spec: EventTypeSpec, ctx: IngestContext): Record<string, unknown> {
  const { fields, known, type } = contractOf(spec.topic);
  const { stamped, defaults } = requestFieldsOf(spec, ctx);
  for (const name of Object.keys(obj)) {
    if (name === 'type') continue;
    if (name in stamped) throw new Rejection(failureKinds.schemaViolation, 'field is set by the collector', name);
    if (!known.has(name)) {
      throw new Rejection(failureKinds.schemaViolation, 'unknown field (producer extras go in attributes)', name);
    }
  }
  const record: Record<string, unknown> = {};
  for (const field of fields) {
    if (field.name in stamped) {
      record[field.name] = stamped[field.name];
      continue;
    }
    let value = obj[field.name];
    if (value === undefined && field.name === 'event_id' && spec.assignsEventId) value = randomUUID();
    if (value === undefined && field.name in defaults) value = defaults[field.name];
    if (value === undefined) {
      if (!field.nullable) throw new Rejection(failureKinds.schemaViolation, 'missing required field', field.name);
      value = null;
    }
    if (field.name === 'event_id') {
      if (typeof value !== 'string' || !UUID.test(value)) {
        throw new Rejection(failureKinds.schemaViolation, `expected a UUID, got ${describe(value)}`, 'event_id');
      }
      value = value.toLowerCase();
    }
    if (field.timestamp && value !== null) value = toEpochMillis(value, field.name);
    if (field.floating && typeof value === 'number' && !Number.isFinite(value)) {
      throw new Rejection(failureKinds.schemaViolation, 'expected a finite number', field.name);
    }
    record[field.name] = value;
  }
  if (typeof record.account_id === 'string' && record.account_id === '') {
    throw new Rejection(failureKinds.schemaViolation, 'must not be empty (it is the entity key)', 'account_id');
  }
  // The plain check is the fast one; only an invalid record pays for the error hook that names the field.
  if (!type.isValid(record)) {
    let failure: { path: string; expected: string; got: unknown } | undefined;
    type.isValid(record, {
      errorHook: (path: string[], got: unknown, expected: Type) => {
        failure ??= { path: path.join('.'), expected: typeLabel(expected), got };
      },
    });
    const f = failure ?? { path: '', expected: 'a valid record', got: undefined };
    throw new Rejection(failureKinds.schemaViolation, `expected ${f.expected}, got ${describe(f.got)}`, f.path);
  }
  return record;
}

function toEpochMillis(value: unknown, field: string): unknown {
  if (typeof value === 'string') {
    const millis = ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(millis)) {
      throw new Rejection(
        failureKinds.schemaViolation,
        `expected epoch millis or an ISO-8601 date-time with zone, got ${describe(value)}`,
        field,
      );
    }
    return millis;
  }
  if (typeof value === 'number' && (!Number.isSafeInteger(value) || value < 0)) {
    throw new Rejection(
      failureKinds.schemaViolation,
      `expected epoch millis (a non-negative integer), got ${value}`,
      field,
    );
  }
  return value;
}

function typeLabel(type: Type): string {
  const t = type as Type & { symbols?: string[]; typeName?: string };
  if (t.symbols) return `one of ${t.symbols.join('|')}`;
  if (t.typeName === 'union:unwrapped' || t.typeName === 'union:wrapped') {
    return (t as unknown as { types: Type[] }).types.map(typeLabel).join(' or ');
  }
  return t.typeName ?? t.name ?? 'a valid value';
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function describe(value: unknown): string {
  const json = JSON.stringify(value);
  const shown = json === undefined ? String(value) : json.length > 40 ? `${json.slice(0, 40)}…` : json;
  return `${jsonType(value)} ${shown}`;
}
