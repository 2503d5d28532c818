import { Client } from 'pg';

/**
 * Creates the database named in `url` (connecting to the server's `postgres` database to do it) and the
 * service's schema. Idempotent and safe when several processes race to do it at start-up.
 */
export async function ensureDatabase(url: string, schema?: string): Promise<void> {
  const target = new URL(url);
  const database = decodeURIComponent(target.pathname.replace(/^\//, '')) || 'postgres';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (exists.rowCount === 0) {
      await client.query(`CREATE DATABASE ${quoteIdent(database)}`).catch(ignoreCode('42P04', '23505'));
    }
  } finally {
    await client.end();
  }
  if (schema) {
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`).catch(ignoreCode('42P06', '23505'));
    } finally {
      await db.end();
    }
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Concurrent CREATEs lose the race with duplicate_database / duplicate_schema / unique_violation. */
function ignoreCode(...codes: string[]) {
  return (error: { code?: string }) => {
    if (!codes.includes(error.code ?? '')) throw error;
  };
}
