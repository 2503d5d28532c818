import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

export class CreateBatchScoring1768100000000 implements MigrationInterface {
  name = 'CreateBatchScoring1768100000000';

  async up(q: QueryRunner): Promise<void> {
    // What a run is, fixed by its first start: a resume with other options is refused, and the model
    // version an alias resolved to then is the one every shard and every resume scores with.
    await q.query(`
      CREATE TABLE ${s}.runs (
        run_id text PRIMARY KEY,
        model_name text NOT NULL,
        model_version integer NOT NULL,
        model_sha256 text NOT NULL,
        requested_as text NOT NULL,
        feature_set_version text NOT NULL,
        namespace text NOT NULL,
        from_time bigint,
        to_time bigint,
        entities_sha256 text,
        entity_count integer,
        shard_count integer NOT NULL CHECK (shard_count >= 1),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Progress of one shard, advanced in the same statement as the results of each chunk: the position is
    // the last (event_id, event_time) written, in the order the cursor reads.
    await q.query(`
      CREATE TABLE ${s}.checkpoints (
        run_id text NOT NULL REFERENCES ${s}.runs (run_id),
        shard_index integer NOT NULL CHECK (shard_index >= 0),
        status text NOT NULL CHECK (status IN ('running', 'done')),
        total_rows bigint,
        rows_scored bigint NOT NULL DEFAULT 0,
        rows_skipped bigint NOT NULL DEFAULT 0,
        skipped jsonb NOT NULL DEFAULT '{}'::jsonb,
        rows_written bigint NOT NULL DEFAULT 0,
        chunks integer NOT NULL DEFAULT 0,
        last_event_id text,
        last_event_time bigint,
        attempts integer NOT NULL DEFAULT 1,
        started_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        PRIMARY KEY (run_id, shard_index)
      )`);
    // One row per scored offline-log row and run; the key makes a second write of the same row a no-op.
    // Byte-order collation on the key columns: a plain memcmp per index comparison, not the locale's.
    await q.query(`
      CREATE TABLE ${s}.results (
        run_id text COLLATE "C" NOT NULL,
        event_id text COLLATE "C" NOT NULL,
        event_time bigint NOT NULL,
        entity text NOT NULL,
        model_name text NOT NULL,
        model_version integer NOT NULL,
        score double precision NOT NULL,
        decision text NOT NULL,
        scored_at timestamptz NOT NULL,
        PRIMARY KEY (run_id, event_id, event_time)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${s}.results`);
    await q.query(`DROP TABLE ${s}.checkpoints`);
    await q.query(`DROP TABLE ${s}.runs`);
  }
}
