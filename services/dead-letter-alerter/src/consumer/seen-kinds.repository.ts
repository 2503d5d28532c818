import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DATABASE_SCHEMA } from '../database-schema';

const table = `"${DATABASE_SCHEMA}".seen_kinds`;

/** Failure kinds seen per topic, in Postgres so a restart does not announce them again. */
@Injectable()
export class SeenKindsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async all(): Promise<Array<{ topic: string; kind: string; stage: string; firstSeenAt: Date }>> {
    const rows: Array<{ topic: string; failure_kind: string; first_stage: string; first_seen_at: Date }> =
      await this.dataSource.query(`SELECT topic, failure_kind, first_stage, first_seen_at FROM ${table}`);
    return rows.map((r) => ({
      topic: r.topic,
      kind: r.failure_kind,
      stage: r.first_stage,
      firstSeenAt: r.first_seen_at,
    }));
  }

  /** True when this call recorded the kind (it was never seen); false when it was already known. */
  async record(topic: string, kind: string, stage: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `INSERT INTO ${table} (topic, failure_kind, first_stage) VALUES ($1, $2, $3)
       ON CONFLICT (topic, failure_kind) DO NOTHING RETURNING topic`,
      [topic, kind, stage],
    );
    return rows.length === 1;
  }
}
