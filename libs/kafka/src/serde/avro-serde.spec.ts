import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { PayloadFormatError, RetriableError, SchemaViolationError, UnknownSchemaError } from '../errors';
import { AvroSerde } from './avro-serde';

const V1 = {
  type: 'record',
  name: 'Tx',
  namespace: 'io.flywheel.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'double' },
  ],
};
// An older writer without `amount` cannot be read by V1 (no default) ...
const OLD = { type: 'record', name: 'Tx', namespace: 'io.flywheel.test', fields: [{ name: 'id', type: 'string' }] };
// ... and a newer writer with an extra field can (V1 ignores it).
const V2 = { ...V1, fields: [...V1.fields, { name: 'note', type: ['null', 'string'], default: null }] };

/** In-memory stand-in for the registry client: ids by subject, schemas by id, 404 for the rest. */
function fakeRegistry(schemasById: Record<number, object>, registerId = 7, failing = false) {
  return {
    register: async () => {
      if (failing) throw Object.assign(new Error('ECONNREFUSED'), { status: 400 });
      return { id: registerId };
    },
    getSchema: async (id: number) => {
      if (failing) throw Object.assign(new Error('ECONNREFUSED'), { status: 400 });
      const schema = schemasById[id];
      if (!schema) throw Object.assign(new Error('Schema not found'), { status: 404 });
      return avro.Type.forSchema(schema as avro.Schema);
    },
  } as unknown as SchemaRegistry;
}

function framed(id: number, schema: object, value: unknown): Buffer {
  const body = avro.Type.forSchema(schema as avro.Schema).toBuffer(value);
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

describe('AvroSerde', () => {
  it('encodes in Confluent wire format and decodes back', async () => {
    const serde = new AvroSerde(fakeRegistry({}), () => V1);
    await serde.register('tx');
    const bytes = serde.encode('tx', { id: 'a', amount: 1.5 });
    expect(bytes[0]).toBe(0);
    expect(bytes.readInt32BE(1)).toBe(7);
    expect(await serde.decode('tx', bytes)).toEqual({ id: 'a', amount: 1.5 });
  });

  it('names the offending field of an invalid value', async () => {
    const serde = new AvroSerde(fakeRegistry({}), () => V1);
    await serde.register('tx');
    const error = (() => {
      try {
        serde.encode('tx', { id: 'a', amount: 'lots' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(SchemaViolationError);
    expect((error as SchemaViolationError).fields).toEqual(['amount']);
  });

  it('resolves a newer compatible writer schema into the reader contract', async () => {
    const serde = new AvroSerde(fakeRegistry({ 9: V2 }), () => V1);
    const value = await serde.decode('tx', framed(9, V2, { id: 'b', amount: 2, note: 'hi' }));
    expect(value).toEqual({ id: 'b', amount: 2 });
  });

  it('classifies what is the message fault and what is transient', async () => {
    const serde = new AvroSerde(fakeRegistry({ 3: OLD }), () => V1);
    await expect(serde.decode('tx', Buffer.from('{"json":true}'))).rejects.toBeInstanceOf(PayloadFormatError);
    await expect(serde.decode('tx', Buffer.from([0, 0]))).rejects.toBeInstanceOf(PayloadFormatError);
    await expect(serde.decode('tx', null)).rejects.toBeInstanceOf(PayloadFormatError);
    await expect(serde.decode('tx', framed(404, V1, { id: 'c', amount: 1 }))).rejects.toBeInstanceOf(
      UnknownSchemaError,
    );
    await expect(serde.decode('tx', framed(3, OLD, { id: 'c' }))).rejects.toBeInstanceOf(SchemaViolationError);
    const truncated = framed(9, V1, { id: 'ccc', amount: 1 }).subarray(0, 7);
    const withV1 = new AvroSerde(fakeRegistry({ 9: V1 }), () => V1);
    await expect(withV1.decode('tx', truncated)).rejects.toBeInstanceOf(PayloadFormatError);

    const down = new AvroSerde(fakeRegistry({}, 7, true), () => V1);
    await expect(down.decode('tx', framed(5, V1, { id: 'd', amount: 1 }))).rejects.toBeInstanceOf(RetriableError);
    await expect(down.register('tx')).rejects.toBeInstanceOf(RetriableError);
  });
});

describe('AvroSerde encoding of large values', () => {
  it('grows its scratch buffer for a value larger than it and still round-trips', async () => {
    const Big = {
      type: 'record',
      name: 'Big',
      namespace: 'io.flywheel.test',
      fields: [{ name: 'blob', type: 'string' }],
    };
    const serde = new AvroSerde(fakeRegistry({}), () => Big);
    await serde.register('big');
    const blob = 'x'.repeat(300_000);
    const bytes = serde.encode('big', { blob });
    expect(await serde.decode('big', bytes)).toEqual({ blob });
    expect(await serde.decode('big', serde.encode('big', { blob: 'small' }))).toEqual({ blob: 'small' });
  });
});
