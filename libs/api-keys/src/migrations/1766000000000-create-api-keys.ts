import type { MigrationInterface, QueryRunner } from 'typeorm';
import { API_KEYS_SCHEMA } from '../api-keys-schema';

const s = `"${API_KEYS_SCHEMA}"`;

export class CreateApiKeys1766000000000 implements MigrationInterface {
  name = 'CreateApiKeys1766000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // Only a salted hash of the secret is stored; the key itself is printed once by the CLI.
    await queryRunner.query(`
      CREATE TABLE IF NOT EXISTS ${s}.api_keys (
        id text PRIMARY KEY,
        producer text NOT NULL,
        salt bytea NOT NULL,
        secret_hash bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${s}.api_keys`);
  }
}
