import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl } from './postgres';
import { type ServiceProcess, startServiceProcess } from './service-process';

export interface RegistryProcessOptions {
  kafkaBrokers: string;
  /** The schema registry the services use (the global setup's). */
  schemaRegistryUrl: string;
  /** Postgres server (testEnv().databaseUrl); a fresh database `flywheel_test_<label>_<hex>` is made on it … */
  databaseServerUrl: string;
  /** … unless this database is given (a restart on the same state). */
  databaseUrl?: string;
  /** Short name for the database and logs. */
  label: string;
  topicPrefix: string;
  adminToken: string;
  policy?: 'manual' | 'automatic';
  /** More registry variables (REGISTRY_PROMOTION_MARGIN, LOG_LEVEL, …), applied last. */
  env?: Record<string, string>;
}

export interface RegistryProcess extends ServiceProcess {
  databaseUrl: string;
  /** SIGTERM, wait for the exit, then drop the database. */
  close(): Promise<void>;
}

/**
 * The model registry as a process, with models.lifecycle.v1 on (REGISTRY_KAFKA_ENABLED) on a test prefix and
 * a database of its own: the start-up that the registry, trainer, inference and loop tests all need.
 */
export async function startRegistryProcess(options: RegistryProcessOptions): Promise<RegistryProcess> {
  const db =
    options.databaseUrl ??
    (await databaseUrl(options.databaseServerUrl, `flywheel_test_${options.label}_${randomBytes(4).toString('hex')}`));
  let registry: ServiceProcess;
  try {
    registry = await startServiceProcess('registry', {
      env: {
        DATABASE_URL: db,
        KAFKA_BROKERS: options.kafkaBrokers,
        SCHEMA_REGISTRY_URL: options.schemaRegistryUrl,
        TOPIC_PREFIX: options.topicPrefix,
        REGISTRY_KAFKA_ENABLED: 'true',
        REGISTRY_ADMIN_TOKEN: options.adminToken,
        REGISTRY_PROMOTION_POLICY: options.policy ?? 'manual',
        LOG_LEVEL: 'warn',
        ...options.env,
      },
    });
  } catch (error) {
    if (!options.databaseUrl) await dropDatabase(db);
    throw error;
  }
  return {
    ...registry,
    databaseUrl: db,
    close: async () => {
      await registry.stop();
      await dropDatabase(db);
    },
  };
}

/** Drops a test database (connections forced closed); a missing one is fine. */
export async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
  } finally {
    await client.end();
  }
}
