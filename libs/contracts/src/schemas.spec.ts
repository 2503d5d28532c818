import { readdirSync } from 'node:fs';
import { Type } from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  assertCanRead,
  avroTypeFor,
  loadSchemaFiles,
  SCHEMAS_DIR,
  schemaFor,
  schemaTextFor,
  subjectFor,
} from './schemas';
import { allTopicSpecs, topics } from './topics';

type Field = { name: string; type: unknown; doc?: string; default?: unknown };
type Named = { type: string; name?: string; fields?: Field[]; items?: unknown; values?: unknown; logicalType?: string };

/** Every field of every record in a schema, with its path. */
function* fieldsOf(node: unknown, path: string): Generator<[string, Field]> {
  if (Array.isArray(node)) {
    for (const branch of node) yield* fieldsOf(branch, path);
  } else if (node && typeof node === 'object') {
    const n = node as Named;
    if (n.type === 'record' && n.fields) {
      for (const f of n.fields) {
        yield [`${path}.${f.name}`, f];
        yield* fieldsOf(f.type, `${path}.${f.name}`);
      }
    } else if (n.type === 'array') yield* fieldsOf(n.items, path);
    else if (n.type === 'map') yield* fieldsOf(n.values, path);
  }
}

const files = [...loadSchemaFiles().entries()];

describe('schemas', () => {
  it('finds every .avsc file in schemas/', () => {
    expect(files.map(([f]) => f).sort()).toEqual(
      readdirSync(SCHEMAS_DIR)
        .filter((f) => f.endsWith('.avsc'))
        .sort(),
    );
    expect(files.length).toBeGreaterThan(0);
  });

  it.each(files)('%s parses with avsc, no logical-type implementations needed', (_file, schema) => {
    expect(() => Type.forSchema(schema as never, { assertLogicalTypes: false, registry: {} })).not.toThrow();
  });

  it('every schema file belongs to a catalog topic', () => {
    const used = new Set(allTopicSpecs().map((s) => s.valueSchema));
    expect(files.map(([f]) => f).filter((f) => !used.has(f))).toEqual([]);
  });

  it.each(files)('%s: namespace io.flywheel.<domain>, every record and field documented', (_file, schema) => {
    expect(schema.namespace).toMatch(/^io\.flywheel\.[a-z]+$/);
    expect(schema.doc).toBeTruthy();
    for (const [path, field] of fieldsOf(schema, schema.name)) expect(field.doc, path).toBeTruthy();
  });

  it.each(files)('%s: nullable fields are ["null", T] with default null (evolvable)', (_file, schema) => {
    for (const [path, field] of fieldsOf(schema, schema.name)) {
      if (!Array.isArray(field.type)) continue;
      expect(field.type[0], path).toBe('null');
      expect(field.type, path).toHaveLength(2);
      expect(field.default, path).toBeNull();
    }
  });

  it.each(files)('%s: times are long timestamp-millis, ids are uuid strings', (_file, schema) => {
    const timeName = /(_time|_timestamp|_at|^start|^end|_start|_end)$/;
    for (const [path, field] of fieldsOf(schema, schema.name)) {
      const t = (Array.isArray(field.type) ? field.type[1] : field.type) as Named | string;
      if (timeName.test(field.name)) expect(t, path).toEqual({ type: 'long', logicalType: 'timestamp-millis' });
      if (typeof t === 'object' && t.logicalType === 'timestamp-millis') expect(field.name, path).toMatch(timeName);
      if (
        /^(event|change|request|report|alert|run|retrain_request)_id$/.test(field.name) &&
        schema.name !== 'DeadLetter'
      ) {
        expect(t, path).toEqual({ type: 'string', logicalType: 'uuid' });
      }
    }
  });

  it('EnrichedEvent starts with exactly the RawEvent fields', () => {
    const rawFields = schemaFor(topics.eventsRaw).fields;
    expect(schemaFor(topics.eventsEnriched).fields.slice(0, rawFields.length)).toEqual(rawFields);
  });

  it('predictions and shadow predictions share one schema and one cached Type', () => {
    expect(schemaFor(topics.predictionsShadow)).toEqual(schemaFor(topics.predictions));
    expect(avroTypeFor(topics.predictionsShadow)).toBe(avroTypeFor(topics.predictions));
    expect(avroTypeFor(topics.predictions)).toBe(avroTypeFor(topics.predictions));
  });

  it('resolves prefixed and DLQ topics, and returns copies', () => {
    expect(avroTypeFor('t-1.events.raw.v1').name).toBe('io.flywheel.payments.RawEvent');
    expect(avroTypeFor('t-1.events.raw.v1.dlq').name).toBe('io.flywheel.ops.DeadLetter');
    const copy = schemaFor(topics.labels) as { doc?: string };
    copy.doc = 'changed';
    expect(schemaFor(topics.labels).doc).not.toBe('changed');
    expect(JSON.parse(schemaTextFor(topics.labels))).toEqual(schemaFor(topics.labels));
    expect(() => schemaFor('unknown.v1')).toThrow(/unknown topic/);
  });

  it('plugs into libs/kafka as a SchemaResolver', () => {
    const resolver: (topic: string) => Record<string, unknown> = schemaFor;
    expect(resolver(topics.alerts).name).toBe('Alert');
  });

  it('names subjects with TopicNameStrategy', () => {
    expect(subjectFor(topics.eventsRaw)).toBe('events.raw.v1-value');
    expect(subjectFor('t-1.events.raw.v1.dlq')).toBe('t-1.events.raw.v1.dlq-value');
  });

  it('evolution rule: an optional field with a default is BACKWARD compatible, a required one is not', () => {
    const current = schemaFor(topics.labels);
    const withOptional = {
      ...current,
      fields: [...current.fields, { name: 'x', type: ['null', 'string'], default: null, doc: 'x' }],
    };
    const withRequired = { ...current, fields: [...current.fields, { name: 'x', type: 'string', doc: 'x' }] };
    expect(() => assertCanRead(withOptional, current)).not.toThrow();
    expect(() => assertCanRead(withRequired, current)).toThrow();
    // and forward: old readers ignore the new field
    expect(() => assertCanRead(current, withOptional)).not.toThrow();
  });
});
