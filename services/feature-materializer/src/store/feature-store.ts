import type { FeatureVector, Label } from '@flywheel/contracts';
import type { EntityState, FeatureSet } from '@flywheel/features';
import type { Pool, PoolClient } from 'pg';
import { DATABASE_SCHEMA } from '../database-schema';

const s = `"${DATABASE_SCHEMA}"`;
const DAY_MS = 86_400_000;

type StoredState = Omit<EntityState, 'entity'>;

export interface OnlineRow {
  entity: string;
  feature_set: string;
  feature_set_version: string;
  as_of: number;
  updated_at: string;
  features: Record<string, number>;
}

/** SQL of the features schema. Every write takes the caller's transaction client. */
export class FeatureStore {
  private readonly knownDays = new Set<number>();

  constructor(readonly pool: Pool) {}

  /**
   * Locks the partition's offset row for this namespace (creating it if missing) and returns the next
   * offset to apply, or null when nothing was ever applied. The row lock serializes two members that
   * both think they own the partition around a rebalance: the second sees the first one's offset.
   */
  async lockOffset(
    tx: PoolClient,
    namespace: string,
    topic: string,
    partition: number,
    group: string,
  ): Promise<number | null> {
    // One round trip: ON CONFLICT DO UPDATE takes the same row lock as SELECT … FOR UPDATE and, under
    // READ COMMITTED, returns the latest committed next_offset after waiting for a concurrent owner.
    const { rows } = await tx.query(
      `INSERT INTO ${s}.consumer_offsets AS o (namespace, topic, kafka_partition, next_offset, consumer_group)
       VALUES ($1, $2, $3, NULL, $4)
       ON CONFLICT (namespace, topic, kafka_partition) DO UPDATE SET next_offset = o.next_offset
       RETURNING next_offset`,
      [namespace, topic, partition, group],
    );
    return rows[0].next_offset === null ? null : Number(rows[0].next_offset);
  }

  async saveOffset(tx: PoolClient, namespace: string, topic: string, partition: number, next: number, group: string) {
    await tx.query(
      `UPDATE ${s}.consumer_offsets SET next_offset = $4, consumer_group = $5, updated_at = now()
        WHERE namespace = $1 AND topic = $2 AND kafka_partition = $3`,
      [namespace, topic, partition, next, group],
    );
  }

  async offsets(namespace: string, topic: string): Promise<Map<number, number | null>> {
    const { rows } = await this.pool.query(
      `SELECT kafka_partition, next_offset FROM ${s}.consumer_offsets WHERE namespace = $1 AND topic = $2`,
      [namespace, topic],
    );
    return new Map(rows.map((r) => [r.kafka_partition, r.next_offset === null ? null : Number(r.next_offset)]));
  }

  async loadStates(tx: PoolClient, namespace: string, entities: string[]): Promise<Map<string, EntityState>> {
    const { rows } = await tx.query(
      `SELECT entity, state FROM ${s}.entity_state WHERE namespace = $1 AND entity = ANY($2::text[])`,
      [namespace, entities],
    );
    return new Map(rows.map((r) => [r.entity, { entity: r.entity, ...(r.state as StoredState) }]));
  }

  async saveStates(tx: PoolClient, namespace: string, partition: number, states: EntityState[]): Promise<void> {
    if (states.length === 0) return;
    await tx.query(
      `INSERT INTO ${s}.entity_state (namespace, entity, kafka_partition, state, updated_at)
       SELECT $1, u.entity, $2, u.state::jsonb, now() FROM unnest($3::text[], $4::text[]) AS u(entity, state)
       ON CONFLICT (namespace, entity) DO UPDATE
         SET state = EXCLUDED.state, kafka_partition = EXCLUDED.kafka_partition, updated_at = now()`,
      [
        namespace,
        partition,
        states.map((st) => st.entity),
        states.map(({ entity: _entity, ...rest }) => JSON.stringify(rest)),
      ],
    );
  }

  async saveOnline(
    tx: PoolClient,
    namespace: string,
    featureSet: FeatureSet,
    rows: { entity: string; asOf: number; features: Record<string, number> }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO ${s}.online_features (namespace, entity, feature_set, feature_set_version, as_of, features, updated_at)
       SELECT $1, u.entity, $2, $3, u.as_of, u.features::jsonb, now()
         FROM unnest($4::text[], $5::bigint[], $6::text[]) AS u(entity, as_of, features)
       ON CONFLICT (namespace, entity) DO UPDATE
         SET feature_set = EXCLUDED.feature_set, feature_set_version = EXCLUDED.feature_set_version,
             as_of = EXCLUDED.as_of, features = EXCLUDED.features, updated_at = now()`,
      [
        namespace,
        featureSet.name,
        featureSet.version,
        rows.map((r) => r.entity),
        rows.map((r) => r.asOf),
        rows.map((r) => JSON.stringify(r.features)),
      ],
    );
  }

  /**
   * Everything a batch of events writes, in ONE statement (one round trip, data-modifying CTEs): entity
   * states, online rows, offline log rows and the partition's next offset. Rows travel as one JSON
   * document per table (json_to_recordset): one JSON.stringify on our side, one parse on Postgres', instead
   * of a text[] per column whose elements (JSON with many quotes) pg would escape one by one.
   */
  async writeEventBatch(
    tx: PoolClient,
    batch: {
      namespace: string;
      featureSet: FeatureSet;
      topic: string;
      partition: number;
      nextOffset: number;
      group: string;
      states: EntityState[];
      online: { entity: string; as_of: number; features: Record<string, number> }[];
      vectors: FeatureVector[];
    },
  ): Promise<void> {
    const { namespace, featureSet, topic, partition, nextOffset, group } = batch;
    const states = batch.states.map(({ entity, maxEventTime, times, ids, num, cat }) => ({
      entity,
      state: { maxEventTime, times, ids, num, cat },
    }));
    const vectors = batch.vectors.map(({ event_id, entity, event_time, features }) => ({
      event_id,
      entity,
      event_time,
      features,
    }));
    await tx.query(
      `WITH st AS (
         INSERT INTO ${s}.entity_state (namespace, entity, kafka_partition, state, updated_at)
         SELECT $1, x.entity, $2, x.state, now() FROM json_to_recordset($3::json) AS x(entity text, state jsonb)
         ON CONFLICT (namespace, entity) DO UPDATE
           SET state = EXCLUDED.state, kafka_partition = EXCLUDED.kafka_partition, updated_at = now()
       ), onl AS (
         INSERT INTO ${s}.online_features (namespace, entity, feature_set, feature_set_version, as_of, features, updated_at)
         SELECT $1, x.entity, $4, $5, x.as_of, x.features, now()
           FROM json_to_recordset($6::json) AS x(entity text, as_of bigint, features jsonb)
         ON CONFLICT (namespace, entity) DO UPDATE
           SET feature_set = EXCLUDED.feature_set, feature_set_version = EXCLUDED.feature_set_version,
               as_of = EXCLUDED.as_of, features = EXCLUDED.features, updated_at = now()
       ), off AS (
         INSERT INTO ${s}.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
         SELECT $1, x.event_id, x.entity, x.event_time, $4, $5, x.features
           FROM json_to_recordset($7::json) AS x(event_id text, entity text, event_time bigint, features jsonb)
         ON CONFLICT DO NOTHING
       )
       UPDATE ${s}.consumer_offsets SET next_offset = $8, consumer_group = $9, updated_at = now()
        WHERE namespace = $1 AND topic = $10 AND kafka_partition = $2`,
      [
        namespace,
        partition,
        JSON.stringify(states),
        featureSet.name,
        featureSet.version,
        JSON.stringify(batch.online),
        JSON.stringify(vectors),
        nextOffset,
        group,
        topic,
      ],
    );
  }

  /** Creates the daily partitions of the offline log the given event times fall in (outside any transaction). */
  async ensureOfflinePartitions(eventTimes: Iterable<number>): Promise<void> {
    const days = new Set<number>();
    for (const t of eventTimes) {
      const day = Math.floor(t / DAY_MS);
      if (!this.knownDays.has(day)) days.add(day);
    }
    for (const day of days) {
      const name = `offline_vectors_${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
      try {
        await this.pool.query(
          `CREATE TABLE IF NOT EXISTS ${s}."${name}" PARTITION OF ${s}.offline_vectors
             FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`,
        );
      } catch (error) {
        // Two instances creating the same day race: duplicate_table / unique_violation mean it exists.
        const code = (error as { code?: string }).code;
        if (code !== '42P07' && code !== '23505') throw error;
      }
      this.knownDays.add(day);
    }
  }

  async appendOffline(tx: PoolClient, namespace: string, vectors: FeatureVector[]): Promise<void> {
    if (vectors.length === 0) return;
    await tx.query(
      `INSERT INTO ${s}.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
       SELECT $1, u.event_id, u.entity, u.event_time, $2, $3, u.features::jsonb
         FROM unnest($4::text[], $5::text[], $6::bigint[], $7::text[]) AS u(event_id, entity, event_time, features)
       ON CONFLICT DO NOTHING`,
      [
        namespace,
        vectors[0].feature_set,
        vectors[0].feature_set_version,
        vectors.map((v) => v.event_id),
        vectors.map((v) => v.entity),
        vectors.map((v) => v.event_time),
        vectors.map((v) => JSON.stringify(v.features)),
      ],
    );
  }

  /** A later label of the same event supersedes an earlier one (by label_time); replays are no-ops. */
  async upsertLabels(tx: PoolClient, labels: Label[]): Promise<void> {
    if (labels.length === 0) return;
    await tx.query(
      `INSERT INTO ${s}.labels (event_id, account_id, is_fraud, label_time, source, reason)
       SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::bigint[], $5::text[], $6::text[])
       ON CONFLICT (event_id) DO UPDATE
         SET account_id = EXCLUDED.account_id, is_fraud = EXCLUDED.is_fraud, label_time = EXCLUDED.label_time,
             source = EXCLUDED.source, reason = EXCLUDED.reason, received_at = now()
         WHERE EXCLUDED.label_time >= ${s}.labels.label_time`,
      [
        labels.map((l) => l.event_id),
        labels.map((l) => l.account_id),
        labels.map((l) => l.is_fraud),
        labels.map((l) => l.label_time),
        labels.map((l) => l.source),
        labels.map((l) => l.reason),
      ],
    );
  }

  async online(namespace: string, entities: string[]): Promise<OnlineRow[]> {
    const { rows } = await this.pool.query(
      `SELECT entity, feature_set, feature_set_version, as_of, updated_at, features
         FROM ${s}.online_features WHERE namespace = $1 AND entity = ANY($2::text[])`,
      [namespace, entities],
    );
    return rows.map((r) => ({
      entity: r.entity,
      feature_set: r.feature_set,
      feature_set_version: r.feature_set_version,
      as_of: Number(r.as_of),
      updated_at: new Date(r.updated_at).toISOString(),
      features: r.features,
    }));
  }

  async entityCount(namespace: string): Promise<number> {
    const { rows } = await this.pool.query(`SELECT count(*)::int AS n FROM ${s}.entity_state WHERE namespace = $1`, [
      namespace,
    ]);
    return rows[0].n;
  }

  /** Removes a namespace entirely (rebuild --reset). Never run it on a namespace a live instance uses. */
  async dropNamespace(namespace: string): Promise<void> {
    for (const table of ['entity_state', 'consumer_offsets', 'online_features', 'offline_vectors']) {
      await this.pool.query(`DELETE FROM ${s}.${table} WHERE namespace = $1`, [namespace]);
    }
  }
}
