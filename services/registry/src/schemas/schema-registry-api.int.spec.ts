import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { call, type RegistryResponse, SR_CONTENT_TYPE, schemaBody } from '../../test/registry-http';
import { type RegistryTestApp, startRegistryTestApp } from '../../test/registry-test-app';

const record = (name: string, fields: unknown[]) => ({ type: 'record', name, namespace: 'flywheel.api', fields });
const user = record('User', [{ name: 'id', type: 'string' }]);
const userWithEmail = record('User', [
  { name: 'id', type: 'string' },
  { name: 'email', type: ['null', 'string'], default: null },
]);
const userWithRequiredAge = record('User', [
  { name: 'id', type: 'string' },
  { name: 'age', type: 'int' },
]);

function expectError(response: RegistryResponse, status: number, errorCode: number): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body.error_code).toBe(errorCode);
  expect(typeof response.body.message).toBe('string');
}

describe('schema registry HTTP API', () => {
  let registry: RegistryTestApp;
  let counter = 0;
  /** A subject no other test touches. */
  const freshSubject = (label: string) => `${label}-${++counter}-value`;
  const http = (method: string, path: string, body?: unknown, contentType?: string) =>
    call(registry.url, method, path, body, contentType);
  const register = (subject: string, schema: unknown) =>
    http('POST', `/subjects/${encodeURIComponent(subject)}/versions`, schemaBody(schema));

  beforeAll(async () => {
    // The harness's Postgres when the integration global setup ran; local Postgres otherwise.
    registry = await startRegistryTestApp({ serverUrl: inject('databaseUrl') });
  });

  afterAll(async () => {
    await registry?.stop();
  });

  describe('content types', () => {
    it('accepts the vendor media types and application/json, and answers with the v1 vendor type', async () => {
      const subject = freshSubject('media');
      const ids = [];
      for (const type of [
        'application/vnd.schemaregistry.v1+json',
        'application/vnd.schemaregistry+json',
        'application/json',
      ]) {
        const response = await http('POST', `/subjects/${subject}/versions`, schemaBody(user), type);
        expect(response.status, type).toBe(200);
        expect(response.contentType).toContain(SR_CONTENT_TYPE);
        ids.push(response.body.id);
      }
      expect(new Set(ids).size).toBe(1);
      expect((await http('GET', '/subjects/nope/versions')).contentType).toContain(SR_CONTENT_TYPE);
    });

    it('answers a malformed body with 400 in the registry error format', async () => {
      const response = await http(
        'POST',
        `/subjects/${freshSubject('bad-json')}/versions`,
        '{"schema": ',
        SR_CONTENT_TYPE,
      );
      expectError(response, 400, 400);
    });
  });

  describe('registration and reads', () => {
    it('registers idempotently and serves the version by number, latest, raw and by id', async () => {
      const subject = freshSubject('users');
      const first = await register(subject, user);
      expect(first.status).toBe(200);
      expect(first.body).toEqual({ id: expect.any(Number) });
      const id = first.body.id;
      // Same schema, different whitespace and key order: same schema, no new version.
      const reordered = {
        fields: [{ type: 'string', name: 'id' }],
        namespace: 'flywheel.api',
        name: 'User',
        type: 'record',
      };
      expect((await register(subject, reordered)).body).toEqual({ id });
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([1]);

      const expected = { subject, id, version: 1, schema: JSON.stringify(user) };
      expect((await http('GET', `/subjects/${subject}/versions/1`)).body).toEqual(expected);
      expect((await http('GET', `/subjects/${subject}/versions/latest`)).body).toEqual(expected);
      expect((await http('GET', `/subjects/${subject}/versions/-1`)).body).toEqual(expected);
      expect((await http('GET', `/subjects/${subject}/versions/1/schema`)).body).toEqual(user);
      expect((await http('GET', `/schemas/ids/${id}`)).body).toEqual({ schema: JSON.stringify(user) });
      expect((await http('GET', `/schemas/ids/${id}/schema`)).body).toEqual(user);
      expect((await http('GET', '/subjects')).body).toContain(subject);
      expect((await http('GET', '/schemas/types')).body).toEqual(['AVRO']);
    });

    it('gives the same schema under two subjects the same id', async () => {
      const [a, b] = [freshSubject('shared-a'), freshSubject('shared-b')];
      const schema = record('Shared', [{ name: 'x', type: 'long' }]);
      const idA = (await register(a, schema)).body.id;
      const idB = (await register(b, schema)).body.id;
      expect(idB).toBe(idA);
      expect((await http('GET', `/schemas/ids/${idA}/versions`)).body).toEqual([
        { subject: a, version: 1 },
        { subject: b, version: 1 },
      ]);
      expect((await http('GET', `/schemas/ids/${idA}/subjects`)).body).toEqual([a, b]);
    });

    it('looks a schema up under a subject (POST /subjects/{subject})', async () => {
      const subject = freshSubject('lookup');
      const { id } = (await register(subject, user)).body;
      await register(subject, userWithEmail);
      const found = await http('POST', `/subjects/${subject}`, schemaBody(user));
      expect(found.body).toEqual({ subject, id, version: 1, schema: JSON.stringify(user) });
      expectError(await http('POST', `/subjects/${subject}`, schemaBody(record('Other', []))), 404, 40403);
      expectError(await http('POST', `/subjects/${freshSubject('nobody')}`, schemaBody(user)), 404, 40401);
    });

    it('evolves compatibly and rejects an incompatible schema with 409 and the reason', async () => {
      const subject = freshSubject('evolve');
      const v1 = (await register(subject, user)).body.id;
      const v2 = (await register(subject, userWithEmail)).body.id;
      expect(v2).not.toBe(v1);
      const rejected = await register(subject, userWithRequiredAge);
      expectError(rejected, 409, 409);
      expect(rejected.body.message).toContain('age');
      expect(rejected.body.message).toContain('BACKWARD');
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2]);
    });
  });

  describe('error codes', () => {
    it('40401 unknown subject, 40402 unknown version, 42202 invalid version', async () => {
      const subject = freshSubject('errors');
      expectError(await http('GET', `/subjects/${subject}/versions`), 404, 40401);
      expectError(await http('GET', `/subjects/${subject}/versions/1`), 404, 40401);
      await register(subject, user);
      expectError(await http('GET', `/subjects/${subject}/versions/2`), 404, 40402);
      expectError(await http('GET', `/subjects/${subject}/versions/abc`), 422, 42202);
      expectError(await http('GET', `/subjects/${subject}/versions/0`), 422, 42202);
    });

    it('40403 unknown schema id', async () => {
      expectError(await http('GET', '/schemas/ids/987654'), 404, 40403);
      expectError(await http('GET', '/schemas/ids/987654/versions'), 404, 40403);
      expectError(await http('GET', '/schemas/ids/not-a-number'), 404, 40403);
    });

    it('42201 for invalid Avro, an empty body and a schema type other than AVRO', async () => {
      const subject = freshSubject('invalid');
      const invalid = await http('POST', `/subjects/${subject}/versions`, {
        schema: JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', default: 'x' }] }),
      });
      expectError(invalid, 422, 42201);
      expect(invalid.body.message).toContain('default');
      expectError(await http('POST', `/subjects/${subject}/versions`, { schema: '{not json' }), 422, 42201);
      expectError(await http('POST', `/subjects/${subject}/versions`, {}), 422, 42201);
      const protobuf = await http('POST', `/subjects/${subject}/versions`, {
        schema: 'syntax = "proto3"; message M {}',
        schemaType: 'PROTOBUF',
      });
      expectError(protobuf, 422, 42201);
      expect(protobuf.body.message).toContain('only stores AVRO');
      expectError(await http('GET', `/subjects/${subject}/versions`), 404, 40401);
    });
  });

  describe('compatibility configuration', () => {
    it('has a global level, BACKWARD by default, that can be changed; invalid levels are 42203', async () => {
      expect((await http('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
      expect((await http('PUT', '/config', { compatibility: 'full' })).body).toEqual({ compatibility: 'FULL' });
      expect((await http('GET', '/config')).body).toEqual({ compatibilityLevel: 'FULL' });
      expectError(await http('PUT', '/config', { compatibility: 'SOMETIMES' }), 422, 42203);
      expect((await http('PUT', '/config', { compatibility: 'BACKWARD' })).body).toEqual({ compatibility: 'BACKWARD' });
    });

    it('a subject without its own level is a 40408, unless defaultToGlobal=true', async () => {
      const subject = freshSubject('config');
      const missing = await http('GET', `/config/${subject}`);
      expectError(missing, 404, 40408);
      expect(missing.body.message).toBe(`Subject '${subject}' does not have subject-level compatibility configured`);
      expect((await http('GET', `/config/${subject}?defaultToGlobal=true`)).body).toEqual({
        compatibilityLevel: 'BACKWARD',
      });

      expect((await http('PUT', `/config/${subject}`, { compatibility: 'NONE' })).body).toEqual({
        compatibility: 'NONE',
      });
      expect((await http('GET', `/config/${subject}`)).body).toEqual({ compatibilityLevel: 'NONE' });
      expectError(await http('PUT', `/config/${subject}`, { compatibility: 'nope' }), 422, 42203);
      expect((await http('DELETE', `/config/${subject}`)).body).toEqual({ compatibilityLevel: 'NONE' });
      expectError(await http('GET', `/config/${subject}`), 404, 40408);
      expectError(await http('DELETE', `/config/${subject}`), 404, 40401);
    });

    it('registration follows the subject level: NONE lets anything in, FORWARD checks the other direction', async () => {
      const none = freshSubject('level-none');
      await http('PUT', `/config/${none}`, { compatibility: 'NONE' });
      await register(none, user);
      expect((await register(none, record('Unrelated', [{ name: 'n', type: 'int' }]))).status).toBe(200);

      const forward = freshSubject('level-forward');
      await http('PUT', `/config/${forward}`, { compatibility: 'FORWARD' });
      await register(forward, userWithRequiredAge);
      // Dropping a field without a default: old readers cannot read new data.
      expectError(await register(forward, user), 409, 409);
      // Adding a required field is forward compatible (old readers skip it).
      const more = record('User', [
        { name: 'id', type: 'string' },
        { name: 'age', type: 'int' },
        { name: 'score', type: 'double' },
      ]);
      expect((await register(forward, more)).status).toBe(200);
    });

    it('transitive levels check every live version', async () => {
      const subject = freshSubject('transitive');
      await register(subject, user);
      await register(subject, userWithEmail);
      const emailRequired = record('User', [
        { name: 'id', type: 'string' },
        { name: 'email', type: ['null', 'string'] },
      ]);
      // BACKWARD: reads v2 data (email present) — fine against the latest version only.
      expect(
        (await http('POST', `/compatibility/subjects/${subject}/versions/latest`, schemaBody(emailRequired))).body,
      ).toEqual({ is_compatible: true });
      await http('PUT', `/config/${subject}`, { compatibility: 'BACKWARD_TRANSITIVE' });
      const verdict = await http(
        'POST',
        `/compatibility/subjects/${subject}/versions?verbose=true`,
        schemaBody(emailRequired),
      );
      expect(verdict.body.is_compatible).toBe(false);
      expect(verdict.body.messages.join(' ')).toContain('version 1');
      expectError(await register(subject, emailRequired), 409, 409);
    });
  });

  describe('compatibility check endpoint', () => {
    it('answers is_compatible, with messages when verbose, without registering anything', async () => {
      const subject = freshSubject('check');
      await register(subject, user);
      const path = `/compatibility/subjects/${subject}/versions/latest`;
      expect((await http('POST', path, schemaBody(userWithEmail))).body).toEqual({ is_compatible: true });
      expect((await http('POST', path, schemaBody(userWithRequiredAge))).body).toEqual({ is_compatible: false });
      const verbose = await http('POST', `${path}?verbose=true`, schemaBody(userWithRequiredAge));
      expect(verbose.body.is_compatible).toBe(false);
      expect(verbose.body.messages).toEqual([expect.stringContaining('age')]);
      expect(
        (await http('POST', `/compatibility/subjects/${subject}/versions/1`, schemaBody(userWithEmail))).body,
      ).toEqual({
        is_compatible: true,
      });
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([1]);
      expectError(await http('POST', `/compatibility/subjects/${subject}/versions/7`, schemaBody(user)), 404, 40402);
      expectError(
        await http('POST', `/compatibility/subjects/${freshSubject('none')}/versions/latest`, schemaBody(user)),
        404,
        40401,
      );
      expectError(await http('POST', path, { schema: '{"type": "nope"}' }), 422, 42201);
    });
  });

  describe('deletion', () => {
    it('soft-deletes versions and subjects; ids stay readable; numbers are not reused', async () => {
      const subject = freshSubject('delete');
      const id1 = (await register(subject, user)).body.id;
      await register(subject, userWithEmail);

      expect((await http('DELETE', `/subjects/${subject}/versions/2`)).body).toBe(2);
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([1]);
      expect((await http('GET', `/subjects/${subject}/versions?deleted=true`)).body).toEqual([1, 2]);
      expectError(await http('GET', `/subjects/${subject}/versions/2`), 404, 40402);
      expect((await http('GET', `/subjects/${subject}/versions/2?deleted=true`)).body.version).toBe(2);
      expectError(await http('DELETE', `/subjects/${subject}/versions/2`), 404, 40406);

      expect((await http('DELETE', `/subjects/${subject}`)).body).toEqual([1]);
      expectError(await http('GET', `/subjects/${subject}/versions`), 404, 40401);
      expect((await http('GET', '/subjects')).body).not.toContain(subject);
      expect((await http('GET', '/subjects?deleted=true')).body).toContain(subject);
      expectError(await http('DELETE', `/subjects/${subject}`), 404, 40404);
      // Messages already written with the schema must still decode.
      expect((await http('GET', `/schemas/ids/${id1}`)).status).toBe(200);

      // Registering again starts a new version number with the same global id.
      expect((await register(subject, user)).body).toEqual({ id: id1 });
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([3]);
    });

    it('deletes permanently only what was soft-deleted first', async () => {
      const subject = freshSubject('permanent');
      await register(subject, user);
      expectError(await http('DELETE', `/subjects/${subject}?permanent=true`), 404, 40405);
      expectError(await http('DELETE', `/subjects/${subject}/versions/1?permanent=true`), 404, 40407);
      await http('DELETE', `/subjects/${subject}`);
      expect((await http('DELETE', `/subjects/${subject}?permanent=true`)).body).toEqual([1]);
      expect((await http('GET', '/subjects?deleted=true')).body).not.toContain(subject);
    });
  });

  describe('concurrency', () => {
    // A second registry on the same database: its own Nest app and connection pool, as a second process would have.
    let second: RegistryTestApp;
    const registerVia = (index: number, subject: string, schema: unknown) =>
      call(index % 2 === 0 ? registry.url : second.url, 'POST', `/subjects/${subject}/versions`, schemaBody(schema));

    beforeAll(async () => {
      second = await startRegistryTestApp({ databaseUrl: registry.databaseUrl });
    });

    afterAll(async () => {
      await second?.stop();
    });

    it('10 parallel registrations of one schema under one subject, across two instances, yield one id and one version', async () => {
      const subject = freshSubject('race');
      const schema = record('Race', [{ name: 'n', type: 'int' }]);
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => registerVia(i, subject, schema)));
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([1]);
    });

    it('10 parallel registrations of one new schema under 10 subjects share one id', async () => {
      const schema = record('RaceShared', [{ name: 'n', type: 'int' }]);
      const subjects = Array.from({ length: 10 }, () => freshSubject('race-shared'));
      const responses = await Promise.all(subjects.map((subject, i) => registerVia(i, subject, schema)));
      expect(responses.map((r) => r.status)).toEqual(Array(10).fill(200));
      const ids = new Set(responses.map((r) => r.body.id));
      expect(ids.size).toBe(1);
      expect((await http('GET', `/schemas/ids/${[...ids][0]}/subjects`)).body).toHaveLength(10);
    });

    it('parallel registrations of different schemas under one subject get consecutive versions', async () => {
      const subject = freshSubject('race-versions');
      await http('PUT', `/config/${subject}`, { compatibility: 'NONE' });
      const schemas = Array.from({ length: 6 }, (_, i) => record(`Race${i}`, [{ name: 'n', type: 'int' }]));
      const responses = await Promise.all(schemas.map((schema, i) => registerVia(i, subject, schema)));
      expect(responses.map((r) => r.status)).toEqual(Array(6).fill(200));
      expect(new Set(responses.map((r) => r.body.id)).size).toBe(6);
      expect((await http('GET', `/subjects/${subject}/versions`)).body).toEqual([1, 2, 3, 4, 5, 6]);
    });
  });

  describe('operations', () => {
    it('exposes metrics and readiness', async () => {
      const metrics = await fetch(`${registry.url}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/flywheel_registry_schema_registrations_total\{[^}]*result="created"[^}]*\} [1-9]/);
      expect(metrics).toMatch(/flywheel_registry_schema_registrations_total\{[^}]*result="existing"/);
      expect(metrics).toMatch(/flywheel_registry_schema_compatibility_failures_total\{[^}]*operation="register"/);
      expect(metrics).toMatch(/flywheel_registry_schema_lookups_total\{[^}]*kind="id"/);
      const ready = await fetch(`${registry.url}/health/ready`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ checks: { postgres: { ok: true } } });
    });
  });
});
