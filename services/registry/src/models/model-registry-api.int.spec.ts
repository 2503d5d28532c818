import { createHash, randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../../../libs/testing/src/test-env';
import { ADMIN_TOKEN, api, makeArtifact, uploadArtifact, versionBody } from '../../test/model-fixtures';
import { type RegistryTestApp, startRegistryTestApp } from '../../test/registry-test-app';

const READ_TOKEN = 'test-read-token-0123456789abcdef';

describe('model registry HTTP API (in-process, own database, Kafka off)', () => {
  let registry: RegistryTestApp;
  let url: string;

  beforeAll(async () => {
    registry = await startRegistryTestApp({
      serverUrl: testEnv().databaseUrl,
      env: { REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN, REGISTRY_READ_TOKEN: READ_TOKEN },
    });
    url = registry.url;
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it('stores artifacts by sha256, refuses a mismatch, and serves the exact bytes with an ETag', async () => {
    const artifact = makeArtifact();
    const wrong = createHash('sha256').update('something else').digest('hex');
    const mismatch = await api(url, 'PUT', `/v1/artifacts/${wrong}`, { body: artifact.bytes });
    expect(mismatch.status).toBe(422);
    expect((await api(url, 'GET', `/v1/artifacts/${wrong}`)).status).toBe(404);

    // JSON content type: stored byte for byte, not parsed and re-serialized.
    const first = await api(url, 'PUT', `/v1/artifacts/${artifact.sha256}`, {
      body: artifact.bytes,
      contentType: 'application/json',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ artifact_uri: `/v1/artifacts/${artifact.sha256}`, created: true });
    const again = await api(url, 'PUT', `/v1/artifacts/${artifact.sha256}`, { body: artifact.bytes });
    expect(again.status).toBe(200);
    expect(again.body.created).toBe(false);

    const download = await api(url, 'GET', `/v1/artifacts/${artifact.sha256}`, { token: null });
    expect(download.status).toBe(200);
    expect(download.raw.equals(artifact.bytes)).toBe(true);
    expect(download.headers.get('etag')).toBe(`"${artifact.sha256}"`);
    expect(download.headers.get('x-artifact-sha256')).toBe(artifact.sha256);
    const cached = await api(url, 'GET', `/v1/artifacts/${artifact.sha256}`, {
      headers: { 'if-none-match': `"${artifact.sha256}"` },
    });
    expect(cached.status).toBe(304);
  });

  it('takes artifacts larger than the default JSON body limit', async () => {
    const bytes = Buffer.from(JSON.stringify({ weights: randomBytes(600_000).toString('base64') }));
    const sha = createHash('sha256').update(bytes).digest('hex');
    const put = await api(url, 'PUT', `/v1/artifacts/${sha}`, { body: bytes, contentType: 'application/json' });
    expect(put.status).toBe(201);
    const get = await api(url, 'GET', `/v1/artifacts/${sha}`);
    expect(get.raw.equals(bytes)).toBe(true);
  });

  it('registers immutable versions numbered per model, with lineage, and reads them back', async () => {
    const model = `fraud-${randomBytes(3).toString('hex')}`;
    const a1 = makeArtifact('v1');
    const a2 = makeArtifact('v2');
    await uploadArtifact(url, a1);
    await uploadArtifact(url, a2);

    const missing = await api(url, 'POST', `/v1/models/${model}/versions`, {
      body: versionBody(makeArtifact().sha256),
    });
    expect(missing.status).toBe(422);
    const invalid = await api(url, 'POST', `/v1/models/${model}/versions`, {
      body: { ...versionBody(a1.sha256), feature_names: [] },
    });
    expect(invalid.status).toBe(400);

    const v1 = await api(url, 'POST', `/v1/models/${model}/versions`, {
      body: versionBody(a1.sha256, { run_id: 'run-1', description: 'first' }),
    });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({
      model_name: model,
      version: 1,
      stage: 'None',
      artifact_uri: `/v1/artifacts/${a1.sha256}`,
      artifact_size_bytes: a1.bytes.length,
      feature_set_version: 'fs-1',
      run_id: 'run-1',
    });
    // Same run_id again: the same version, nothing new.
    const retry = await api(url, 'POST', `/v1/models/${model}/versions`, {
      body: versionBody(a1.sha256, { run_id: 'run-1' }),
    });
    expect(retry.status).toBe(200);
    expect(retry.body.version).toBe(1);
    const v2 = await api(url, 'POST', `/v1/models/${model}/versions`, {
      body: versionBody(a2.sha256, {
        metrics: { auc: 0.85, log_loss: 0.35, recall: 0.5 },
        parent_version: 1,
        retrain_request_id: 'req-9',
      }),
    });
    expect(v2.status).toBe(201);
    expect(v2.body).toMatchObject({ version: 2, parent_version: 1, retrain_request_id: 'req-9' });

    const one = await api(url, 'GET', `/v1/models/${model}/versions/2`, { token: null });
    expect(one.status).toBe(200);
    expect(one.body.baseline).toEqual(versionBody(a2.sha256).baseline);
    expect(one.body.metrics).toEqual({ auc: 0.85, log_loss: 0.35, recall: 0.5 });
    expect((await api(url, 'GET', `/v1/models/${model}/versions/3`)).status).toBe(404);

    const list = await api(url, 'GET', `/v1/models/${model}/versions`);
    expect(list.body.map((v: { version: number }) => v.version)).toEqual([1, 2]);
    const models = await api(url, 'GET', '/v1/models');
    expect(models.body.find((m: { name: string }) => m.name === model)).toMatchObject({ latest_version: 2 });

    // Immutable: there is no route that rewrites a version.
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const response = await api(url, method, `/v1/models/${model}/versions/1`, { body: versionBody(a2.sha256) });
      expect(response.status).toBe(404);
    }
    expect((await api(url, 'GET', `/v1/models/${model}/versions/1`)).body.artifact_sha256).toBe(a1.sha256);

    const compare = await api(url, 'GET', `/v1/models/${model}/compare?a=1&b=2`);
    expect(compare.status).toBe(200);
    expect(compare.body.metrics.auc.a).toBe(0.8);
    expect(compare.body.metrics.auc.b).toBe(0.85);
    expect(compare.body.metrics.auc.delta).toBeCloseTo(0.05, 12);
    expect(compare.body.metrics.recall).toEqual({ a: null, b: 0.5, delta: null });
    expect(compare.body.same_feature_set).toBe(true);
    expect((await api(url, 'GET', `/v1/models/${model}/compare?a=1`)).status).toBe(400);
  });

  it('moves stages with one Production at a time, keeps champion on it, and records every change in the history', async () => {
    const model = `churn-${randomBytes(3).toString('hex')}`;
    for (const label of ['a', 'b']) {
      const artifact = makeArtifact(label);
      await uploadArtifact(url, artifact);
      await api(url, 'POST', `/v1/models/${model}/versions`, { body: versionBody(artifact.sha256) });
    }
    const stage = (version: number, body: unknown, actor?: string) =>
      api(url, 'POST', `/v1/models/${model}/versions/${version}/stage`, {
        body,
        headers: actor ? { 'x-registry-actor': actor } : {},
      });

    expect((await stage(1, { stage: 'Production', reason: 'first model' }, 'alice')).status).toBe(200);
    expect((await api(url, 'GET', `/v1/models/${model}/aliases/champion`)).body.version).toBe(1);
    const second = await stage(2, { stage: 'Production', reason: 'better recall' });
    expect(second.body).toMatchObject({ version: 2, stage: 'Production', aliases: ['champion'], changed: true });
    expect((await api(url, 'GET', `/v1/models/${model}/versions/1`)).body.stage).toBe('Archived');
    expect((await api(url, 'GET', `/v1/models/${model}`)).body).toMatchObject({
      production_version: 2,
      aliases: { champion: 2 },
    });
    // Same stage again: nothing changes, nothing is recorded.
    expect((await stage(2, { stage: 'Production' })).body.changed).toBe(false);
    expect((await stage(2, { stage: 'Live' })).status).toBe(400);

    // Aliases: set, move, read, remove; champion follows Production and cannot be removed by hand.
    expect((await api(url, 'PUT', `/v1/models/${model}/aliases/challenger`, { body: { version: 1 } })).status).toBe(
      200,
    );
    expect((await api(url, 'PUT', `/v1/models/${model}/aliases/challenger`, { body: { version: 2 } })).status).toBe(
      200,
    );
    expect((await api(url, 'GET', `/v1/models/${model}/aliases/challenger`)).body.version).toBe(2);
    expect((await api(url, 'DELETE', `/v1/models/${model}/aliases/champion`)).status).toBe(409);
    expect((await api(url, 'DELETE', `/v1/models/${model}/aliases/challenger`)).status).toBe(200);
    expect((await api(url, 'GET', `/v1/models/${model}/aliases/challenger`)).status).toBe(404);
    expect((await api(url, 'DELETE', `/v1/models/${model}/aliases/challenger`)).status).toBe(404);
    // Setting champion is a promotion: v1 comes back to Production, v2 is archived.
    expect((await api(url, 'PUT', `/v1/models/${model}/aliases/champion`, { body: { version: 1 } })).status).toBe(200);
    expect((await api(url, 'GET', `/v1/models/${model}/versions/1`)).body.stage).toBe('Production');
    expect((await api(url, 'GET', `/v1/models/${model}/versions/2`)).body.stage).toBe('Archived');

    const history = (await api(url, 'GET', `/v1/models/${model}/history`)).body as Array<Record<string, unknown>>;
    const summary = history.map((h) =>
      [
        h.change,
        h.version,
        h.alias ?? '',
        h.from_stage ?? '',
        h.to_stage ?? '',
        h.from_version ?? '',
        h.to_version ?? '',
      ].join(' '),
    );
    expect(summary).toEqual([
      'REGISTERED 1   None  ',
      'REGISTERED 2   None  ',
      'STAGE_CHANGED 1  None Production  ',
      'ALIAS_SET 1 champion None Production  1',
      'STAGE_CHANGED 1  Production Archived  ',
      'STAGE_CHANGED 2  None Production  ',
      'ALIAS_SET 2 champion None Production 1 2',
      'ALIAS_SET 1 challenger Archived Archived  1',
      'ALIAS_SET 2 challenger Production Production 1 2',
      'ALIAS_REMOVED 2 challenger Production Production 2 ',
      'STAGE_CHANGED 2  Production Archived  ',
      'STAGE_CHANGED 1  Archived Production  ',
      'ALIAS_SET 1 champion Archived Production 2 1',
    ]);
    expect(history[2]).toMatchObject({ actor: 'admin:alice', reason: 'first model' });
    expect(history[4]).toMatchObject({ reason: 'replaced in Production by v2' });
    // The implied changes share the change id of the request that caused them.
    expect(history[4].change_id).toBe(history[5].change_id);
    expect(typeof history[0].changed_at).toBe('number');

    // Every change is waiting in the outbox (Kafka is off in this app), one row per request.
    const client = new Client({ connectionString: registry.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT payload->>'change' AS change FROM registry.model_outbox WHERE model_name = $1 AND sent_at IS NULL ORDER BY id`,
        [model],
      );
      expect(rows.map((r) => r.change)).toEqual([
        'REGISTERED',
        'REGISTERED',
        'STAGE_CHANGED',
        'STAGE_CHANGED',
        'ALIAS_SET',
        'ALIAS_SET',
        'ALIAS_REMOVED',
        'ALIAS_SET',
      ]);
    } finally {
      await client.end();
    }
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/flywheel_registry_models_outbox_pending\{[^}]*\} [1-9]\d*/);
    expect(metrics).toMatch(/flywheel_registry_models_versions_registered_total\{[^}]*source="api"[^}]*\} \d+/);
  });

  it('requires the admin token for writes (401 without, 403 wrong) and can require a token for reads', async () => {
    const artifact = makeArtifact();
    const writes: Array<[string, string, unknown]> = [
      ['PUT', `/v1/artifacts/${artifact.sha256}`, artifact.bytes],
      ['POST', '/v1/models/m/versions', versionBody(artifact.sha256)],
      ['POST', '/v1/models/m/versions/1/stage', { stage: 'Production' }],
      ['PUT', '/v1/models/m/aliases/x', { version: 1 }],
      ['DELETE', '/v1/models/m/aliases/x', undefined],
    ];
    for (const [method, path, body] of writes) {
      expect((await api(url, method, path, { body, token: null })).status, `${method} ${path}`).toBe(401);
      expect((await api(url, method, path, { body, token: 'wrong-token' })).status, `${method} ${path}`).toBe(403);
      expect((await api(url, method, path, { body, token: READ_TOKEN })).status, `${method} ${path}`).toBe(403);
    }
    expect((await api(url, 'GET', `/v1/artifacts/${artifact.sha256}`)).status).toBe(404);

    const locked = await startRegistryTestApp({
      databaseUrl: registry.databaseUrl,
      env: { REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN, REGISTRY_READ_TOKEN: READ_TOKEN, REGISTRY_READS_REQUIRE_TOKEN: 'true' },
    });
    try {
      expect((await api(locked.url, 'GET', '/v1/models', { token: null })).status).toBe(401);
      expect((await api(locked.url, 'GET', '/v1/models', { token: 'nope' })).status).toBe(403);
      expect((await api(locked.url, 'GET', '/v1/models', { token: READ_TOKEN })).status).toBe(200);
      expect((await api(locked.url, 'GET', '/v1/models', { token: ADMIN_TOKEN })).status).toBe(200);
      // The Confluent schema-registry API stays open: every producer in the mesh uses it.
      expect((await api(locked.url, 'GET', '/subjects', { token: null })).status).toBe(200);
    } finally {
      await locked.stop();
    }
  });
});
