import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { type RetrainRequested, topics } from '@flywheel/contracts';
import {
  databaseUrl,
  type ServiceProcess,
  startServiceProcess,
  testPrefix,
  uniqueSuffix,
  waitUntil,
} from '@flywheel/testing';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createTopics, flywheel, flywheelInBackground, jsonLines } from './cli-harness';

const ADMIN_TOKEN = 'cli-test-admin-token-0123456789';
const MODEL = 'cli-fraud';

describe('flywheel models / retrain against a model registry with two versions', () => {
  const env = testEnv();
  const prefix = testPrefix('climodels');
  const database = `flywheel_test_cli_${uniqueSuffix()}`;
  let registry: ServiceProcess;
  let cliEnv: Record<string, string>;

  /** A version as the trainer would register it; the artifact is any bytes (the registry only stores them). */
  async function registerVersion(auc: number): Promise<number> {
    const bytes = randomBytes(64);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const headers = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const upload = await fetch(`${registry.url}/v1/artifacts/${sha}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: new Uint8Array(bytes),
    });
    expect(upload.status).toBe(201);
    const histogram = (name: string) => ({ name, bin_edges: [0, 0.5, 1], counts: [5, 5] });
    const created = await fetch(`${registry.url}/v1/models/${MODEL}/versions`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({
        artifact_sha256: sha,
        feature_set_version: 'fs-1',
        feature_names: ['amount_base'],
        metrics: { auc },
        baseline: { features: [histogram('amount_base')], score: histogram('score') },
        training_window_start: 1_700_000_000_000,
        training_window_end: 1_700_086_400_000,
        run_id: randomUUID(),
      }),
    });
    expect(created.status).toBe(201);
    return ((await created.json()) as { version: number }).version;
  }

  async function productionVersion(): Promise<number | null> {
    const model = (await (await fetch(`${registry.url}/v1/models/${MODEL}`)).json()) as {
      production_version: number | null;
    };
    return model.production_version;
  }

  beforeAll(async () => {
    await createTopics(env.kafkaBrokers, prefix, [
      topics.modelsRetrainRequested,
      topics.modelsTrained,
      topics.modelsTrainRefused,
    ]);
    registry = await startServiceProcess('registry', {
      env: {
        DATABASE_URL: await databaseUrl(env.databaseUrl, database),
        KAFKA_BROKERS: env.kafkaBrokers,
        REGISTRY_KAFKA_ENABLED: 'false',
        REGISTRY_ADMIN_TOKEN: ADMIN_TOKEN,
        LOG_LEVEL: 'warn',
      },
    });
    expect(await registerVersion(0.81)).toBe(1);
    expect(await registerVersion(0.86)).toBe(2);
    cliEnv = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      REGISTRY_URL: registry.url,
      TOPIC_PREFIX: prefix,
    };
  }, 120_000);

  afterAll(async () => {
    await registry?.stop();
    const admin = new URL(env.databaseUrl);
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => client.end());
  });

  it('lists and shows models and versions', async () => {
    const listed = await flywheel(['models', 'list', '--json'], { env: cliEnv });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ name: MODEL, latest_version: 2, production_version: null }),
    ]);
    const table = await flywheel(['models', 'show', MODEL], { env: cliEnv });
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`${MODEL}: Production none, 2 version(s)`);
    expect(table.stdout).toMatch(/\n1\s+None\s+-\s+0\.810\s+fs-1/);
    expect(table.stdout).toMatch(/\n2\s+None\s+-\s+0\.860\s+fs-1/);
    const one = await flywheel(['models', 'show', MODEL, '--version', '2'], { env: cliEnv });
    expect(JSON.parse(one.stdout)).toMatchObject({ model_name: MODEL, version: 2, metrics: { auc: 0.86 } });
    expect(JSON.parse(one.stdout).baseline).toBeUndefined();
    const missing = await flywheel(['models', 'show', 'no-such-model'], { env: cliEnv });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('answered HTTP 404');
    expect(missing.stderr).toContain('no model no-such-model');
  });

  it('promotes v1 then v2, rolls back to v1 and forward again; writes need the admin token', async () => {
    const withToken = { ...cliEnv, FLYWHEEL_ADMIN_TOKEN: ADMIN_TOKEN };
    const noRollback = await flywheel(['models', 'rollback', MODEL], { env: withToken });
    expect(noRollback.code).toBe(1);
    expect(noRollback.stderr).toContain('no earlier Production version to roll back to');

    const noToken = await flywheel(['models', 'promote', MODEL, '1'], { env: cliEnv });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('FLYWHEEL_ADMIN_TOKEN');
    const wrongToken = await flywheel(['models', 'promote', MODEL, '1', '--admin-token', 'not-the-token-0123456789'], {
      env: cliEnv,
    });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toContain('refused POST');
    expect(wrongToken.stderr).toContain('HTTP 403');
    expect(await productionVersion()).toBeNull();

    const p1 = await flywheel(['models', 'promote', MODEL, '1'], { env: withToken });
    expect(p1.code, p1.stderr).toBe(0);
    expect(p1.stdout).toContain(`${MODEL} v1 is in Production`);
    const p2 = await flywheel(['models', 'promote', MODEL, '2', '--reason', 'better auc'], { env: withToken });
    expect(p2.code).toBe(0);
    expect(await productionVersion()).toBe(2);

    const dry = await flywheel(['models', 'rollback', MODEL, '--dry-run'], { env: withToken });
    expect(dry.stderr).toContain(`would roll ${MODEL} back from v2 to v1`);
    expect(await productionVersion()).toBe(2);
    const back = await flywheel(['models', 'rollback', MODEL], { env: withToken });
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toContain(`${MODEL} rolled back from v2 to v1`);
    expect(await productionVersion()).toBe(1);
    const forward = await flywheel(['models', 'rollback', MODEL, '--json'], { env: withToken });
    expect(JSON.parse(forward.stdout)).toEqual({ model: MODEL, version: 2, stage: 'Production', changed: true });
    expect(await productionVersion()).toBe(2);

    const history = await flywheel(['models', 'history', MODEL, '--json'], { env: cliEnv });
    const stageChanges = (
      JSON.parse(history.stdout) as Array<{ change: string; version: number; to_stage: string; actor: string }>
    )
      .filter((h) => h.change === 'STAGE_CHANGED' && h.to_stage === 'Production')
      .map((h) => [h.version, h.actor]);
    expect(stageChanges).toEqual([
      [1, 'admin:cli:cli-test'],
      [2, 'admin:cli:cli-test'],
      [1, 'admin:cli:cli-test'],
      [2, 'admin:cli:cli-test'],
    ]);
    const unknownVersion = await flywheel(['models', 'promote', MODEL, '9'], { env: withToken });
    expect(unknownVersion.code).toBe(1);
    expect(unknownVersion.stderr).toContain('HTTP 404');
  });

  it('retrain: a MANUAL request for the Production version on models.retrain-requested.v1', async () => {
    const requested = await flywheel(['retrain', MODEL, '--json'], { env: cliEnv });
    expect(requested.code, requested.stderr).toBe(0);
    const request = JSON.parse(requested.stdout) as RetrainRequested;
    // no trainer runs here: the CLI says the request waits in the topic
    expect(requested.stderr).toContain('the request waits in the topic');
    const onTopic = await flywheel(['consume', topics.modelsRetrainRequested, '--value-only'], { env: cliEnv });
    expect(jsonLines<RetrainRequested>(onTopic.stdout)).toEqual([
      {
        request_id: request.request_id,
        model_name: MODEL,
        model_version: 2,
        requested_at: request.requested_at,
        requested_by: 'cli:cli-test',
        reason: 'MANUAL',
        evidence: [],
      },
    ]);
    // --wait: the answer the trainer would publish (here produced with the CLI itself) ends the wait
    const waiting = flywheelInBackground(['retrain', MODEL, '--wait', '--timeout', '60'], cliEnv);
    try {
      const requestId = await waitUntil(
        () => /request_id ([0-9a-f-]{36})\); waiting/.exec(waiting.output.stderr)?.[1],
        {
          timeoutMs: 30_000,
          message: 'retrain --wait sent its request',
        },
      );
      const refusal = {
        request_id: requestId,
        model_name: MODEL,
        reason_code: 'NO_LABELS',
        message: 'no labelled rows in the window',
        rows: 0,
        positives: 0,
        refused_at: new Date().toISOString(),
      };
      const answered = await flywheel(['produce', topics.modelsTrainRefused], {
        env: cliEnv,
        stdin: JSON.stringify(refusal),
      });
      expect(answered.code, answered.stderr).toBe(0);
      expect(await waiting.exited).toBe(1);
      expect(waiting.output.stdout).toContain('refused: NO_LABELS: no labelled rows in the window');
    } finally {
      waiting.kill();
    }

    const unknown = await flywheel(['retrain', 'no-such-model'], { env: cliEnv });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no model no-such-model');
  });
});
