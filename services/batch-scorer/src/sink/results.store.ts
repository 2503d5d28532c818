import 'reflect-metadata';
import { ensureDatabase } from '@flywheel/database';
import type { Pool, PoolClient } from 'pg';
import { DataSource } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';
import { CreateBatchScoring1768100000000 } from '../migrations/1768100000000-create-batch-scoring';
import type { ScoredChunk } from '../scoring/chunk-scorer';
import { RunConflictError } from '../scoring/errors';
import type { RowKey } from '../source/offline-log.reader';
import { numberArrayLiteral, textArrayLiteral } from './array-literal';

const s = `"${DATABASE_SCHEMA}"`;

export const BATCH_SCORING_MIGRATIONS = [CreateBatchScoring1768100000000] as const;

/** What fixes a run: stored by its first start, compared on every later one. */
export interface RunDefinition {
  runId: string;
  modelName: string;
  modelVersion: number;
  modelSha256: string;
  /** How the version was asked for: 'alias:champion' or 'version:3'. */
  requestedAs: string;
  featureSetVersion: string;
  namespace: string;
  from: number | null;
  to: number | null;
  entitiesSha256: string | null;
  entityCount: number | null;
  shardCount: number;
}

export interface Checkpoint {
  status: 'running' | 'done';
  totalRows: number | null;
  rowsScored: number;
  rowsSkipped: number;
  skipped: Record<string, number>;
  rowsWritten: number;
  chunks: number;
  last: RowKey | null;
  attempts: number;
}

/**
 * Throws RunConflictError when a later start of a run asks for something else than its first start: then
 * the results of both would be mixed under one run id. The version is compared only when pinned by
 * --version (an alias may have moved since; the run keeps its version).
 */
export function assertSameRun(
  stored: RunDefinition,
  wanted: Omit<RunDefinition, 'modelVersion' | 'modelSha256' | 'requestedAs' | 'featureSetVersion'> & {
    modelVersion?: number;
  },
  versionPinned: boolean,
): void {
  const differences: string[] = [];
  const compare = (what: string, a: unknown, b: unknown) => {
    if (a !== b) differences.push(`${what} ${String(b)} (run has ${String(a)})`);
  };
  compare('model', stored.modelName, wanted.modelName);
  if (versionPinned) compare('version', stored.modelVersion, wanted.modelVersion);
  compare('namespace', stored.namespace, wanted.namespace);
  compare('from', stored.from, wanted.from);
  compare('to', stored.to, wanted.to);
  compare('entity list', stored.entitiesSha256, wanted.entitiesSha256);
  compare('shard count', stored.shardCount, wanted.shardCount);
  if (differences.length > 0) {
    throw new RunConflictError(
      `run ${stored.runId} was started with other options: ${differences.join(', ')}; use a new --run-id`,
    );
  }
}

/** Creates the database/schema if needed and applies batch-scorer's migrations (idempotent, concurrent-safe). */
export async function migrateResultsDatabase(url: string): Promise<void> {
  await ensureDatabase(url, DATABASE_SCHEMA);
  const db = new DataSource({
    type: 'postgres',
    url,
    schema: DATABASE_SCHEMA,
    migrations: [...BATCH_SCORING_MIGRATIONS],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    logging: false,
  });
  await db.initialize();
  try {
    // Shards started together race to migrate: serialise them on an advisory lock.
    await db.query(`SELECT pg_advisory_lock(hashtextextended('batch_scoring:migrations', 0))`);
    await db.runMigrations();
  } finally {
    await db.destroy();
  }
}

/**
 * batch_scoring's SQL. Every write of a run shard goes through the one session that holds the shard's
 * advisory lock (`lockShard`), so two processes can never advance the same checkpoint, and a process
 * started after a kill -9 waits until the dead one's last statement has committed or rolled back.
 */
export class ResultsStore {
  constructor(private readonly pool: Pool) {}

  /**
   * Records the run at its first start; later starts (resume, other shards, re-runs) must ask for the same
   * thing. Returns the stored definition: its model version is authoritative (an alias is resolved once).
   */
  async claimRun(wanted: RunDefinition, versionPinned: boolean): Promise<RunDefinition> {
    await this.pool.query(
      `INSERT INTO ${s}.runs (run_id, model_name, model_version, model_sha256, requested_as, feature_set_version,
                              namespace, from_time, to_time, entities_sha256, entity_count, shard_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
       ON CONFLICT (run_id) DO NOTHING`,
      [
        wanted.runId,
        wanted.modelName,
        wanted.modelVersion,
        wanted.modelSha256,
        wanted.requestedAs,
        wanted.featureSetVersion,
        wanted.namespace,
        wanted.from,
        wanted.to,
        wanted.entitiesSha256,
        wanted.entityCount,
        wanted.shardCount,
      ],
    );
    const stored = await this.run(wanted.runId);
    if (!stored) throw new Error(`run ${wanted.runId} vanished right after it was recorded`);
    assertSameRun(stored, wanted, versionPinned);
    return stored;
  }

  async run(runId: string): Promise<RunDefinition | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${s}.runs WHERE run_id = $1`, [runId]);
    if (rows.length === 0) return null;
    const r = rows[0];
    return {
      runId: r.run_id,
      modelName: r.model_name,
      modelVersion: r.model_version,
      modelSha256: r.model_sha256,
      requestedAs: r.requested_as,
      featureSetVersion: r.feature_set_version,
      namespace: r.namespace,
      from: r.from_time === null ? null : Number(r.from_time),
      to: r.to_time === null ? null : Number(r.to_time),
      entitiesSha256: r.entities_sha256,
      entityCount: r.entity_count,
      shardCount: r.shard_count,
    };
  }

  /**
   * Takes the session-level advisory lock of (run, shard) on a dedicated connection, waiting up to
   * `timeoutMs` (a killed process's backend may still be finishing its last statement). The caller does
   * every write of the shard on the returned client and releases it at the end (which drops the lock).
   */
  async lockShard(runId: string, shardIndex: number, timeoutMs: number): Promise<PoolClient> {
    const client = await this.pool.connect();
    try {
      await client.query(`SET lock_timeout = ${Math.max(0, Math.floor(timeoutMs))}`);
      await client.query(`SELECT pg_advisory_lock(hashtextextended($1, 0))`, [`batch_scoring:${runId}:${shardIndex}`]);
      await client.query('SET lock_timeout = 0');
      // Losing a commit to a Postgres crash is fine: results and checkpoint go in the same transaction,
      // so a crash only rewinds both, and the chunk is scored again on resume.
      await client.query('SET synchronous_commit = off');
    } catch (error) {
      client.release(true);
      if ((error as { code?: string }).code === '55P03') {
        throw new RunConflictError(
          `run ${runId} shard ${shardIndex} is being scored by another process (still held after ${timeoutMs} ms)`,
        );
      }
      throw error;
    }
    return client;
  }

  /** The shard's checkpoint, created (status running) on its first start; counts one more attempt otherwise. */
  async startShard(client: PoolClient, runId: string, shardIndex: number): Promise<Checkpoint> {
    const { rows } = await client.query(
      `INSERT INTO ${s}.checkpoints AS c (run_id, shard_index, status) VALUES ($1, $2, 'running')
       ON CONFLICT (run_id, shard_index) DO UPDATE
         SET attempts = c.attempts + CASE WHEN c.status = 'done' THEN 0 ELSE 1 END,
             updated_at = CASE WHEN c.status = 'done' THEN c.updated_at ELSE now() END
       RETURNING *`,
      [runId, shardIndex],
    );
    return checkpointOf(rows[0]);
  }

  /** The shard's checkpoint if it is finished (terminal: safe to read without the shard's lock), else null. */
  async finishedCheckpoint(runId: string, shardIndex: number): Promise<Checkpoint | null> {
    const { rows } = await this.pool.query(
      `SELECT * FROM ${s}.checkpoints WHERE run_id = $1 AND shard_index = $2 AND status = 'done'`,
      [runId, shardIndex],
    );
    return rows.length === 0 ? null : checkpointOf(rows[0]);
  }

  async setTotal(client: PoolClient, runId: string, shardIndex: number, total: number): Promise<void> {
    await client.query(`UPDATE ${s}.checkpoints SET total_rows = $3 WHERE run_id = $1 AND shard_index = $2`, [
      runId,
      shardIndex,
      total,
    ]);
  }

  /**
   * The results of one chunk and the checkpoint after it, in ONE statement (so one transaction): a crash
   * leaves either both or neither. ON CONFLICT DO NOTHING makes a row already written a no-op; the count
   * of rows actually inserted comes back (and is added to rows_written).
   */
  async writeChunk(
    client: PoolClient,
    run: { runId: string; shardIndex: number; modelName: string; modelVersion: number },
    chunk: ScoredChunk,
    totals: { rowsScored: number; rowsSkipped: number; skipped: Record<string, number> },
  ): Promise<number> {
    const { rows } = await client.query(
      `WITH ins AS (
         INSERT INTO ${s}.results (run_id, event_id, event_time, entity, model_name, model_version, score, decision, scored_at)
         SELECT $1, u.event_id, u.event_time, u.entity, $3, $4, u.score, u.decision, now()
           FROM unnest($5::text[], $6::bigint[], $7::text[], $8::float8[], $9::text[])
                AS u(event_id, event_time, entity, score, decision)
         ON CONFLICT DO NOTHING
         RETURNING 1
       ), n AS (SELECT count(*)::bigint AS inserted FROM ins)
       UPDATE ${s}.checkpoints c
          SET rows_scored = $10, rows_skipped = $11, skipped = $12::jsonb, rows_written = c.rows_written + n.inserted,
              chunks = c.chunks + 1, last_event_id = $13, last_event_time = $14, updated_at = now()
         FROM n
        WHERE c.run_id = $1 AND c.shard_index = $2
       RETURNING n.inserted`,
      [
        run.runId,
        run.shardIndex,
        run.modelName,
        run.modelVersion,
        textArrayLiteral(chunk.eventIds),
        numberArrayLiteral(chunk.eventTimes),
        textArrayLiteral(chunk.entities),
        numberArrayLiteral(chunk.scores),
        textArrayLiteral(chunk.decisions),
        totals.rowsScored,
        totals.rowsSkipped,
        JSON.stringify(totals.skipped),
        chunk.last.eventId,
        chunk.last.eventTime,
      ],
    );
    if (rows.length !== 1) throw new Error(`checkpoint of run ${run.runId} shard ${run.shardIndex} is missing`);
    return Number(rows[0].inserted);
  }

  async finishShard(client: PoolClient, runId: string, shardIndex: number): Promise<void> {
    await client.query(
      `UPDATE ${s}.checkpoints SET status = 'done', finished_at = now(), updated_at = now()
        WHERE run_id = $1 AND shard_index = $2`,
      [runId, shardIndex],
    );
  }
}

// biome-ignore lint/suspicious/noExplicitAny: a checkpoints row as pg returns it.
function checkpointOf(r: any): Checkpoint {
  return {
    status: r.status,
    totalRows: r.total_rows === null ? null : Number(r.total_rows),
    rowsScored: Number(r.rows_scored),
    rowsSkipped: Number(r.rows_skipped),
    skipped: r.skipped,
    rowsWritten: Number(r.rows_written),
    chunks: r.chunks,
    last: r.last_event_id === null ? null : { eventId: r.last_event_id, eventTime: Number(r.last_event_time) },
    attempts: r.attempts,
  };
}
