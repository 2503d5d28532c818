/**
 * The API-key commands (create, revoke, list) as a function, so the collector's own CLI
 * (services/collector/src/cli/api-keys.ts) and the `flywheel keys` command of services/cli run exactly the same
 * code against the same table.
 */
import 'reflect-metadata';
import { databaseEnv, loadConfig } from '@flywheel/config';
import { ensureDatabase } from '@flywheel/database';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { API_KEY_MIGRATIONS, ApiKeyStore } from './api-key-store';
import { API_KEY_CACHE_MS_DEFAULT, API_KEYS_SCHEMA } from './api-keys-schema';

export const API_KEYS_USAGE = `usage: api-keys create --producer <name> [--json] | revoke <id> | list [--json]`;

export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

/** The two variables the commands read, validated like the collector reads them. */
const KeysEnv = z.object({
  ...databaseEnv,
  COLLECTOR_API_KEY_CACHE_MS: z.coerce.number().int().min(0).default(API_KEY_CACHE_MS_DEFAULT),
});

const processOutput: CommandOutput = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/**
 * Runs one API-key command; returns the exit code (0 done, 1 failed, 2 usage). Uses DATABASE_URL of `env` like the
 * service and runs its migrations, so it works before the collector's first start.
 */
export async function runApiKeysCommand(
  argv: string[],
  io: CommandOutput = processOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [command, ...rest] = argv;
  const json = rest.includes('--json');
  if (command !== 'create' && command !== 'revoke' && command !== 'list') {
    io.err(`${API_KEYS_USAGE}\n`);
    return 2;
  }
  const config = loadConfig(KeysEnv, env);
  await ensureDatabase(config.DATABASE_URL, API_KEYS_SCHEMA);
  const db = new DataSource({
    type: 'postgres',
    url: config.DATABASE_URL,
    schema: API_KEYS_SCHEMA,
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
          io.err(`create needs --producer <name>\n${API_KEYS_USAGE}\n`);
          return 2;
        }
        const created = await store.create(producer);
        if (json) io.out(`${JSON.stringify(created)}\n`);
        else {
          io.out(`created key ${created.id} for producer ${created.producer}\n`);
          io.out(`${created.key}\n`);
          io.out('store it now: it is not shown again (only a hash is kept)\n');
        }
        return 0;
      }
      case 'revoke': {
        const id = rest.find((arg) => !arg.startsWith('--'));
        if (!id) {
          io.err(`revoke needs an id\n${API_KEYS_USAGE}\n`);
          return 2;
        }
        if (!(await store.revoke(id))) {
          io.err(`no active key ${id}\n`);
          return 1;
        }
        io.out(`revoked ${id} (replicas refuse it within ${config.COLLECTOR_API_KEY_CACHE_MS} ms)\n`);
        return 0;
      }
      case 'list': {
        const keys = await store.list();
        if (json) io.out(`${JSON.stringify(keys)}\n`);
        else {
          for (const key of keys) {
            const state = key.revokedAt ? `revoked ${key.revokedAt.toISOString()}` : 'active';
            io.out(`${key.id}\t${key.producer}\t${key.createdAt.toISOString()}\t${state}\n`);
          }
        }
        return 0;
      }
    }
  } finally {
    await db.destroy();
  }
}
