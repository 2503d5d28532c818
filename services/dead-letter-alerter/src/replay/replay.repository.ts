import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';

const s = `"${DATABASE_SCHEMA}"`;

export interface ReplayRow {
  id: string;
  dlq_topic: string;
  actor: string;
  filter: unknown;
  dry_run: boolean;
  status: 'running' | 'completed' | 'failed';
  selected: number;
  sent: number;
  skipped: number;
  not_replayable: number;
  would_send: number;
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}

export type ReplayCounts = Pick<ReplayRow, 'selected' | 'sent' | 'skipped' | 'not_replayable' | 'would_send'>;

/** The replay audit (one row per replay) and the replayed-record ledger that makes replay idempotent. */
@Injectable()
export class ReplayRepository {
  constructor(readonly dataSource: DataSource) {}

  async create(row: Pick<ReplayRow, 'id' | 'dlq_topic' | 'actor' | 'filter' | 'dry_run'>): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO ${s}.replays (id, dlq_topic, actor, filter, dry_run, status) VALUES ($1, $2, $3, $4, $5, 'running')`,
      [row.id, row.dlq_topic, row.actor, JSON.stringify(row.filter), row.dry_run],
    );
  }

  async progress(id: string, counts: ReplayCounts): Promise<void> {
    await this.dataSource.query(
      `UPDATE ${s}.replays SET selected = $2, sent = $3, skipped = $4, not_replayable = $5, would_send = $6 WHERE id = $1`,
      [id, counts.selected, counts.sent, counts.skipped, counts.not_replayable, counts.would_send],
    );
  }

  async finish(id: string, status: 'completed' | 'failed', error?: string): Promise<void> {
    await this.dataSource.query(`UPDATE ${s}.replays SET status = $2, error = $3, finished_at = now() WHERE id = $1`, [
      id,
      status,
      error ?? null,
    ]);
  }

  async get(id: string): Promise<ReplayRow | undefined> {
    const rows: ReplayRow[] = await this.dataSource.query(`SELECT * FROM ${s}.replays WHERE id = $1`, [id]);
    return rows[0];
  }

  async recent(limit: number): Promise<ReplayRow[]> {
    return this.dataSource.query(`SELECT * FROM ${s}.replays ORDER BY started_at DESC LIMIT $1`, [limit]);
  }

  /** Which of these DLQ offsets were already replayed (by any replay). */
  async alreadyReplayed(topic: string, partition: number, offsets: string[]): Promise<Set<string>> {
    if (offsets.length === 0) return new Set();
    const rows: Array<{ dlq_offset: string }> = await this.dataSource.query(
      `SELECT dlq_offset::text FROM ${s}.replayed_records
       WHERE dlq_topic = $1 AND dlq_partition = $2 AND dlq_offset = ANY($3::bigint[])`,
      [topic, partition, offsets],
    );
    return new Set(rows.map((r) => r.dlq_offset));
  }

  /**
   * Claims DLQ records for a replay inside `manager`'s transaction; returns the offsets this call claimed
   * (records another replay already claimed are left out). A concurrent claim of the same record waits on
   * the row lock until the other transaction ends, so a record is sent by at most one replay.
   */
  async claim(
    manager: EntityManager,
    replayId: string,
    topic: string,
    partition: number,
    records: Array<{ offset: string; originalTopic: string }>,
  ): Promise<Set<string>> {
    const rows: Array<{ dlq_offset: string }> = await manager.query(
      `INSERT INTO ${s}.replayed_records (dlq_topic, dlq_partition, dlq_offset, replay_id, original_topic)
       SELECT $1, $2, o, $3, t FROM unnest($4::bigint[], $5::text[]) AS x(o, t)
       ON CONFLICT DO NOTHING RETURNING dlq_offset::text`,
      [topic, partition, replayId, records.map((r) => r.offset), records.map((r) => r.originalTopic)],
    );
    return new Set(rows.map((r) => r.dlq_offset));
  }
}
