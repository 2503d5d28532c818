/**
 * The rebuild CLI (services/feature-materializer/src/cli/rebuild.ts), run as an operator runs it: the built
 * script in its own process, against a real broker and Postgres, while the live materializer has already
 * applied the same stream. The rebuilt namespace must hold exactly the live one's state, online rows and
 * offline log; a second run continues (nothing to do) instead of applying anything twice.
 */
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureTopics, topics } from '@flywheel/contracts';
import { paymentsFraud } from '@flywheel/features';
import {
  REPO_ROOT,
  type ServiceProcess,
  startServiceProcess,
  testGroup,
  testPrefix,
  uniqueSuffix,
} from '@flywheel/testing';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { generateStream, MeshClient, waitApplied } from './stream';

const REBUILD = resolve(REPO_ROOT, 'dist/services/feature-materializer/src/cli/rebuild.js');
const EVENTS = 3_000;
const ENTITIES = 60;

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

describe('feature-materializer rebuild CLI', () => {
  const env = testEnv();
  const prefix = testPrefix('rebuild');
  const group = testGroup('features');
  const live = `test-${uniqueSuffix()}`;
  let db: Client;
  let client: MeshClient;
  let materializer: ServiceProcess | undefined;

  const cliEnv = {
    ...process.env,
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: env.databaseUrl,
    TOPIC_PREFIX: prefix,
    FEATURES_GROUP_ID: group,
    LOG_LEVEL: 'warn',
  };

  async function rebuild(...args: string[]): Promise<CliRun> {
    try {
      const { stdout, stderr } = await promisify(execFile)('node', [REBUILD, ...args], {
        env: cliEnv,
        timeout: 120_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  }

  /** Everything a namespace holds, without the namespace and the write times. */
  async function contents(namespace: string) {
    const state = await db.query(
      'SELECT entity, kafka_partition, state::text AS state FROM features.entity_state WHERE namespace = $1 ORDER BY entity',
      [namespace],
    );
    const online = await db.query(
      `SELECT entity, feature_set_version, as_of, features::text AS features
         FROM features.online_features WHERE namespace = $1 ORDER BY entity`,
      [namespace],
    );
    const offline = await db.query(
      `SELECT event_id, entity, event_time, features::text AS features
         FROM features.offline_vectors WHERE namespace = $1 ORDER BY event_id`,
      [namespace],
    );
    return { state: state.rows, online: online.rows, offline: offline.rows };
  }

  beforeAll(async () => {
    db = new Client({ connectionString: env.databaseUrl });
    await db.connect();
    client = new MeshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    const admin = client.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsEnriched, topics.labels, topics.featureVectors] });
    await admin.disconnect();
    await client.connect();

    // The live materializer applies the stream first: the rebuild must reproduce what it holds.
    materializer = await startServiceProcess('feature-materializer', {
      env: {
        KAFKA_BROKERS: env.kafkaBrokers,
        SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
        DATABASE_URL: env.databaseUrl,
        TOPIC_PREFIX: prefix,
        FEATURES_GROUP_ID: group,
        FEATURES_NAMESPACE: live,
        LOG_LEVEL: 'warn',
      },
    });
    await client.sendEvents(generateStream(EVENTS, ENTITIES, 11));
    await waitApplied(db, client, live);
    await materializer.stop();
  });

  afterAll(async () => {
    await materializer?.kill();
    await client?.close();
    await db?.end();
  });

  it('refuses to run without a version, or for a version this build does not define (exit 2)', async () => {
    const none = await rebuild();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('usage: rebuild --feature-set-version');

    const other = await rebuild('--feature-set-version', 'not-this-one');
    expect(other.code).toBe(2);
    expect(other.stderr).toContain(`version ${paymentsFraud.version}, not not-this-one`);
  });

  it('recomputes exactly the live namespace from the retained log, and a second run applies nothing twice', async () => {
    const namespace = `${live}-rebuild`;
    const first = await rebuild('--feature-set-version', paymentsFraud.version, '--namespace', namespace);
    expect(first.stderr).not.toContain('rebuild failed');
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.stdout.trim()) as { namespace: string; entities: number };
    expect(summary).toMatchObject({ namespace, feature_set_version: paymentsFraud.version, entities: ENTITIES });

    const want = await contents(live);
    expect(want.state).toHaveLength(ENTITIES);
    expect(want.offline.length).toBeGreaterThan(EVENTS / 2); // late events are dead-lettered, not logged
    const got = await contents(namespace);
    expect(got.state).toEqual(want.state);
    expect(got.online).toEqual(want.online);
    expect(got.offline).toEqual(want.offline);

    // Stored offsets already at the end: the second run has nothing to apply and changes nothing.
    const second = await rebuild('--feature-set-version', paymentsFraud.version, '--namespace', namespace);
    expect(second.code).toBe(0);
    expect(await contents(namespace)).toEqual(got);
  });
});
