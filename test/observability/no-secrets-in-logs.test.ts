import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureTopics, topics } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import {
  REPO_ROOT,
  type ServiceProcess,
  startServiceProcess,
  testGroup,
  testPrefix,
  waitUntil,
} from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { apiKeys, createKey, transaction } from '../collector/collector-harness';
import { freshDatabase } from '../enrichment/enrichment-harness';

/** Distinctive values: if one shows up anywhere in a service's output, it was logged. */
const mark = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;

/** A URL with a password (Postgres here trusts local connections, so any password is accepted). */
function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.username = u.username || 'postgres';
  u.password = password;
  return u.toString();
}

/**
 * Services started as processes with secrets in their environment (a DATABASE_URL password, an admin token)
 * and driven with secrets in requests (a real API key, a wrong one, wrong admin tokens), at LOG_LEVEL trace,
 * plus start-ups that fail on a configuration error: none of those values may appear in stdout/stderr or
 * in /metrics.
 */
describe('no secret reaches the logs or /metrics', () => {
  const env = testEnv();
  const prefix = testPrefix('secrets');
  const secrets = {
    databasePassword: mark('pgpw'),
    adminToken: mark('admtok'),
    wrongAdminToken: mark('wrongtok'),
    wrongKeySecret: randomBytes(32).toString('base64url'),
    garbageCredential: mark('garbage'),
    badConfigPassword: mark('cfgpw'),
    shortToken: `tok-${randomBytes(4).toString('hex')}`,
  };
  let apiKey: { id: string; key: string };
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let dbUrl: string;
  let collector: ServiceProcess;
  let enrichment: ServiceProcess;
  const metricsTexts: string[] = [];

  beforeAll(async () => {
    db = await freshDatabase(env);
    dbUrl = withPassword(db.url, secrets.databasePassword);
    const kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'secrets-test' });
    const admin = kafka.admin();
    await admin.connect();
    for (let attempt = 1; ; attempt++) {
      try {
        await ensureTopics(admin, {
          prefix,
          only: [topics.eventsRaw, topics.labels, topics.eventsEnriched],
          logger: { info: () => undefined, warn: () => undefined },
        });
        break;
      } catch (error) {
        // a just-started broker may not know a topic it has just created yet; ensureTopics is idempotent
        if (attempt >= 5) throw error;
      }
    }
    await admin.disconnect();
    // The key is created with the operator's CLI, against the database URL that carries the password.
    apiKey = await createKey(dbUrl, 'secrets-test');
    const common = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      DATABASE_URL: dbUrl,
      LOG_LEVEL: 'trace',
    };
    [collector, enrichment] = await Promise.all([
      startServiceProcess('collector', { env: { ...common, COLLECTOR_API_KEY_CACHE_MS: '0' }, timeoutMs: 120_000 }),
      startServiceProcess('enrichment-api', {
        env: { ...common, ENRICHMENT_ADMIN_TOKEN: secrets.adminToken, ENRICHMENT_GROUP_ID: testGroup('secrets') },
        timeoutMs: 120_000,
      }),
    ]);
  });

  afterAll(async () => {
    await collector?.stop();
    await enrichment?.stop();
    await db?.drop();
  });

  const keySecret = () => apiKey.key.split('_').slice(2).join('_');

  async function postEvents(headers: Record<string, string>, body = JSON.stringify([transaction(1)])) {
    const res = await fetch(`${collector.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    await res.arrayBuffer();
    return res.status;
  }

  async function putAccount(headers: Record<string, string>) {
    const res = await fetch(`${enrichment.url}/v1/reference/accounts/acct-secret-1`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ home_country: 'FR', opened_at: 1735689600000, segment: 'retail' }),
    });
    await res.arrayBuffer();
    return res.status;
  }

  it('drives requests with good and bad credentials', async () => {
    expect(await postEvents({ authorization: `Bearer ${apiKey.key}` })).toBe(200);
    expect(await postEvents({ 'x-api-key': apiKey.key })).toBe(200);
    expect(await postEvents({ authorization: `Bearer fw_${apiKey.id}_${secrets.wrongKeySecret}` })).toBe(401);
    expect(await postEvents({ authorization: `Bearer ${secrets.garbageCredential}` })).toBe(401);
    expect(await postEvents({ 'x-api-key': secrets.garbageCredential })).toBe(401);
    // A malformed body with a good key is dead-lettered (and logged).
    expect(await postEvents({ authorization: `Bearer ${apiKey.key}` }, '{not json')).toBe(400);
    expect(await putAccount({ authorization: `Bearer ${secrets.adminToken}` })).toBeLessThan(300);
    expect(await putAccount({ authorization: `Bearer ${secrets.wrongAdminToken}` })).toBe(403); // a token, not the right one (libs/auth)
    expect(await putAccount({})).toBe(401);
    // A revoked key: refused with 403 once the revocation is seen (the collector's key cache is off here).
    await apiKeys(dbUrl, 'revoke', apiKey.id);
    await waitUntil(async () => (await postEvents({ authorization: `Bearer ${apiKey.key}` })) === 403, {
      timeoutMs: 10_000,
      message: 'the revoked key is refused',
    });
    // The operator's key list never shows a secret either.
    expect(await apiKeys(dbUrl, 'list', '--json')).not.toContain(keySecret());
    // The accepted events went through enrichment (its consumer logged at trace level meanwhile).
    for (const service of [collector, enrichment])
      metricsTexts.push(await (await fetch(`${service.url}/metrics`)).text());
  });

  it('finds none of the secrets in the services output or /metrics', async () => {
    await collector.stop();
    await enrichment.stop();
    const output = [collector, enrichment].map((s) => readFileSync(s.logFile, 'utf8')).join('\n');
    // The requests above were logged, credentials included, redacted: the check below is not vacuous.
    const requestLines = output
      .split('\n')
      .filter((line) => line.includes('"/v1/events"') || line.includes('/v1/reference/accounts/acct-secret-1'));
    expect(requestLines.length).toBeGreaterThanOrEqual(10);
    expect(output).toContain('"authorization":"[redacted]"');
    expect(output).toContain('"x-api-key":"[redacted]"');
    expect(output).toContain('request body dead-lettered');
    for (const [name, value] of Object.entries({ ...secrets, apiKey: apiKey.key, apiKeySecret: keySecret() })) {
      expect(output.includes(value), `${name} in the logs`).toBe(false);
      for (const text of metricsTexts) expect(text.includes(value), `${name} in /metrics`).toBe(false);
    }
    expect(metricsTexts.join('')).toContain('flywheel_');
  });

  it('names a bad variable at start-up without echoing a secret', async () => {
    /** Starts a built service that must fail; resolves with its exit code and everything it wrote. */
    const start = (service: string, extra: Record<string, string>) =>
      new Promise<{ status: number | null; output: string }>((resolveRun) => {
        const child = spawn(process.execPath, [resolve(REPO_ROOT, 'dist/services', service, 'src/main.js')], {
          env: { ...process.env, HTTP_PORT: '0', KAFKA_BROKERS: env.kafkaBrokers, ...extra },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
        });
        child.stderr.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8');
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
        child.on('close', (status) => {
          clearTimeout(timer);
          resolveRun({ status, output });
        });
      });
    const cases: Array<{ service: string; env: Record<string, string> }> = [
      // Not a postgres:// URL: refused by the config schema, which quotes the value.
      {
        service: 'collector',
        env: { DATABASE_URL: `mysql://flywheel:${secrets.badConfigPassword}@db.internal/flywheel` },
      },
      // Too short a token: refused, its value never quoted.
      { service: 'enrichment-api', env: { DATABASE_URL: dbUrl, ENRICHMENT_ADMIN_TOKEN: secrets.shortToken } },
      // A valid URL whose server does not answer: start-up fails connecting.
      {
        service: 'enrichment-api',
        env: { DATABASE_URL: `postgres://flywheel:${secrets.badConfigPassword}@127.0.0.1:1/flywheel` },
      },
    ];
    const results = await Promise.all(cases.map(({ service, env: extra }) => start(service, extra)));
    for (const [i, { service, env: extra }] of cases.entries()) {
      const { status, output } = results[i];
      expect(status, output).toBe(1);
      const fatal = output
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        .find((line) => line.log?.level === 'fatal');
      expect(fatal?.message).toBe(`${service} failed to start`);
      const named = Object.keys(extra).find((k) => k !== 'DATABASE_URL') ?? 'DATABASE_URL';
      if (fatal?.error?.type === 'ConfigError') expect(fatal.error.message).toContain(named);
      for (const value of [secrets.badConfigPassword, secrets.shortToken, secrets.databasePassword]) {
        expect(output.includes(value), `${value} in the output of ${service}`).toBe(false);
      }
    }
  });
});
