import type { Pool, PoolClient } from 'pg';
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

/** A SQL string literal (standard_conforming_strings: only the quote needs doubling). */
function literal(text: string): string {
  if (text.includes('\0')) throw new Error('a feature name contains a NUL character');
  return `'${text.replaceAll("'", "''")}'`;
}

/**
 * The read, in the order of the log's primary key (namespace, event_id, event_time), so it runs as an
 * index scan per daily partition (merged) and resumes from a checkpoint with a keyset condition on the
 * same index, instead of sorting the whole range before the first row. Postgres extracts the model's
 * features from the jsonb in model order and ships them as one binary float8[] (see float8-array.ts);
 * the shard and entity filters run there too.
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
  // A value that is JSON null (NaN written by a buggy producer) or missing becomes a NULL element → NaN.
  const features = selection.featureNames.map((name) => `(v.features ->> ${literal(name)})::float8`).join(', ');
  values.push(selection.featureSetVersion);
  const version = `$${values.length}::text`;
  return {
    text: `SELECT v.event_id, v.entity, v.event_time,
                  CASE WHEN v.feature_set_version = ${version} THEN NULL ELSE v.feature_set_version END,
                  CASE WHEN v.feature_set_version = ${version} THEN array_send(ARRAY[${features}]::float8[]) END
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
