import { describe, expect, it } from 'vitest';
import { isTrue, parseCompatibilityBody, parseSchemaId, parseSchemaRequest, parseVersion } from './requests';
import { SchemaRegistryError } from './schema-registry.errors';

function errorOf(fn: () => unknown): SchemaRegistryError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SchemaRegistryError) return error;
    throw error;
  }
  throw new Error('expected a SchemaRegistryError');
}

describe('parseSchemaRequest', () => {
  it('accepts what Confluent clients send', () => {
    expect(parseSchemaRequest({ schema: '"string"' })).toEqual({ schema: '"string"', references: [] });
    expect(parseSchemaRequest({ schema: '"string"', schemaType: 'AVRO', references: null })).toEqual({
      schema: '"string"',
      references: [],
    });
    expect(
      parseSchemaRequest({ schema: '"x.A"', references: [{ name: 'x.A', subject: 'a', version: 1 }] }).references,
    ).toEqual([{ name: 'x.A', subject: 'a', version: 1 }]);
  });

  it('rejects other schema types with 42201 and a clear message', () => {
    const error = errorOf(() => parseSchemaRequest({ schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }));
    expect(error.status).toBe(422);
    expect(error.errorCode).toBe(42201);
    expect(error.message).toContain('PROTOBUF is not supported');
  });

  it('rejects a missing, empty or non-string schema with 42201', () => {
    for (const body of [undefined, {}, { schema: '' }, { schema: { type: 'string' } }, 'text']) {
      expect(errorOf(() => parseSchemaRequest(body)).errorCode).toBe(42201);
    }
  });
});

describe('parseVersion', () => {
  it('accepts 1..2^31-1, latest and -1', () => {
    expect(parseVersion('1')).toBe(1);
    expect(parseVersion('2147483647')).toBe(2147483647);
    expect(parseVersion('latest')).toBe('latest');
    expect(parseVersion('-1')).toBe('latest');
  });

  it('rejects anything else with 42202', () => {
    for (const raw of ['0', '2147483648', 'abc', '1.5', '-2', '']) {
      const error = errorOf(() => parseVersion(raw));
      expect(error.errorCode, raw).toBe(42202);
      expect(error.status).toBe(422);
    }
  });
});

describe('parseSchemaId', () => {
  it('turns ids that cannot exist into 40403', () => {
    expect(parseSchemaId('12')).toBe(12);
    for (const raw of ['0', 'x', '99999999999']) expect(errorOf(() => parseSchemaId(raw)).errorCode).toBe(40403);
  });
});

describe('parseCompatibilityBody', () => {
  it('reads {"compatibility"} case-insensitively and answers 42203 otherwise', () => {
    expect(parseCompatibilityBody({ compatibility: 'full_transitive' })).toBe('FULL_TRANSITIVE');
    for (const body of [{ compatibility: 'SOMETIMES' }, {}, undefined, { compatibilityLevel: 'FULL' }]) {
      const error = errorOf(() => parseCompatibilityBody(body));
      expect(error.errorCode).toBe(42203);
      expect(error.status).toBe(422);
    }
  });
});

describe('isTrue', () => {
  it('only "true" is true', () => {
    expect(isTrue('true')).toBe(true);
    expect(isTrue('TRUE')).toBe(true);
    expect(isTrue('1')).toBe(false);
    expect(isTrue(undefined)).toBe(false);
  });
});
