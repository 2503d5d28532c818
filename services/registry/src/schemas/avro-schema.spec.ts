import { describe, expect, it } from 'vitest';
import { type AvroRegistry, AvroSchemaError, canonicalForm, parseAvroSchema, schemaFingerprint } from './avro-schema';

const payment = {
  type: 'record',
  name: 'Payment',
  namespace: 'flywheel.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: { type: 'long' } },
    { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: ['WEB', 'APP'] } },
    { name: 'previous', type: ['null', 'Channel'], default: null },
  ],
};

describe('parseAvroSchema', () => {
  it('ignores whitespace, key order, {"type": "long"} vs "long" and short vs full names', () => {
    const reordered = {
      fields: [
        { type: 'string', name: 'id' },
        { name: 'amount', type: 'long' },
        { name: 'channel', type: { symbols: ['WEB', 'APP'], name: 'flywheel.test.Channel', type: 'enum' } },
        { default: null, type: ['null', 'flywheel.test.Channel'], name: 'previous' },
      ],
      name: 'flywheel.test.Payment',
      type: 'record',
    };
    const a = parseAvroSchema(JSON.stringify(payment, null, 2));
    const b = parseAvroSchema(JSON.stringify(reordered));
    expect(a.canonical).toBe(b.canonical);
    expect(a.canonical).not.toContain(' ');
    expect(JSON.parse(a.canonical).name).toBe('flywheel.test.Payment');
  });

  it('keeps what changes resolution: defaults, aliases, enum defaults, logical types, order', () => {
    const base = parseAvroSchema(JSON.stringify(payment)).canonical;
    const variants = [
      { ...payment, fields: [...payment.fields.slice(0, 3), { ...payment.fields[3], aliases: ['prev'] }] },
      { ...payment, fields: [{ name: 'id', type: 'string', default: '' }, ...payment.fields.slice(1)] },
      {
        ...payment,
        fields: [
          payment.fields[0],
          { name: 'amount', type: { type: 'long', logicalType: 'timestamp-millis' } },
          ...payment.fields.slice(2),
        ],
      },
      {
        ...payment,
        fields: [
          ...payment.fields.slice(0, 2),
          { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: ['WEB', 'APP'], default: 'WEB' } },
          payment.fields[3],
        ],
      },
      { ...payment, fields: [{ name: 'id', type: 'string', order: 'descending' }, ...payment.fields.slice(1)] },
    ];
    for (const variant of variants) expect(parseAvroSchema(JSON.stringify(variant)).canonical).not.toBe(base);
  });

  it('qualifies names in the enclosing namespace, and aliases of named types in their own', () => {
    const canonical = JSON.parse(
      canonicalForm({
        type: 'record',
        name: 'Outer',
        namespace: 'a',
        aliases: ['Old'],
        fields: [
          {
            name: 'inner',
            type: { type: 'record', name: 'Inner', namespace: 'b', fields: [{ name: 'x', type: 'Leaf' }] },
          },
          { name: 'list', type: { type: 'array', items: 'Inner' } },
        ],
      }),
    );
    expect(canonical.name).toBe('a.Outer');
    expect(canonical.aliases).toEqual(['a.Old']);
    expect(canonical.fields[0].type.name).toBe('b.Inner');
    expect(canonical.fields[0].type.fields[0].type).toBe('b.Leaf');
    expect(canonical.fields[1].type.items).toBe('a.Inner');
  });

  it('rejects what Avro rejects, with the reason', () => {
    const invalid: Array<[string, RegExp]> = [
      ['{not json', /not valid JSON/],
      ['"Nope"', /undefined type name/],
      ['{"type": "recrd", "name": "R", "fields": []}', /unknown type/],
      ['{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int", "default": "x"}]}', /default/],
      [
        '{"type": "record", "name": "R", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}',
        /duplicate/,
      ],
      ['{"type": "enum", "name": "E", "symbols": ["A", "A"]}', /duplicate/],
      ['{"type": "record", "name": "1R", "fields": []}', /invalid name/],
    ];
    for (const [text, reason] of invalid) {
      expect(() => parseAvroSchema(text), text).toThrow(AvroSchemaError);
      expect(() => parseAvroSchema(text), text).toThrow(reason);
    }
  });

  it('accepts primitive schemas', () => {
    expect(parseAvroSchema('"string"').canonical).toBe('"string"');
    expect(parseAvroSchema('{"type": "string"}').canonical).toBe('"string"');
  });

  it('resolves referenced types through the registry it is given', () => {
    const registry: AvroRegistry = {};
    parseAvroSchema(
      '{"type": "record", "name": "Address", "namespace": "x", "fields": [{"name": "city", "type": "string"}]}',
      registry,
    );
    const person = parseAvroSchema(
      '{"type": "record", "name": "Person", "namespace": "x", "fields": [{"name": "home", "type": "Address"}]}',
      registry,
    );
    expect(person.type.toBuffer({ home: { city: 'Lyon' } }).length).toBeGreaterThan(0);
    expect(() =>
      parseAvroSchema('{"type": "record", "name": "P", "fields": [{"name": "home", "type": "x.Address"}]}'),
    ).toThrow(/undefined type name/);
  });
});

describe('schemaFingerprint', () => {
  it('depends on the canonical form and on the references', () => {
    const canonical = parseAvroSchema(JSON.stringify(payment)).canonical;
    const ref = { name: 'x.Address', subject: 'address', version: 1 };
    expect(schemaFingerprint(canonical, [])).toBe(schemaFingerprint(canonical, []));
    expect(schemaFingerprint(canonical, [])).toMatch(/^[0-9a-f]{64}$/);
    expect(schemaFingerprint(canonical, [ref])).not.toBe(schemaFingerprint(canonical, []));
    expect(schemaFingerprint(canonical, [ref])).not.toBe(schemaFingerprint(canonical, [{ ...ref, version: 2 }]));
  });
});
