import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA, REFERENCE_CHANGES_CHANNEL } from '../../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

/**
 * Reference tables plus a row trigger on each that NOTIFYs `{"table", "key"}` on every insert, update and
 * delete. Invalidation therefore follows every write path (this service's API, a bulk load, a psql session
 * of an operator) and reaches every instance listening, at commit time.
 */
export class CreateReferenceData1767000000000 implements MigrationInterface {
  name = 'CreateReferenceData1767000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE ${s}.accounts (
        account_id text PRIMARY KEY,
        home_country text NOT NULL CHECK (home_country ~ '^[A-Z]{2}$'),
        opened_at bigint NOT NULL,
        segment text NOT NULL,
        updated_at bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.merchants (
        merchant_id text PRIMARY KEY,
        mcc text NOT NULL CHECK (mcc ~ '^[0-9]{4}$'),
        category text NOT NULL,
        risk_tier text NOT NULL CHECK (risk_tier IN ('LOW', 'MEDIUM', 'HIGH')),
        country text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
        updated_at bigint NOT NULL
      )`);
    await queryRunner.query(`
      CREATE TABLE ${s}.currency_rates (
        currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
        valid_from bigint NOT NULL DEFAULT 0,
        rate_to_base numeric NOT NULL CHECK (rate_to_base > 0),
        updated_at bigint NOT NULL,
        PRIMARY KEY (currency, valid_from)
      )`);
    await queryRunner.query(`
      CREATE FUNCTION ${s}.notify_reference_change() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        changed record;
      BEGIN
        IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
        PERFORM pg_notify('${REFERENCE_CHANGES_CHANNEL}', json_build_object('table', TG_TABLE_NAME, 'key', to_jsonb(changed) ->> TG_ARGV[0])::text);
        RETURN NULL;
      END $$`);
    const keys = { accounts: 'account_id', merchants: 'merchant_id', currency_rates: 'currency' };
    for (const [table, key] of Object.entries(keys)) {
      await queryRunner.query(`
        CREATE TRIGGER ${table}_notify_change AFTER INSERT OR UPDATE OR DELETE ON ${s}.${table}
        FOR EACH ROW EXECUTE FUNCTION ${s}.notify_reference_change('${key}')`);
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE ${s}.currency_rates`);
    await queryRunner.query(`DROP TABLE ${s}.merchants`);
    await queryRunner.query(`DROP TABLE ${s}.accounts`);
    await queryRunner.query(`DROP FUNCTION ${s}.notify_reference_change()`);
  }
}
