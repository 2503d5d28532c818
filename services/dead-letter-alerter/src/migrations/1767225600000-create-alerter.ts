import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

export class CreateAlerter1767225600000 implements MigrationInterface {
  name = 'CreateAlerter1767225600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // First-ever failure kinds per topic: persisted so a restart does not announce them again.
    await queryRunner.query(`
      CREATE TABLE ${s}.seen_kinds (
        topic text NOT NULL,
        failure_kind text NOT NULL,
        first_stage text NOT NULL,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (topic, failure_kind)
      )`);
    // Audit and progress of every replay (dry runs included).
    await queryRunner.query(`
      CREATE TABLE ${s}.replays (
        id uuid PRIMARY KEY,
        dlq_topic text NOT NULL,
        actor text NOT NULL,
        filter jsonb NOT NULL,
        dry_run boolean NOT NULL,
        status text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
        selected integer NOT NULL DEFAULT 0,
        sent integer NOT NULL DEFAULT 0,
        skipped integer NOT NULL DEFAULT 0,
        not_replayable integer NOT NULL DEFAULT 0,
        would_send integer NOT NULL DEFAULT 0,
        error text,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX replays_started_at_idx ON ${s}.replays (started_at DESC)`);
    // One row per DLQ record ever re-produced: the idempotence of replay.
    await queryRunner.query(`
      CREATE TABLE ${s}.replayed_records (
        dlq_topic text NOT NULL,
        dlq_partition integer NOT NULL,
        dlq_offset bigint NOT NULL,
        replay_id uuid NOT NULL REFERENCES ${s}.replays (id),
        original_topic text NOT NULL,
        replayed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${s}.replayed_records`);
    await queryRunner.query(`DROP TABLE ${s}.replays`);
    await queryRunner.query(`DROP TABLE ${s}.seen_kinds`);
  }
}
