import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { quoteIdent } from '@flywheel/database';
import { startService } from '@flywheel/observability';
import type { INestApplication } from '@nestjs/common';
import { Client } from 'pg';
import { AppModule } from '../src/app.module';
import { loadRegistryConfig } from '../src/config';
import { modelsBeforeListen } from '../src/models/models-bootstrap';

/** Local Postgres with trust auth, used when the caller names no server. */
const LOCAL_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface RegistryTestApp {
  app: INestApplication;
  url: string;
  databaseUrl: string;
  /** Closes the app, then drops its database (unless the database was handed in). */
  stop(): Promise<void>;
}

export interface RegistryTestAppOptions {
  /** Any database URL on the Postgres server to use (the integration harness provides one); its database is not touched. */
  serverUrl?: string;
  /** Share another instance's database, as a second registry process would. */
  databaseUrl?: string;
  /** More registry env (REGISTRY_ADMIN_TOKEN, …). Kafka stays off unless REGISTRY_KAFKA_ENABLED is given. */
  env?: Record<string, string>;
}

/**
 * The registry Nest app in-process, exactly as main.ts starts it, on a free port and a database of its own (created
 * by DatabaseModule at start-up, migrated, dropped by `stop`).
 */
export async function startRegistryTestApp(options: RegistryTestAppOptions = {}): Promise<RegistryTestApp> {
  const ownsDatabase = options.databaseUrl === undefined;
  const databaseUrl =
    options.databaseUrl ??
    withDatabase(
      options.serverUrl ?? process.env.DATABASE_URL ?? LOCAL_SERVER_URL,
      `flywheel_test_registry_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    );
  const { app } = await startService({
    name: 'registry',
    loadConfig: () =>
      loadRegistryConfig({
        HTTP_PORT: '0',
        HTTP_HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
        REGISTRY_KAFKA_ENABLED: 'false',
        ...options.env,
      }),
    module: (context) => AppModule.register(context),
    beforeListen: (app, context) => modelsBeforeListen(app, context),
  });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    databaseUrl,
    stop: async () => {
      await app.close();
      if (ownsDatabase) await dropDatabase(databaseUrl);
    },
  };
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function dropDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
