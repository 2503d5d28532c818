import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import {
  COMPATIBILITY_LEVELS,
  type CompatibilityLevel,
  cannotRead,
  checkCompatibility,
  parseCompatibilityLevel,
  versionsToCheck,
} from './compatibility';

const type = (schema: unknown) => avro.Type.forSchema(schema as avro.Schema);
const record = (fields: unknown[], extra: Record<string, unknown> = {}) =>
  type({ type: 'record', name: 'Payment', namespace: 'flywheel.test', fields, ...extra });

const v1 = record([
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'int' },
]);
const withOptionalCurrency = record([
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'int' },
  { name: 'currency', type: 'string', default: 'EUR' },
]);
const withRequiredCurrency = record([
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'int' },
  { name: 'currency', type: 'string' },
]);
const withoutAmount = record([{ name: 'id', type: 'string' }]);
const amountLong = record([
  { name: 'id', type: 'string' },
  { name: 'amount', type: 'long' },
]);

const history = (...types: avro.Type[]) => types.map((t, i) => ({ version: i + 1, type: t }));
const compatible = (level: CompatibilityLevel, candidate: avro.Type, ...previous: avro.Type[]) =>
  checkCompatibility(level, candidate, history(...previous)).isCompatible;

describe('checkCompatibility: records', () => {
  it('adding a field with a default is backward and forward compatible', () => {
    expect(compatible('BACKWARD', withOptionalCurrency, v1)).toBe(true);
    expect(compatible('FORWARD', withOptionalCurrency, v1)).toBe(true);
    expect(compatible('FULL', withOptionalCurrency, v1)).toBe(true);
  });

  it('adding a field without a default breaks backward (old data has no value for it) but not forward', () => {
    const result = checkCompatibility('BACKWARD', withRequiredCurrency, history(v1));
    expect(result.isCompatible).toBe(false);
    expect(result.messages).toHaveLength(1);
    expect(result.messages[0]).toContain('version 1');
    expect(result.messages[0]).toContain('currency');
    expect(compatible('FORWARD', withRequiredCurrency, v1)).toBe(true);
    expect(compatible('FULL', withRequiredCurrency, v1)).toBe(false);
  });

  it('removing a field without a default breaks forward (old readers need it) but not backward', () => {
    expect(compatible('BACKWARD', withoutAmount, v1)).toBe(true);
    const result = checkCompatibility('FORWARD', withoutAmount, history(v1));
    expect(result.isCompatible).toBe(false);
    expect(result.messages[0]).toMatch(/version 1 cannot read data written with the new schema/);
    expect(result.messages[0]).toContain('amount');
  });

  it('removing a field that had a default is forward compatible: old readers fill the default', () => {
    const before = record([
      { name: 'id', type: 'string' },
      { name: 'note', type: ['null', 'string'], default: null },
    ]);
    const after = record([{ name: 'id', type: 'string' }]);
    expect(compatible('FULL', after, before)).toBe(true);
  });

  it('int → long is a promotion: backward compatible, not forward', () => {
    expect(compatible('BACKWARD', amountLong, v1)).toBe(true);
    expect(compatible('FORWARD', amountLong, v1)).toBe(false);
  });

  it('changing a field to an unrelated type is incompatible both ways', () => {
    const amountString = record([
      { name: 'id', type: 'string' },
      { name: 'amount', type: 'boolean' },
    ]);
    expect(compatible('BACKWARD', amountString, v1)).toBe(false);
    expect(compatible('FORWARD', amountString, v1)).toBe(false);
  });

  it('renaming a field needs an alias', () => {
    const renamed = record([
      { name: 'id', type: 'string' },
      { name: 'cents', type: 'int' },
    ]);
    const aliased = record([
      { name: 'id', type: 'string' },
      { name: 'cents', type: 'int', aliases: ['amount'] },
    ]);
    expect(compatible('BACKWARD', renamed, v1)).toBe(false);
    expect(compatible('BACKWARD', aliased, v1)).toBe(true);
  });

  it('renaming the record needs an alias; a namespace change alone is fine (as in Avro Java)', () => {
    const fields = [
      { name: 'id', type: 'string' },
      { name: 'amount', type: 'int' },
    ];
    const renamed = type({ type: 'record', name: 'Transfer', namespace: 'flywheel.test', fields });
    const aliased = type({
      type: 'record',
      name: 'Transfer',
      namespace: 'flywheel.test',
      aliases: ['Payment'],
      fields,
    });
    const moved = type({ type: 'record', name: 'Payment', namespace: 'flywheel.other', fields });
    expect(compatible('BACKWARD', renamed, v1)).toBe(false);
    expect(compatible('BACKWARD', aliased, v1)).toBe(true);
    expect(compatible('FULL', moved, v1)).toBe(true);
  });

  it('checks nested records field by field', () => {
    const outer = (inner: unknown[]) =>
      record([{ name: 'merchant', type: { type: 'record', name: 'Merchant', fields: inner } }]);
    const before = outer([{ name: 'id', type: 'string' }]);
    expect(
      compatible('BACKWARD', outer([...[{ name: 'id', type: 'string' }], { name: 'mcc', type: 'int' }]), before),
    ).toBe(false);
    expect(
      compatible(
        'BACKWARD',
        outer([
          { name: 'id', type: 'string' },
          { name: 'mcc', type: 'int', default: 0 },
        ]),
        before,
      ),
    ).toBe(true);
  });
});

describe('checkCompatibility: enums, unions, collections, primitives', () => {
  const enumOf = (symbols: string[], extra: Record<string, unknown> = {}) =>
    type({ type: 'enum', name: 'Channel', symbols, ...extra });

  it('adding an enum symbol is backward compatible, not forward (old readers do not know it)', () => {
    expect(compatible('BACKWARD', enumOf(['WEB', 'APP', 'POS']), enumOf(['WEB', 'APP']))).toBe(true);
    expect(compatible('FORWARD', enumOf(['WEB', 'APP', 'POS']), enumOf(['WEB', 'APP']))).toBe(false);
  });

  it('removing an enum symbol breaks backward unless the reader has an enum default', () => {
    expect(compatible('BACKWARD', enumOf(['WEB']), enumOf(['WEB', 'APP']))).toBe(false);
    expect(compatible('BACKWARD', enumOf(['WEB', 'OTHER'], { default: 'OTHER' }), enumOf(['WEB', 'APP']))).toBe(true);
  });

  it('a union can read each of its branches, not the reverse', () => {
    expect(compatible('BACKWARD', type(['null', 'string']), type('string'))).toBe(true);
    expect(compatible('BACKWARD', type('string'), type(['null', 'string']))).toBe(false);
    expect(compatible('BACKWARD', type(['null', 'string', 'int']), type(['null', 'string']))).toBe(true);
    expect(compatible('BACKWARD', type(['null', 'string']), type(['null', 'string', 'int']))).toBe(false);
    expect(compatible('BACKWARD', type(['null', 'long']), type('int'))).toBe(true);
  });

  it('promotes inside arrays and maps', () => {
    expect(compatible('BACKWARD', type({ type: 'array', items: 'long' }), type({ type: 'array', items: 'int' }))).toBe(
      true,
    );
    expect(compatible('BACKWARD', type({ type: 'map', values: 'int' }), type({ type: 'map', values: 'long' }))).toBe(
      false,
    );
  });

  it('follows the Avro promotions and nothing else', () => {
    expect(compatible('BACKWARD', type('double'), type('float'))).toBe(true);
    expect(compatible('BACKWARD', type('float'), type('long'))).toBe(true);
    expect(compatible('BACKWARD', type('bytes'), type('string'))).toBe(true);
    expect(compatible('BACKWARD', type('string'), type('bytes'))).toBe(true);
    expect(compatible('BACKWARD', type('int'), type('long'))).toBe(false);
    expect(compatible('BACKWARD', type('string'), type('int'))).toBe(false);
  });

  it('a fixed must keep its size', () => {
    const fixed = (size: number) => type({ type: 'fixed', name: 'Hash', size });
    expect(compatible('FULL', fixed(16), fixed(16))).toBe(true);
    expect(compatible('BACKWARD', fixed(32), fixed(16))).toBe(false);
  });
});

describe('checkCompatibility: levels', () => {
  it('NONE accepts anything, and so does any level for a first version', () => {
    expect(compatible('NONE', type('string'), record([]))).toBe(true);
    for (const level of COMPATIBILITY_LEVELS) expect(compatible(level, withRequiredCurrency)).toBe(true);
  });

  it('non-transitive levels check only the latest version; transitive ones every version', () => {
    // v1 has no currency, v2 adds it with a default, v3 makes it required: v3 reads v2 data, not v1 data.
    const previous = [v1, withOptionalCurrency];
    expect(compatible('BACKWARD', withRequiredCurrency, ...previous)).toBe(true);
    const transitive = checkCompatibility('BACKWARD_TRANSITIVE', withRequiredCurrency, history(...previous));
    expect(transitive.isCompatible).toBe(false);
    expect(transitive.messages).toHaveLength(1);
    expect(transitive.messages[0]).toContain('version 1');
  });

  it('FULL_TRANSITIVE reports every failing version and direction', () => {
    const result = checkCompatibility('FULL_TRANSITIVE', type('string'), history(v1, withOptionalCurrency));
    expect(result.isCompatible).toBe(false);
    expect(result.messages).toHaveLength(4);
  });

  it('versionsToCheck picks what a registration is checked against', () => {
    expect(versionsToCheck('NONE', [1, 2, 3])).toEqual([]);
    expect(versionsToCheck('FORWARD', [1, 2, 3])).toEqual([3]);
    expect(versionsToCheck('FULL_TRANSITIVE', [1, 2, 3])).toEqual([1, 2, 3]);
    expect(versionsToCheck('BACKWARD', [])).toEqual([]);
  });

  it('parses levels case-insensitively and rejects anything else', () => {
    expect(parseCompatibilityLevel('backward_transitive')).toBe('BACKWARD_TRANSITIVE');
    expect(parseCompatibilityLevel('FULL')).toBe('FULL');
    expect(parseCompatibilityLevel('SOMETIMES')).toBeUndefined();
    expect(parseCompatibilityLevel(3)).toBeUndefined();
    expect(parseCompatibilityLevel(undefined)).toBeUndefined();
  });
});

describe('cannotRead agrees with what decoding actually does', () => {
  it('a reader with an added defaulted field decodes old data and fills the default', () => {
    expect(cannotRead(withOptionalCurrency, v1)).toBeUndefined();
    const resolver = withOptionalCurrency.createResolver(v1, { ignoreNamespaces: true });
    const bytes = v1.toBuffer({ id: 'p-1', amount: 42 });
    expect(withOptionalCurrency.fromBuffer(bytes, resolver)).toEqual({ id: 'p-1', amount: 42, currency: 'EUR' });
  });

  it('a promoted field decodes to the wider type; a dropped field is skipped', () => {
    const bytes = v1.toBuffer({ id: 'p-2', amount: 7 });
    expect(amountLong.fromBuffer(bytes, amountLong.createResolver(v1))).toEqual({ id: 'p-2', amount: 7 });
    expect(withoutAmount.fromBuffer(bytes, withoutAmount.createResolver(v1))).toEqual({ id: 'p-2' });
  });

  it('an enum default absorbs symbols the reader does not know', () => {
    const writer = type({ type: 'enum', name: 'Channel', symbols: ['WEB', 'APP'] });
    const reader = type({ type: 'enum', name: 'Channel', symbols: ['WEB', 'OTHER'], default: 'OTHER' });
    expect(reader.fromBuffer(writer.toBuffer('APP'), reader.createResolver(writer))).toBe('OTHER');
  });

  it('explains a failure in avsc words', () => {
    expect(cannotRead(withRequiredCurrency, v1)).toMatch(/currency/);
  });
});
