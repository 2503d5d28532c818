/**
 * The features migration of issues 5/12 on a database written by the jsonb schema: the offline log becomes
 * float8[] in the order registered per feature-set version, states and online rows become json, and every
 * reader of the log (point-in-time training set, the batch scorer's cursor) reads the converted rows as it
 * read the jsonb ones. Then the migration is reverted and the jsonb rows come back.
 */
import { randomBytes } from 'node:crypto';
import { decodeFloat8Array, ensureDatabase } from '@flywheel/database';
import { paymentsFraud, pointInTimeTrainingSet } from '@flywheel/features';
import { Client, Pool } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl } from '../../libs/testing/src/postgres';
import { testEnv } from '../../libs/testing/src/test-env';
import { OfflineLogCursor, storedFeatureNames } from '../../services/batch-scorer/src/source/offline-log.reader';
import { DATABASE_SCHEMA } from '../../services/feature-materializer/src/database-schema';
import { FEATURE_MIGRATIONS } from '../../services/feature-materializer/src/migrations';
import { FeatureStore } from '../../services/feature-materializer/src/store/feature-store';

const DAY = 86_400_000;
const NAME_INDEX = (name: string) => paymentsFraud.featureNames.indexOf(name);
const T0 = 20_000 * DAY;

function migrations(url: string, upTo: number): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    schema: DATABASE_SCHEMA,
    migrations: FEATURE_MIGRATIONS.slice(0, upTo),
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    logging: false,
  });
}

describe('features migration: jsonb → float8[] / json', () => {
  const env = testEnv();
  let url: string;
  let db: Client;

  beforeAll(async () => {
    url = await databaseUrl(env.databaseUrl, `flywheel_test_fmig_${randomBytes(4).toString('hex')}`);
    await ensureDatabase(url, DATABASE_SCHEMA);
    const old = migrations(url, 1);
    await old.initialize();
    await old.runMigrations();
    await old.destroy();
    db = new Client({ connectionString: url });
    await db.connect();
    await db.query(
      `CREATE TABLE features.offline_vectors_d PARTITION OF features.offline_vectors FOR VALUES FROM (${T0}) TO (${T0 + DAY})`,
    );
    // Rows as the jsonb build wrote them: v1 with a JSON null (NaN) in one row and a key missing in another.
    await db.query(
      `INSERT INTO features.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
       VALUES ('ns', 'e1', 'a', $1, 'fs', 'v1', '{"b": 2.5, "a": 1, "c": null}'),
              ('ns', 'e2', 'a', $1 + 1, 'fs', 'v1', '{"a": 3, "b": 0.1}'),
              ('ns', 'e3', 'b', $1 + 2, 'fs', 'v0', '{"z": 7}')`,
      [T0],
    );
    // A version with exactly the payments-fraud names (what the materializer wrote), value of name j = j.
    await db.query(
      `INSERT INTO features.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
       VALUES ('ns', 'e4', 'c', $1::bigint + 3, 'payments-fraud', 'pf', $2::jsonb)`,
      [
        T0,
        JSON.stringify(Object.fromEntries([...paymentsFraud.featureNames].reverse().map((n) => [n, NAME_INDEX(n)]))),
      ],
    );
    await db.query(
      `INSERT INTO features.entity_state (namespace, entity, kafka_partition, state)
       VALUES ('ns', 'a', 0, '{"maxEventTime": 5, "times": [5], "ids": ["e1"], "num": {"x": [1.5]}, "cat": {"m": [null]}}')`,
    );
    await db.query(
      `INSERT INTO features.online_features (namespace, entity, feature_set, feature_set_version, as_of, features)
       VALUES ('ns', 'a', 'fs', 'v1', 5, '{"a": 1, "b": 2.5}')`,
    );
    const upgrade = migrations(url, FEATURE_MIGRATIONS.length);
    await upgrade.initialize();
    await upgrade.runMigrations();
    await upgrade.destroy();
  });

  afterAll(async () => {
    await db?.end();
  });

  it('registers each version once with the union of its keys and stores the values in that order', async () => {
    const versions = await db.query(
      'SELECT feature_set_version, feature_names FROM features.feature_set_versions ORDER BY 1',
    );
    expect(versions.rows).toEqual([
      // The payments-fraud names keep the definition's order (the one models read in), others are sorted.
      { feature_set_version: 'pf', feature_names: [...paymentsFraud.featureNames] },
      { feature_set_version: 'v0', feature_names: ['z'] },
      { feature_set_version: 'v1', feature_names: ['a', 'b', 'c'] },
    ]);
    const rows = await db.query('SELECT event_id, features FROM features.offline_vectors ORDER BY event_id');
    expect(rows.rows).toEqual([
      { event_id: 'e1', features: [1, 2.5, null] },
      { event_id: 'e2', features: [3, 0.1, null] },
      { event_id: 'e3', features: [7] },
      { event_id: 'e4', features: paymentsFraud.featureNames.map((_, j) => j) },
    ]);
  });

  it('keeps states and online rows readable (json)', async () => {
    const pool = new Pool({ connectionString: url, max: 2 });
    try {
      const store = new FeatureStore(pool);
      const tx = await pool.connect();
      try {
        const states = await store.loadStates(tx, 'ns', ['a']);
        expect(states.get('a')).toEqual({
          entity: 'a',
          maxEventTime: 5,
          times: [5],
          ids: ['e1'],
          num: { x: [1.5] },
          cat: { m: [null] },
        });
      } finally {
        tx.release();
      }
      const [online] = await store.online('ns', ['a']);
      expect(online.features).toEqual({ a: 1, b: 2.5 });
    } finally {
      await pool.end();
    }
  });

  it('serves the converted rows to the training set and to the batch cursor (another order than stored)', async () => {
    const set = await pointInTimeTrainingSet(db, {
      from: T0,
      to: T0 + DAY,
      featureSetVersion: 'v1',
      namespace: 'ns',
      labels: [
        { event_id: 'e1', is_fraud: true, label_time: T0 },
        { event_id: 'e2', is_fraud: false, label_time: T0 },
      ],
    });
    expect(set.map((r) => [r.event_id, r.features, r.label])).toEqual([
      ['e1', { a: 1, b: 2.5 }, 1],
      ['e2', { a: 3, b: 0.1 }, 0],
    ]);

    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      const featureNames = ['b', 'missing', 'a'];
      const cursor = await OfflineLogCursor.open(
        pool,
        {
          schema: 'features',
          namespace: 'ns',
          featureSetVersion: 'v1',
          featureNames,
          storedFeatureNames: await storedFeatureNames(pool, 'features', 'v1'),
          shard: { index: 0, count: 1 },
        },
        null,
      );
      const rows = await cursor.fetch(10);
      await cursor.close();
      const decoded = rows.map(([id, , , other, bytes]) => {
        if (bytes === null) return [id, other];
        const out = new Float64Array(featureNames.length);
        decodeFloat8Array(bytes, out);
        return [id, [...out]];
      });
      expect(decoded).toEqual([
        ['e1', [2.5, Number.NaN, 1]],
        ['e2', [0.1, Number.NaN, 3]],
        ['e3', 'v0'],
        ['e4', 'pf'],
      ]);
    } finally {
      await pool.end();
    }
  });

  it('reverts to the jsonb rows', async () => {
    const revert = migrations(url, FEATURE_MIGRATIONS.length);
    await revert.initialize();
    await revert.undoLastMigration();
    await revert.destroy();
    const rows = await db.query(
      `SELECT event_id, features, pg_typeof(features)::text AS type FROM features.offline_vectors ORDER BY event_id`,
    );
    expect(rows.rows).toEqual([
      { event_id: 'e1', features: { a: 1, b: 2.5 }, type: 'jsonb' },
      { event_id: 'e2', features: { a: 3, b: 0.1 }, type: 'jsonb' },
      { event_id: 'e3', features: { z: 7 }, type: 'jsonb' },
      {
        event_id: 'e4',
        features: Object.fromEntries(paymentsFraud.featureNames.map((n, j) => [n, j])),
        type: 'jsonb',
      },
    ]);
    const state = await db.query(`SELECT pg_typeof(state)::text AS type FROM features.entity_state`);
    expect(state.rows).toEqual([{ type: 'jsonb' }]);
  });
});
