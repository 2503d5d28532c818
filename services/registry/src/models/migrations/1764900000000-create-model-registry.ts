import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA } from '../../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

export class CreateModelRegistry1764900000000 implements MigrationInterface {
  name = 'CreateModelRegistry1764900000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ${s}.model_artifacts (
        sha256 text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        bytes bytea NOT NULL,
        size_bytes bigint NOT NULL,
        content_type text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // One row per model: every write locks it (FOR UPDATE), which serializes version numbering, stage moves and the
    // order of the model's outbox rows.
    await queryRunner.query(`
      CREATE TABLE ${s}.registered_models (
        name text PRIMARY KEY,
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.model_versions (
        model_name text NOT NULL REFERENCES ${s}.registered_models (name),
        version integer NOT NULL CHECK (version > 0),
        stage text NOT NULL CHECK (stage IN ('None', 'Staging', 'Production', 'Archived')),
        artifact_sha256 text NOT NULL REFERENCES ${s}.model_artifacts (sha256),
        feature_set_version text NOT NULL,
        feature_names jsonb NOT NULL,
        metrics jsonb NOT NULL,
        baseline jsonb NOT NULL,
        training_window_start bigint NOT NULL,
        training_window_end bigint NOT NULL,
        parent_version integer,
        retrain_request_id text,
        run_id text,
        description text,
        created_by text NOT NULL,
        created_at bigint NOT NULL,
        stage_changed_at bigint NOT NULL,
        PRIMARY KEY (model_name, version)
      )`);
    // A redelivered models.trained.v1 must not create a second version.
    await queryRunner.query(
      `CREATE UNIQUE INDEX model_versions_run_id_key ON ${s}.model_versions (run_id) WHERE run_id IS NOT NULL`,
    );
    // Backstop for the one-Production rule the service keeps under the model lock.
    await queryRunner.query(
      `CREATE UNIQUE INDEX model_versions_one_production ON ${s}.model_versions (model_name) WHERE stage = 'Production'`,
    );
    await queryRunner.query(`
      CREATE TABLE ${s}.model_aliases (
        model_name text NOT NULL,
        alias text NOT NULL,
        version integer NOT NULL,
        updated_at bigint NOT NULL,
        PRIMARY KEY (model_name, alias),
        FOREIGN KEY (model_name, version) REFERENCES ${s}.model_versions (model_name, version)
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.model_history (
        id bigserial PRIMARY KEY,
        change_id uuid NOT NULL,
        model_name text NOT NULL,
        version integer NOT NULL,
        change text NOT NULL,
        alias text,
        from_stage text,
        to_stage text,
        from_version integer,
        to_version integer,
        actor text NOT NULL,
        reason text,
        changed_at bigint NOT NULL
      )`);
    await queryRunner.query(`CREATE INDEX model_history_model_idx ON ${s}.model_history (model_name, id)`);
    // The transactional outbox of models.lifecycle.v1: written in the transaction of the change, sent by the relay.
    await queryRunner.query(`
      CREATE TABLE ${s}.model_outbox (
        id bigserial PRIMARY KEY,
        change_id uuid NOT NULL UNIQUE,
        model_name text NOT NULL,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        sent_at timestamptz
      )`);
    await queryRunner.query(`CREATE INDEX model_outbox_pending_idx ON ${s}.model_outbox (id) WHERE sent_at IS NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [
      'model_outbox',
      'model_history',
      'model_aliases',
      'model_versions',
      'registered_models',
      'model_artifacts',
    ]) {
      await queryRunner.query(`DROP TABLE ${s}.${table}`);
    }
  }
}
