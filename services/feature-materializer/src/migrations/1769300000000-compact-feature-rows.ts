import { paymentsFraud } from '@flywheel/features';
import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

/** A SQL string literal (standard_conforming_strings: only the quote needs doubling). */
function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * Issue 5/12: jsonb was the limit of both the materializer (a jsonb parse per written row) and the batch
 * scorer (39 `->>` extractions per read row). From here on:
 * - `feature_set_versions` holds each feature-set version's feature names ONCE, in the order of the
 *   values of its offline rows;
 * - `offline_vectors.features` is float8[] in that order (NULL element = missing value);
 * - `entity_state.state` and `online_features.features` are json (stored as written, no binary build).
 * Existing rows are converted in place; the names of a version already in the log are the union of its
 * rows' keys (in the payments-fraud definition's order when they are its names, else sorted), so rows
 * that lacked a key get a NULL element, as the jsonb read gave NULL.
 */
export class CompactFeatureRows1769300000000 implements MigrationInterface {
  name = 'CompactFeatureRows1769300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${s}.feature_set_versions (
        feature_set_version text PRIMARY KEY,
        feature_set text NOT NULL,
        feature_names text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Distinct (version, key) pairs by hashing, not array_agg(DISTINCT …) per version (a sort of every key).
    await q.query(`
      INSERT INTO ${s}.feature_set_versions (feature_set_version, feature_set, feature_names)
      SELECT feature_set_version, min(feature_set), coalesce(array_agg(key ORDER BY key) FILTER (WHERE key IS NOT NULL), '{}')
        FROM (SELECT DISTINCT v.feature_set_version, v.feature_set, k.key
                FROM ${s}.offline_vectors v LEFT JOIN LATERAL jsonb_object_keys(v.features) AS k(key) ON true) AS d
       GROUP BY feature_set_version`);
    const versions: { feature_set_version: string; feature_names: string[] }[] = await q.query(
      `SELECT feature_set_version, feature_names FROM ${s}.feature_set_versions`,
    );
    // A version with exactly the payments-fraud names (every version the materializer wrote, whatever its
    // lateness) gets the definition's order, the one models read in: the batch scorer then ships the stored
    // arrays as they are instead of picking 39 elements per row. Any other set keeps the sorted order.
    const definitionOrder = paymentsFraud.featureNames;
    const definitionNames = new Set(definitionOrder);
    for (const v of versions) {
      const same =
        v.feature_names.length === definitionNames.size && v.feature_names.every((n) => definitionNames.has(n));
      if (!same) continue;
      v.feature_names = [...definitionOrder];
      await q.query(`UPDATE ${s}.feature_set_versions SET feature_names = $2::text[] WHERE feature_set_version = $1`, [
        v.feature_set_version,
        v.feature_names,
      ]);
    }
    // One rewrite of the log, with the names as constants per version (a CASE, no per-row lookup).
    const branches = versions.map(
      (v) =>
        `WHEN ${literal(v.feature_set_version)} THEN ARRAY[${v.feature_names
          .map((name) => `(features ->> ${literal(name)})::float8`)
          .join(', ')}]::float8[]`,
    );
    const convert = branches.length === 0 ? `'{}'::float8[]` : `CASE feature_set_version ${branches.join(' ')} END`;
    await q.query(`ALTER TABLE ${s}.offline_vectors ALTER COLUMN features TYPE float8[] USING ${convert}`);
    await q.query(`ALTER TABLE ${s}.entity_state ALTER COLUMN state TYPE json USING state::json`);
    await q.query(`ALTER TABLE ${s}.online_features ALTER COLUMN features TYPE json USING features::json`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${s}.online_features ALTER COLUMN features TYPE jsonb USING features::jsonb`);
    await q.query(`ALTER TABLE ${s}.entity_state ALTER COLUMN state TYPE jsonb USING state::jsonb`);
    await q.query(`
      CREATE FUNCTION ${s}.offline_float8_to_jsonb(features float8[], version text) RETURNS jsonb
      LANGUAGE sql STABLE AS $$
        SELECT coalesce(jsonb_object_agg(t.name, features[t.i]) FILTER (WHERE features[t.i] IS NOT NULL), '{}')
          FROM ${s}.feature_set_versions f, unnest(f.feature_names) WITH ORDINALITY AS t(name, i)
         WHERE f.feature_set_version = version
      $$`);
    await q.query(`
      ALTER TABLE ${s}.offline_vectors
        ALTER COLUMN features TYPE jsonb USING ${s}.offline_float8_to_jsonb(features, feature_set_version)`);
    await q.query(`DROP FUNCTION ${s}.offline_float8_to_jsonb(float8[], text)`);
    await q.query(`DROP TABLE ${s}.feature_set_versions`);
  }
}
