import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

export class CreateFeatures1764500000000 implements MigrationInterface {
  name = 'CreateFeatures1764500000000';

  async up(q: QueryRunner): Promise<void> {
    // Per-entity event history within the retention horizon (columnar jsonb), per state namespace.
    await q.query(`
      CREATE TABLE ${s}.entity_state (
        namespace text NOT NULL,
        entity text NOT NULL,
        kafka_partition integer NOT NULL,
        state jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, entity)
      )`);
    // Next offset to apply per input partition, written in the same transaction as the state it
    // describes: the source of truth for consumer positions (Kafka's committed offsets are advisory).
    await q.query(`
      CREATE TABLE ${s}.consumer_offsets (
        namespace text NOT NULL,
        topic text NOT NULL,
        kafka_partition integer NOT NULL,
        next_offset bigint,
        consumer_group text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, topic, kafka_partition)
      )`);
    await q.query(`
      CREATE TABLE ${s}.online_features (
        namespace text NOT NULL,
        entity text NOT NULL,
        feature_set text NOT NULL,
        feature_set_version text NOT NULL,
        as_of bigint NOT NULL,
        features jsonb NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, entity)
      )`);
    // Offline log: one row per emitted vector, partitioned by day of event_time (epoch ms); daily
    // partitions are created on demand by the materializer.
    await q.query(`
      CREATE TABLE ${s}.offline_vectors (
        namespace text NOT NULL,
        event_id text NOT NULL,
        entity text NOT NULL,
        event_time bigint NOT NULL,
        feature_set text NOT NULL,
        feature_set_version text NOT NULL,
        features jsonb NOT NULL,
        written_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (namespace, event_id, event_time)
      ) PARTITION BY RANGE (event_time)`);
    await q.query(`CREATE INDEX offline_vectors_event_id_idx ON ${s}.offline_vectors (event_id)`);
    await q.query(`
      CREATE TABLE ${s}.labels (
        event_id text PRIMARY KEY,
        account_id text NOT NULL,
        is_fraud boolean NOT NULL,
        label_time bigint NOT NULL,
        source text NOT NULL,
        reason text,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${s}.labels`);
    await q.query(`DROP TABLE ${s}.offline_vectors`);
    await q.query(`DROP TABLE ${s}.online_features`);
    await q.query(`DROP TABLE ${s}.consumer_offsets`);
    await q.query(`DROP TABLE ${s}.entity_state`);
  }
}
