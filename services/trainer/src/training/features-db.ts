import { Pool } from 'pg';

/**
 * Pool on the feature store's database, read-only at the session level (default_transaction_read_only), for
 * pointInTimeTrainingSet over `features.offline_vectors` + `features.labels` — the one sanctioned cross-schema read:
 * the offline log is the feature store's published interface for training. The trainer writes nothing there.
 */
export function createFeaturesPool(url: string): Pool {
  const pool = new Pool({ connectionString: url, max: 2, options: '-c default_transaction_read_only=on' });
  // A connection Postgres ends (restart) emits 'error' on the pool (idle) or on the client (checked out between
  // queries); unhandled, it would crash the process. The failing query rejects; the pool connects anew when needed.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
