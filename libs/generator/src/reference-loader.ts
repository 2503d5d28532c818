import type { Population } from './population';

export interface ReferenceLoadReport {
  accounts: number;
  merchants: number;
  rates: number;
}

/** Rows per request: well under enrichment-api's 64 MiB bulk limit, small enough to report progress. */
const CHUNK_ROWS = 20_000;

/**
 * Loads the population's accounts, merchants and currency rates into enrichment-api through its bulk API
 * (NDJSON; a key loaded again is overwritten, so loading twice is harmless). Throws naming the first
 * failed row, since events over unknown accounts would be enriched with nulls and teach a model nothing.
 */
export async function loadReferenceData(
  enrichmentUrl: string,
  adminToken: string,
  population: Population,
): Promise<ReferenceLoadReport> {
  const rows = population.referenceRows();
  const report: ReferenceLoadReport = { accounts: 0, merchants: 0, rates: 0 };
  for (const kind of ['rates', 'merchants', 'accounts'] as const) {
    const list = rows[kind];
    for (let i = 0; i < list.length; i += CHUNK_ROWS) {
      const body = list
        .slice(i, i + CHUNK_ROWS)
        .map((row) => JSON.stringify(row))
        .join('\n');
      const response = await fetch(`${enrichmentUrl.replace(/\/+$/, '')}/v1/reference/${kind}/bulk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/x-ndjson' },
        body,
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`loading ${kind}: enrichment-api answered ${response.status}: ${text}`);
      const answer = JSON.parse(text) as { loaded: number; failed: number; errors?: unknown[] };
      if (answer.failed > 0) {
        throw new Error(`loading ${kind}: ${answer.failed} rows failed, e.g. ${JSON.stringify(answer.errors?.[0])}`);
      }
      report[kind] += answer.loaded;
    }
  }
  return report;
}
