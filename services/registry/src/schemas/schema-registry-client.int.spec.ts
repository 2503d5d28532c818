import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, schemaBody } from '../../test/registry-http';
import { type RegistryTestApp, startRegistryTestApp } from '../../test/registry-test-app';

/** Contract test: the client every Flywheel service uses (via libs/kafka) works against this registry. */
describe('schema registry with @kafkajs/confluent-schema-registry', () => {
  let registry: RegistryTestApp;
  let client: SchemaRegistry;

  const subject = 'flywheel.test.payments-value';
  const v1 = {
    type: 'record',
    name: 'Payment',
    namespace: 'flywheel.test',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'amount', type: 'int' },
      { name: 'channel', type: { type: 'enum', name: 'Channel', symbols: ['WEB', 'APP'] } },
    ],
  };
  const v2 = { ...v1, fields: [...v1.fields, { name: 'currency', type: 'string', default: 'EUR' }] };
  const incompatible = { ...v1, fields: [...v1.fields, { name: 'merchant', type: 'string' }] };
  const asConfluent = (schema: unknown) => ({ type: SchemaType.AVRO as const, schema: JSON.stringify(schema) });

  beforeAll(async () => {
    // The harness's Postgres when the integration global setup ran; local Postgres otherwise.
    registry = await startRegistryTestApp({ serverUrl: inject('databaseUrl') });
    client = new SchemaRegistry({ host: registry.url, retry: { retries: 0 } });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('registers, and registering again returns the same id', async () => {
    const { id } = await client.register(asConfluent(v1), { subject });
    expect(id).toBeGreaterThan(0);
    // The client set the subject's level after the first registration (GET /config/{subject} was a 404).
    expect(await call(registry.url, 'GET', `/config/${subject}`)).toMatchObject({
      status: 200,
      body: { compatibilityLevel: 'BACKWARD' },
    });
    // The second time it reads the level back, checks it, and gets the existing id.
    expect(await client.register(asConfluent(v1), { subject })).toEqual({ id });
  });

  it('encodes in Confluent wire format and decodes with a client that has never seen the schema', async () => {
    const id = await client.getLatestSchemaId(subject);
    const value = { id: 'p-1', amount: 1250, channel: 'APP' };
    const encoded = await client.encode(id, value);
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);
    const fresh = new SchemaRegistry({ host: registry.url, retry: { retries: 0 } });
    expect(await fresh.decode(encoded)).toEqual(value);
    const schema = (await fresh.getSchema(id)) as { name?: string };
    expect(schema.name).toBe('flywheel.test.Payment');
  });

  it('rejects a backward-incompatible schema with 409', async () => {
    await expect(client.register(asConfluent(incompatible), { subject })).rejects.toThrow(/incompatible/i);
    const response = await call(registry.url, 'POST', `/subjects/${subject}/versions`, schemaBody(incompatible));
    expect(response.status).toBe(409);
    expect(response.body.error_code).toBe(409);
    expect(response.body.message).toContain('merchant');
    expect((await call(registry.url, 'GET', `/subjects/${subject}/versions`)).body).toEqual([1]);
  });

  it('accepts a compatible evolution as version 2 with a new id, and old messages still decode', async () => {
    const firstId = await client.getLatestSchemaId(subject);
    const oldMessage = await client.encode(firstId, { id: 'p-2', amount: 5, channel: 'WEB' });
    const { id } = await client.register(asConfluent(v2), { subject });
    expect(id).not.toBe(firstId);
    expect(await client.getLatestSchemaId(subject)).toBe(id);
    const latest = await call(registry.url, 'GET', `/subjects/${subject}/versions/latest`);
    expect(latest.body).toMatchObject({ subject, id, version: 2 });
    expect(await client.decode(oldMessage)).toEqual({ id: 'p-2', amount: 5, channel: 'WEB' });
    expect(
      await client.decode(await client.encode(id, { id: 'p-3', amount: 9, channel: 'WEB', currency: 'USD' })),
    ).toEqual({ id: 'p-3', amount: 9, channel: 'WEB', currency: 'USD' });
  });
});
