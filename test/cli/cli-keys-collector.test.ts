import { randomUUID } from 'node:crypto';
import { type RawEvent, topics, withPrefix } from '@flywheel/contracts';
import {
  databaseUrl,
  freePort,
  type ServiceProcess,
  startServiceProcess,
  testPrefix,
  uniqueSuffix,
} from '@flywheel/testing';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createTopics, flywheel, jsonLines } from './cli-harness';

/** Collector events as an external producer writes them; `type` left out (the topic argument implies it). */
function event(i: number) {
  return {
    event_id: randomUUID(),
    event_time: new Date(Date.UTC(2026, 0, 2, 9, 0, i)).toISOString(),
    account_id: `acct-${i % 3}`,
    merchant_id: 'm-1',
    amount: 20 + i,
    currency: 'EUR',
    channel: 'ecom',
    card_present: false,
  };
}

describe('flywheel keys + produce --via collector against a collector process', () => {
  const env = testEnv();
  const prefix = testPrefix('clikeys');
  const database = `flywheel_test_cli_${uniqueSuffix()}`;
  let dbUrl: string;
  let collector: ServiceProcess;
  let cliEnv: Record<string, string>;

  beforeAll(async () => {
    await createTopics(env.kafkaBrokers, prefix, [topics.eventsRaw, topics.labels]);
    dbUrl = await databaseUrl(env.databaseUrl, database);
    collector = await startServiceProcess('collector', {
      env: {
        KAFKA_BROKERS: env.kafkaBrokers,
        SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
        DATABASE_URL: dbUrl,
        TOPIC_PREFIX: prefix,
        // revocations take effect at once, so the test need not wait out a cache
        COLLECTOR_API_KEY_CACHE_MS: '0',
        LOG_LEVEL: 'warn',
      },
    });
    cliEnv = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      DATABASE_URL: dbUrl,
      COLLECTOR_URL: collector.url,
    };
  }, 120_000);

  afterAll(async () => {
    await collector?.stop();
    const admin = new URL(env.databaseUrl);
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => client.end());
  });

  it('creates a key, sends through the collector with it (per-event results), revokes it', async () => {
    const created = await flywheel(['keys', 'create', '--producer', 'cli-test', '--json'], { env: cliEnv });
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; producer: string; key: string };
    expect(key).toMatchObject({ producer: 'cli-test' });
    expect(key.key).toMatch(new RegExp(`^fw_${key.id}_`));

    const listed = await flywheel(['keys', 'list', '--json'], { env: cliEnv });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ id: key.id, producer: 'cli-test', revokedAt: null }),
    ]);
    expect(listed.stdout).not.toContain(key.key.slice(-20)); // never the secret

    // five good events and one the collector rejects: exit 1, the rejected one named with its reason
    const events = [event(1), event(2), event(3), { ...event(4), amount: 'a lot' }, event(5), event(6)];
    const sent = await flywheel(['produce', 'events.raw.v1', '--via', 'collector', '--api-key', key.key], {
      env: cliEnv,
      stdin: events.map((e) => JSON.stringify(e)).join('\n'),
    });
    expect(sent.code).toBe(1);
    expect(sent.stderr).toContain('record 4: rejected: schema-violation');
    expect(sent.stderr).toContain('(field amount)');
    expect(sent.stderr).toContain(`collector ${collector.url}: 5 accepted, 1 rejected`);

    const consumed = await flywheel(['consume', 'events.raw.v1', '--value-only'], { env: cliEnv });
    expect(consumed.code).toBe(0);
    const stored = jsonLines<RawEvent>(consumed.stdout);
    expect(stored.map((e) => e.event_id).sort()).toEqual(
      events
        .filter((_, i) => i !== 3)
        .map((e) => e.event_id)
        .sort(),
    );
    for (const e of stored)
      expect(e).toMatchObject({
        api_key_id: key.id,
        event_type: 'transaction',
        source: expect.stringMatching(/^cli-test@/),
      });

    const revoked = await flywheel(['keys', 'revoke', key.id], { env: cliEnv });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toContain(`revoked ${key.id}`);
    const again = await flywheel(['keys', 'revoke', key.id], { env: cliEnv });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`no active key ${key.id}`);
    const listedAfter = await flywheel(['keys', 'list', '--json'], { env: cliEnv });
    expect(JSON.parse(listedAfter.stdout)[0].revokedAt).not.toBeNull();

    const refused = await flywheel(['produce', 'events.raw.v1', '--via', 'collector'], {
      env: { ...cliEnv, FLYWHEEL_API_KEY: key.key },
      stdin: JSON.stringify(event(7)),
    });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('collector refused the request: HTTP 403');
    expect(refused.stderr).toContain('Check the API key');
    const stillFive = await flywheel(['consume', withPrefix(prefix, topics.eventsRaw)], { env: cliEnv });
    expect(jsonLines(stillFive.stdout)).toHaveLength(5);
  });

  it('usage errors and an unreachable collector or Postgres', async () => {
    const noProducer = await flywheel(['keys', 'create'], { env: cliEnv });
    expect(noProducer.code).toBe(2);
    expect(noProducer.stderr).toContain('missing --producer <name>');
    const noKey = await flywheel(['produce', '--via', 'collector'], { env: cliEnv, stdin: '{}' });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('needs an API key');
    const wrongTopic = await flywheel(['produce', 'predictions.v1', '--via', 'collector', '--api-key', 'k'], {
      env: cliEnv,
      stdin: '{}',
    });
    expect(wrongTopic.code).toBe(2);
    expect(wrongTopic.stderr).toContain('the collector writes only events.raw.v1');

    const closed = await freePort();
    const down = await flywheel(
      ['produce', 'events.raw.v1', '--via', 'collector', '--collector', `http://127.0.0.1:${closed}`],
      { env: { ...cliEnv, FLYWHEEL_API_KEY: 'fw_000000000000_x' }, stdin: JSON.stringify(event(8)) },
    );
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach the collector at http://127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(down.stderr).toContain('npm run mesh');
    const noPostgres = await flywheel(
      ['keys', 'list', '--database-url', `postgres://postgres:secret@127.0.0.1:${closed}/x`],
      { env: cliEnv },
    );
    expect(noPostgres.code).toBe(1);
    expect(noPostgres.stderr).toContain(
      `cannot reach Postgres at postgres://postgres:***@127.0.0.1:${closed}/x (ECONNREFUSED)`,
    );
  });
});
