import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA } from '../../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

export class CreateSchemaRegistry1764288000000 implements MigrationInterface {
  name = 'CreateSchemaRegistry1764288000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ${s}.schemas (
        id serial PRIMARY KEY,
        schema_type text NOT NULL DEFAULT 'AVRO',
        schema text NOT NULL,
        canonical text NOT NULL,
        fingerprint text NOT NULL,
        refs jsonb NOT NULL DEFAULT '[]',
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT schemas_fingerprint_key UNIQUE (fingerprint)
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.subject_versions (
        subject text NOT NULL,
        version integer NOT NULL CHECK (version > 0),
        schema_id integer NOT NULL REFERENCES ${s}.schemas (id),
        deleted boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (subject, version)
      )`);
    // Backstop for the per-subject lock in the service: a schema is live at most once under a subject.
    await queryRunner.query(
      `CREATE UNIQUE INDEX subject_versions_live_schema_key ON ${s}.subject_versions (subject, schema_id) WHERE NOT deleted`,
    );
    // GET /schemas/ids/{id}/versions
    await queryRunner.query(`CREATE INDEX subject_versions_schema_id_idx ON ${s}.subject_versions (schema_id)`);
    await queryRunner.query(`
      CREATE TABLE ${s}.compatibility_configs (
        subject text PRIMARY KEY,
        compatibility text NOT NULL CHECK (compatibility IN (
          'NONE', 'BACKWARD', 'BACKWARD_TRANSITIVE', 'FORWARD', 'FORWARD_TRANSITIVE', 'FULL', 'FULL_TRANSITIVE'
        )),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${s}.compatibility_configs`);
    await queryRunner.query(`DROP TABLE ${s}.subject_versions`);
    await queryRunner.query(`DROP TABLE ${s}.schemas`);
  }
}
