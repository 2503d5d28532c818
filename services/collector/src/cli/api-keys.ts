/**
 * API keys of the collector:
 *
 *   node dist/services/collector/src/cli/api-keys.js create --producer <name> [--json]   prints the key ONCE
 *   node dist/services/collector/src/cli/api-keys.js revoke <id>
 *   node dist/services/collector/src/cli/api-keys.js list [--json]
 *
 * Uses DATABASE_URL like the service (and runs its migrations, so it works before the first start).
 * A revocation reaches every running replica within COLLECTOR_API_KEY_CACHE_MS (default 5 s).
 */
import 'reflect-metadata';
import { ensureDatabase } from '@flywheel/database';
import { DataSource } from 'typeorm';
import { API_KEY_MIGRATIONS, ApiKeyStore } from '../api-keys/api-key-store';
import { loadCollectorConfig } from '../config';
import { DATABASE_SCHEMA } from '../database-schema';

const USAGE = `usage: api-keys create --producer <name> [--json] | revoke <id> | list [--json]`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  const config = loadCollectorConfig();
  await ensureDatabase(config.DATABASE_URL, DATABASE_SCHEMA);
  const db = new DataSource({
    type: 'postgres',
    url: config.DATABASE_URL,
    schema: DATABASE_SCHEMA,
    migrations: [...API_KEY_MIGRATIONS],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    logging: false,
  });
  await db.initialize();
  try {
    await db.runMigrations();
    const store = new ApiKeyStore(db);
    switch (command) {
      case 'create': {
        const at = rest.indexOf('--producer');
        const producer = at >= 0 ? rest[at + 1] : undefined;
        if (!producer || producer.startsWith('--')) {
          process.stderr.write(`create needs --producer <name>\n${USAGE}\n`);
          return 2;
        }
        const created = await store.create(producer);
        if (json) process.stdout.write(`${JSON.stringify(created)}\n`);
        else {
          process.stdout.write(`created key ${created.id} for producer ${created.producer}\n`);
          process.stdout.write(`${created.key}\n`);
          process.stdout.write('store it now: it is not shown again (only a hash is kept)\n');
        }
        return 0;
      }
      case 'revoke': {
        const id = rest.find((arg) => !arg.startsWith('--'));
        if (!id) {
          process.stderr.write(`revoke needs an id\n${USAGE}\n`);
          return 2;
        }
        if (!(await store.revoke(id))) {
          process.stderr.write(`no active key ${id}\n`);
          return 1;
        }
        process.stdout.write(`revoked ${id} (replicas refuse it within ${config.COLLECTOR_API_KEY_CACHE_MS} ms)\n`);
        return 0;
      }
      case 'list': {
        const keys = await store.list();
        if (json) process.stdout.write(`${JSON.stringify(keys)}\n`);
        else {
          for (const key of keys) {
            const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
            process.stdout.write(`${key.id}\t${key.producer}\t${key.createdAt.toISOString()}\t${state}\n`);
          }
        }
        return 0;
      }
      default:
        process.stderr.write(`${USAGE}\n`);
        return 2;
    }
  } finally {
    await db.destroy();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`api-keys failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
