import { Injectable } from '@nestjs/common';
import { type BulkFormat, parseBulk } from './bulk-parser';
import { ReferenceStore } from './reference.store';
import { type AccountRow, type MerchantRow, parseRow, type RateRow, type ReferenceKind } from './reference-rows';

export interface RowError {
  /** 1-based line of the file where the row starts (a CSV's header is line 1). */
  row: number;
  field: string | null;
  reason: string;
}

export interface BulkReport {
  kind: ReferenceKind;
  received: number;
  loaded: number;
  failed: number;
  errors: RowError[];
}

/** Rows per INSERT … ON CONFLICT statement (each its own transaction, so one bad chunk spares the rest). */
const CHUNK = 1_000;

@Injectable()
export class ReferenceService {
  constructor(private readonly store: ReferenceStore) {}

  /**
   * Validates every row, loads the valid ones (upsert; a key repeated in the file: the last row wins) and
   * reports each invalid one with its line, field and reason.
   */
  async bulkLoad(kind: ReferenceKind, format: BulkFormat, text: string): Promise<BulkReport> {
    const records = parseBulk(format, text);
    const errors: RowError[] = [];
    const valid: { row: number; key: string; data: AccountRow | MerchantRow | RateRow }[] = [];
    for (const record of records) {
      if (record.error || !record.value) {
        errors.push({ row: record.row, field: null, reason: record.error ?? 'empty row' });
        continue;
      }
      const parsed = parseRow(kind, record.value);
      if (!parsed.ok) {
        for (const e of parsed.errors) errors.push({ row: record.row, ...e });
        continue;
      }
      valid.push({ row: record.row, key: keyOf(kind, parsed.row), data: parsed.row });
    }
    const lastByKey = new Map<string, (typeof valid)[number]>();
    const rowsPerKey = new Map<string, number>();
    for (const item of valid) {
      lastByKey.set(item.key, item);
      rowsPerKey.set(item.key, (rowsPerKey.get(item.key) ?? 0) + 1);
    }
    const unique = [...lastByKey.values()];
    let loaded = 0;
    for (let i = 0; i < unique.length; i += CHUNK) {
      const chunk = unique.slice(i, i + CHUNK);
      try {
        await this.upsert(
          kind,
          chunk.map((c) => c.data),
        );
        // A row superseded by a later one with the same key counts as loaded: it was applied, then overwritten.
        for (const c of chunk) loaded += rowsPerKey.get(c.key) ?? 1;
      } catch (error) {
        const reason = `not stored: ${(error as Error).message}`;
        for (const c of chunk) errors.push({ row: c.row, field: null, reason });
      }
    }
    errors.sort((a, b) => a.row - b.row);
    const failedRows = new Set(errors.map((e) => e.row)).size;
    return { kind, received: records.length, loaded, failed: failedRows, errors };
  }

  upsert(kind: ReferenceKind, rows: (AccountRow | MerchantRow | RateRow)[]): Promise<void> {
    if (kind === 'accounts') return this.store.upsertAccounts(rows as AccountRow[]);
    if (kind === 'merchants') return this.store.upsertMerchants(rows as MerchantRow[]);
    return this.store.upsertRates(rows as RateRow[]);
  }
}

function keyOf(kind: ReferenceKind, row: AccountRow | MerchantRow | RateRow): string {
  if (kind === 'accounts') return (row as AccountRow).account_id;
  if (kind === 'merchants') return (row as MerchantRow).merchant_id;
  const rate = row as RateRow;
  return `${rate.currency}@${rate.valid_from}`;
}
