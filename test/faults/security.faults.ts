import { readFileSync } from 'node:fs';
import { ensureTopics, topics } from '@flywheel/contracts';
import { type ServiceProcess, startServiceProcess, waitUntil } from '@flywheel/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_ADMIN_TOKEN, FAULT_MODEL_NAME, kafkaServiceEnv, SCRAM_CREDENTIALS } from '../../libs/testing/src/faults';
import { type Scenario, setUpScenario, tearDownScenario, warmUp } from './scenario';

/**
 * Security of the mesh in one place:
 * - Kafka with SASL/SCRAM-SHA-512: the fault cluster accepts only authenticated clients; every service of the mesh
 *   runs with the credentials in its config (every scenario of the suite is that proof, and a round trip here);
 *   a service given a wrong password never becomes ready and says why in one clear log line.
 * - Every admin endpoint (model registry writes, enrichment reference-data writes, DLQ replay) refuses a request
 *   without a token and one with a wrong token, and the refused write changes nothing. API keys have no HTTP
 *   management surface (the collector CLI on the database is the only way): the collector must not grow one.
 * - The SCRAM password, the admin token and the API key's secret never appear in the mesh's logs or in a metrics
 *   label (test/observability covers the ordinary mesh; this covers the SASL one and the refused-auth paths).
 */
const WRONG_PASSWORD = 'definitely-not-the-scram-password';
let scenario: Scenario | undefined;
const extra: ServiceProcess[] = [];

beforeAll(async () => {
  scenario = await setUpScenario('security', { eventsPerSecond: 100 });
});

afterAll(async () => {
  for (const process of extra) await process.kill().catch(() => undefined);
  await tearDownScenario(scenario);
});

function baseEnv(s: Scenario): Record<string, string> {
  return {
    ...kafkaServiceEnv(s.infra.kafka),
    TOPIC_PREFIX: s.mesh.prefix,
    SCHEMA_REGISTRY_URL: s.mesh.info.registryUrl,
    DATABASE_URL: s.mesh.info.databaseUrl,
    LOG_LEVEL: 'info',
  };
}

describe('Kafka SASL/SCRAM-SHA-512', () => {
  it('the cluster refuses a client without credentials', async () => {
    const anonymous = new Kafka({
      clientId: 'fault-anonymous',
      brokers: scenario!.infra.kafka.bootstrapServers.split(','),
      connectionTimeout: 2_000,
      requestTimeout: 5_000,
      retry: { retries: 1, initialRetryTime: 100 },
      logLevel: logLevel.NOTHING,
    });
    const admin = anonymous.admin();
    await expect(admin.connect().then(() => admin.listTopics())).rejects.toThrow();
    await admin.disconnect().catch(() => undefined);
  });

  it('the mesh works with the right credentials: events in, predictions out', async () => {
    const s = scenario!;
    expect(s.infra.kafka.sasl?.mechanism).toBe('scram-sha-512');
    expect((await Promise.all(s.mesh.services.map((x) => x.ready()))).every(Boolean)).toBe(true);
    await warmUp(s, 100);
    await s.load.stop();
  });

  it('a service with a wrong password never becomes ready and logs why', async () => {
    const s = scenario!;
    const collector = await startServiceProcess('collector', {
      env: { ...baseEnv(s), KAFKA_SASL_PASSWORD: WRONG_PASSWORD },
      waitFor: 'none',
    });
    extra.push(collector);
    let everReady = false;
    const log = () => readFileSync(collector.logFile, 'utf8');
    await waitUntil(
      async () => {
        const ready = await fetch(`${collector.url}/health/ready`, { signal: AbortSignal.timeout(1_000) })
          .then((r) => r.ok)
          .catch(() => false);
        everReady ||= ready;
        return /authentication failed/i.test(log());
      },
      { timeoutMs: 60_000, intervalMs: 250, message: 'an authentication failure in the log' },
    );
    const exitCode = await Promise.race([collector.exited, new Promise((r) => setTimeout(r, 10_000, 'running'))]);
    const lines = log()
      .split('\n')
      .filter((line) => /authentication failed/i.test(line));
    console.log(`[faults] wrong SASL password: exit ${exitCode}; ${lines[0]?.slice(0, 300)}`);
    expect(everReady).toBe(false);
    expect(lines.join('\n')).toMatch(/SASL|SCRAM/i);
    // the line says what failed, never with what
    expect(log()).not.toContain(WRONG_PASSWORD);
    // a process that cannot reach Kafka must not linger half-started: it exits (a supervisor restarts it) or,
    // if it keeps running, it must keep answering not-ready
    if (exitCode === 'running') {
      expect((await fetch(`${collector.url}/health/ready`).catch(() => ({ ok: false }))).ok).toBe(false);
    } else {
      expect(exitCode).not.toBe(0);
    }
  });
});

describe('admin endpoints refuse a missing or wrong token', () => {
  const WRONG = 'wrong-admin-token-0123456789abcdef';
  const attempts = (token?: string): Record<string, string> =>
    token === undefined
      ? { 'content-type': 'application/json' }
      : { 'content-type': 'application/json', authorization: `Bearer ${token}` };

  async function refuses(url: string, method: string, body?: unknown): Promise<Array<[string, number]>> {
    const out: Array<[string, number]> = [];
    for (const [label, token] of [
      ['none', undefined],
      ['wrong', WRONG],
      ['not bearer', undefined],
    ] as const) {
      const headers: Record<string, string> = attempts(token);
      if (label === 'not bearer')
        headers.authorization = `Basic ${Buffer.from(`admin:${FAULT_ADMIN_TOKEN}`).toString('base64')}`;
      const response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      out.push([`${method} ${new URL(url).pathname} (${label})`, response.status]);
    }
    return out;
  }

  it('model registry writes: versions, stages, aliases, artifacts', async () => {
    const registry = scenario!.mesh.info.registryUrl;
    const model = `${registry}/v1/models/${FAULT_MODEL_NAME}`;
    const versionsBefore = await (await fetch(`${model}/versions`)).text();
    const sha = 'a'.repeat(64);
    const results = [
      ...(await refuses(`${model}/versions`, 'POST', { artifact_sha256: sha })),
      ...(await refuses(`${model}/versions/1/stage`, 'POST', { stage: 'Archived' })),
      ...(await refuses(`${model}/aliases/attacker`, 'PUT', { version: 1 })),
      ...(await refuses(`${model}/aliases/champion`, 'DELETE')),
      ...(await refuses(`${registry}/v1/artifacts/${sha}`, 'PUT', 'bytes')),
    ];
    expect(results.filter(([, status]) => status !== 401 && status !== 403)).toEqual([]);
    // nothing changed: the same versions, version 1 still in Production, no artifact stored
    expect(await (await fetch(`${model}/versions`)).text()).toBe(versionsBefore);
    const v1 = (await (await fetch(`${model}/versions/1`)).json()) as { stage: string };
    expect(v1.stage).toBe('Production');
    expect((await fetch(`${registry}/v1/artifacts/${sha}`)).status).toBe(404);
  });

  it('enrichment reference-data writes: accounts, merchants, rates, bulk', async () => {
    const enrichment = scenario!.mesh.one('enrichment-api').url;
    const reference = `${enrichment}/v1/reference`;
    const results = [
      ...(await refuses(`${reference}/accounts/acct-1`, 'PUT', { risk_segment: 'LOW', opened_at: 0 })),
      ...(await refuses(`${reference}/accounts/acct-1`, 'DELETE')),
      ...(await refuses(`${reference}/merchants/m-1`, 'PUT', { mcc: '5411' })),
      ...(await refuses(`${reference}/merchants/m-1`, 'DELETE')),
      ...(await refuses(`${reference}/rates/USD`, 'PUT', { rate: 2 })),
      ...(await refuses(`${reference}/rates/USD`, 'DELETE')),
      ...(await refuses(`${reference}/accounts/bulk`, 'POST', '{"account_id":"acct-2"}')),
    ];
    expect(results.filter(([, status]) => status !== 401 && status !== 403)).toEqual([]);
    expect((await fetch(`${reference}/accounts/acct-1`)).status).toBe(404);
    expect((await fetch(`${reference}/merchants/m-1`)).status).toBe(404);
  });

  it('DLQ replay on the dead-letter-alerter', async () => {
    const s = scenario!;
    const admin = s.mesh.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, {
      prefix: s.mesh.prefix,
      only: [topics.alerts],
      replicationFactor: 3,
      minInsyncReplicas: 2,
      logger: { info: () => undefined, warn: () => undefined },
    }).finally(() => admin.disconnect());
    const alerter = await startServiceProcess('dead-letter-alerter', {
      env: { ...baseEnv(s), ALERTER_ADMIN_TOKEN: FAULT_ADMIN_TOKEN, ALERTER_GROUP_ID: `${s.mesh.prefix}alerter` },
    });
    extra.push(alerter);
    const dlq = encodeURIComponent(s.mesh.topic(`${topics.eventsRaw}.dlq`));
    const results = await refuses(`${alerter.url}/v1/dlq/${dlq}/replay`, 'POST', { dryRun: true });
    expect(results.filter(([, status]) => status !== 401 && status !== 403)).toEqual([]);
    // the right token is accepted (a dry run changes nothing), so the refusals above were about the token
    const ok = await fetch(`${alerter.url}/v1/dlq/${dlq}/replay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${FAULT_ADMIN_TOKEN}` },
      body: JSON.stringify({ dryRun: true }),
    });
    expect(ok.status).toBe(202);
  });

  it('API keys have no HTTP management surface on the collector', async () => {
    const collector = scenario!.mesh.collectors[0].url;
    for (const path of ['/v1/api-keys', '/v1/keys', '/v1/admin/api-keys', '/admin/api-keys']) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const response = await fetch(`${collector}${path}`, { method });
        expect({ path, method, status: response.status }).toEqual({ path, method, status: 404 });
      }
    }
  });
});

describe('secrets stay out of logs and metrics', () => {
  it('no SCRAM password, admin token or API key secret in any mesh log or metrics label', async () => {
    const s = scenario!;
    const secrets = {
      'SCRAM password': SCRAM_CREDENTIALS.password,
      'wrong SCRAM password': WRONG_PASSWORD,
      'admin token': FAULT_ADMIN_TOKEN,
      // fw_<12 hex id>_<43-char secret>; the secret itself may contain '_'
      'API key secret': s.mesh.info.apiKey.replace(/^fw_[0-9a-f]{12}_/, ''),
    };
    expect(secrets['API key secret']).toHaveLength(43);
    const files = [...s.mesh.info.logFiles, ...extra.map((p) => p.logFile)];
    const findings: string[] = [];
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      for (const [name, secret] of Object.entries(secrets))
        if (text.includes(secret)) findings.push(`${name} in ${file}`);
    }
    for (const service of [...s.mesh.services, ...extra.map((p) => ({ id: p.name, url: p.url }))]) {
      const metrics = await fetch(`${service.url}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      for (const [name, secret] of Object.entries(secrets)) {
        if (metrics.includes(secret)) findings.push(`${name} in /metrics of ${service.id}`);
      }
    }
    expect(files.length).toBeGreaterThan(5);
    expect(findings).toEqual([]);
  });
});
