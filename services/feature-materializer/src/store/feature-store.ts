import type { FeatureVector, Label } from '@flywheel/contracts';
import { encodeFloat8Array, encodeInt8Array, encodeTextArray } from '@flywheel/database';
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
  /** Feature names per registered feature-set version, in stored order (see registerFeatureSet). */
  private readonly storedNames = new Map<string, readonly string[]>();

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

  /**
   * The feature names of a feature-set version in the order its offline rows store their values,
   * registering the version (with `featureSet.featureNames`' order) when it is new. Outside any transaction
   * (autocommit) so a rolled-back batch never leaves a cached order that is not stored; cached after.
   */
  async registerFeatureSet(featureSet: FeatureSet): Promise<readonly string[]> {
    const cached = this.storedNames.get(featureSet.version);
    if (cached) return cached;
    await this.pool.query(
      `INSERT INTO ${s}.feature_set_versions (feature_set_version, feature_set, feature_names)
       VALUES ($1, $2, $3::text[]) ON CONFLICT (feature_set_version) DO NOTHING`,
      [featureSet.version, featureSet.name, featureSet.featureNames],
    );
    const { rows } = await this.pool.query(
      `SELECT feature_names FROM ${s}.feature_set_versions WHERE feature_set_version = $1`,
      [featureSet.version],
    );
    const names: string[] = rows[0].feature_names;
    // The version hashes the definition, so a registered version names the same features (maybe in another
    // order, e.g. converted from the jsonb log); anything else is a corrupt registry, not something to write into.
    const known = new Set(names);
    if (names.length !== featureSet.featureNames.length || featureSet.featureNames.some((n) => !known.has(n))) {
      throw new Error(
        `feature set version ${featureSet.version} is registered with other feature names: ${names.join(', ')}`,
      );
    }
    this.storedNames.set(featureSet.version, names);
    return names;
  }

  /**
   * Everything a batch of events writes, in ONE statement (one round trip, data-modifying CTEs): entity
   * states, online rows, offline log rows and the partition's next offset. Every column travels as one
   * array parameter in Postgres' BINARY format (binary-array.ts): nothing escaped, no number printed or
   * parsed; states and online features are JSON text into json columns (validated, not rebuilt as jsonb);
   * the offline rows' features are ONE float8[] of n × k values (k = names of the version, in their stored
   * order) that each row slices.
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
    const { namespace, featureSet, topic, partition, nextOffset, group, vectors } = batch;
    const names = this.storedNames.get(featureSet.version);
    if (!names) throw new Error(`feature set version ${featureSet.version} not registered: call registerFeatureSet`);
    const k = names.length;
    const values = new Float64Array(vectors.length * k);
    for (let i = 0; i < vectors.length; i++) {
      const features = vectors[i].features;
      for (let j = 0; j < k; j++) values[i * k + j] = features[names[j]] ?? Number.NaN;
    }
    await tx.query(
      `WITH st AS (
         INSERT INTO ${s}.entity_state (namespace, entity, kafka_partition, state, updated_at)
         SELECT $1, x.entity, $2, x.state::json, now() FROM unnest($3::text[], $4::text[]) AS x(entity, state)
         ON CONFLICT (namespace, entity) DO UPDATE
           SET state = EXCLUDED.state, kafka_partition = EXCLUDED.kafka_partition, updated_at = now()
       ), onl AS (
         INSERT INTO ${s}.online_features (namespace, entity, feature_set, feature_set_version, as_of, features, updated_at)
         SELECT $1, x.entity, $5, $6, x.as_of, x.features::json, now()
           FROM unnest($7::text[], $8::bigint[], $9::text[]) AS x(entity, as_of, features)
         ON CONFLICT (namespace, entity) DO UPDATE
           SET feature_set = EXCLUDED.feature_set, feature_set_version = EXCLUDED.feature_set_version,
               as_of = EXCLUDED.as_of, features = EXCLUDED.features, updated_at = now()
       ), off AS (
         INSERT INTO ${s}.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
         SELECT $1, x.event_id, x.entity, x.event_time, $5, $6, ($13::float8[])[(x.i - 1) * $14 + 1 : x.i * $14]
           FROM unnest($10::text[], $11::text[], $12::bigint[]) WITH ORDINALITY AS x(event_id, entity, event_time, i)
         ON CONFLICT DO NOTHING
       )
       UPDATE ${s}.consumer_offsets SET next_offset = $15, consumer_group = $16, updated_at = now()
        WHERE namespace = $1 AND topic = $17 AND kafka_partition = $2`,
      [
        namespace,
        partition,
        encodeTextArray(batch.states.map((st) => st.entity)),
        encodeTextArray(
          batch.states.map(({ maxEventTime, times, ids, num, cat }) =>
            JSON.stringify({ maxEventTime, times, ids, num, cat }),
          ),
        ),
        featureSet.name,
        featureSet.version,
        encodeTextArray(batch.online.map((o) => o.entity)),
        encodeInt8Array(batch.online.map((o) => o.as_of)),
        encodeTextArray(batch.online.map((o) => JSON.stringify(o.features))),
        encodeTextArray(vectors.map((v) => v.event_id)),
        encodeTextArray(vectors.map((v) => v.entity)),
        encodeInt8Array(vectors.map((v) => v.event_time)),
        encodeFloat8Array(values),
        k,
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
