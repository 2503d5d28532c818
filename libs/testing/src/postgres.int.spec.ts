import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { databaseUrl, ensurePostgres } from './postgres';

describe('ensurePostgres', () => {
  it('starts an embedded Postgres when asked (the path for a machine without one) and stops it', async () => {
    const pg = await ensurePostgres({ FLYWHEEL_POSTGRES: 'embedded' });
    try {
      expect(pg.embedded).toBe(true);
      const url = await databaseUrl(pg.serverUrl, 'flywheel_embedded_check');
      const client = new Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT current_database() AS db, version() AS version');
      await client.end();
      expect(rows[0].db).toBe('flywheel_embedded_check');
      expect(rows[0].version).toMatch(/^PostgreSQL \d+/);
    } finally {
      await pg.stop();
    }
  });
});
