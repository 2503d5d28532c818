import type { Client, Pool, PoolClient } from 'pg';
import type { Shard } from '../scoring/run-options';
import { shardPredicate } from './shard';

/** Which rows of the offline log a run (shard) reads. */
export interface OfflineLogSelection {
  /** Postgres schema of the feature store ('features'). */
  schema: string;
  namespace: string;
  /** The model's; rows of another version are returned without features (to be counted as skipped). */
  featureSetVersion: string;
  /** The model's inputs, in its order: the cursor returns exactly these values as one float8[] per row. */
  featureNames: readonly string[];
  /**
   * The order of the values in the log's rows of `featureSetVersion` (features.feature_set_versions, see
   * storedFeatureNames); null when the version was never registered (no row of it can have values).
   */
  storedFeatureNames: readonly string[] | null;
  /** Event-time range [from, to), epoch millis. */
  from?: number;
  to?: number;
  entities?: readonly string[];
  shard: Shard;
}

/** Position in the read order (event_id, event_time): the checkpoint. */
export interface RowKey {
  eventId: string;
  eventTime: number;
}

/**
 * One offline-log row as the cursor returns it (row mode 'array', no object per row):
 * [event_id, entity, event_time (int8 as text), other feature-set version or null, features or null].
 * `features` is array_send(float8[]) of the model's features (decodeFloat8Array), null when the row's
 * feature-set version is not the model's.
 */
export type OfflineRow = [string, string, string, string | null, Buffer | null];

const IDENT = /^[a-z_][a-z0-9_]*$/;

/** The names of a feature-set version's values in the offline log, in stored order; null if unregistered. */
export async function storedFeatureNames(
  pool: Pool | Client,
  schema: string,
  version: string,
): Promise<string[] | null> {
  if (!IDENT.test(schema)) throw new Error(`bad schema name ${schema}`);
  const { rows } = await pool.query(
    `SELECT feature_names FROM "${schema}".feature_set_versions WHERE feature_set_version = $1`,
    [version],
  );
  return rows.length === 0 ? null : rows[0].feature_names;
}

/**
 * The model's values of a row as SQL: the stored float8[] itself when the model reads the version's
 * features in their stored order (the usual case: nothing to compute per row), else the elements picked
 * by position (a name the version lacks is a NULL element, i.e. a missing value).
 */
function featuresExpression(selection: OfflineLogSelection): string {
  const stored = selection.storedFeatureNames ?? [];
  const model = selection.featureNames;
  if (stored.length === model.length && model.every((name, i) => stored[i] === name)) return 'v.features';
  const position = new Map(stored.map((name, i) => [name, i + 1]));
  const elements = model.map((name) => {
    const at = position.get(name);
    return at === undefined ? 'NULL' : `v.features[${at}]`;
  });
  return `ARRAY[${elements.join(', ')}]::float8[]`;
}

/**
 * The read, in the order of the log's primary key (namespace, event_id, event_time), so it runs as an
 * index scan per daily partition (merged) and resumes from a checkpoint with a keyset condition on the
 * same index, instead of sorting the whole range before the first row. Postgres ships the model's values
 * as one binary float8[] (libs/database's decodeFloat8Array reads it), straight from the stored float8[]
 * (issue 12: extracting them from jsonb was the limit of the whole run); the shard and entity filters run
 * there too.
 */
export function selectionSql(
  selection: OfflineLogSelection,
  after: RowKey | null,
  kind: 'rows' | 'count',
): { text: string; values: unknown[] } {
  if (!IDENT.test(selection.schema)) throw new Error(`bad schema name ${selection.schema}`);
  if (selection.featureNames.length === 0) throw new Error('the model names no feature');
  const values: unknown[] = [selection.namespace];
  const where = ['v.namespace = $1'];
  if (selection.from !== undefined && selection.to !== undefined) {
    values.push(selection.from, selection.to);
    where.push(`v.event_time >= $${values.length - 1}::bigint AND v.event_time < $${values.length}::bigint`);
  }
  if (selection.entities) {
    values.push(selection.entities);
    where.push(`v.entity = ANY($${values.length}::text[])`);
  }
  const shard = shardPredicate(selection.shard, values);
  if (shard) where.push(shard);
  if (after) {
    values.push(after.eventId, after.eventTime);
    where.push(
      `(v.namespace, v.event_id, v.event_time) > ($1, $${values.length - 1}::text, $${values.length}::bigint)`,
    );
  }
  const table = `"${selection.schema}".offline_vectors v`;
  if (kind === 'count') {
    return { text: `SELECT count(*)::bigint AS n FROM ${table} WHERE ${where.join(' AND ')}`, values };
  }
  // A NULL element (a missing value) becomes NaN when decoded.
  const features = featuresExpression(selection);
  values.push(selection.featureSetVersion);
  const version = `$${values.length}::text`;
  return {
    text: `SELECT v.event_id, v.entity, v.event_time,
                  CASE WHEN v.feature_set_version = ${version} THEN NULL ELSE v.feature_set_version END,
                  CASE WHEN v.feature_set_version = ${version} THEN array_send(${features}) END
             FROM ${table}
            WHERE ${where.join(' AND ')}
            ORDER BY v.namespace, v.event_id, v.event_time`,
    values,
  };
}

/** Rows in the selection after `after` (the total for progress and ETA). */
export async function countRows(pool: Pool, selection: OfflineLogSelection, after: RowKey | null): Promise<number> {
  const { text, values } = selectionSql(selection, after, 'count');
  const { rows } = await pool.query(text, values);
  return Number(rows[0].n);
}

/**
 * A server-side cursor over the selection (DECLARE … CURSOR in a read-only REPEATABLE READ transaction,
 * then FETCH n): memory holds one chunk, whatever the size of the range. The snapshot is the one of the
 * open: rows the materializer adds meanwhile are not read by this cursor.
 */
export class OfflineLogCursor {
  private closed = false;

  private constructor(private readonly client: PoolClient) {}

  static async open(pool: Pool, selection: OfflineLogSelection, after: RowKey | null): Promise<OfflineLogCursor> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const { text, values } = selectionSql(selection, after, 'rows');
      await client.query(`DECLARE offline_rows NO SCROLL CURSOR FOR ${text}`, values);
    } catch (error) {
      client.release(error as Error);
      throw error;
    }
    return new OfflineLogCursor(client);
  }

  /** The next `n` rows (fewer at the end, none after it). */
  async fetch(n: number): Promise<OfflineRow[]> {
    const result = await this.client.query<OfflineRow>({
      text: `FETCH ${Math.floor(n)} FROM offline_rows`,
      rowMode: 'array',
    });
    return result.rows;
  }

  async close(error?: Error): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (error) {
      this.client.release(error); // a broken connection is not returned to the pool
      return;
    }
    try {
      await this.client.query('COMMIT');
      this.client.release();
    } catch (commitError) {
      this.client.release(commitError as Error);
    }
  }
}
