import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import type { TestProject } from 'vitest/node';
import { startKafka } from './kafka-runner';
import { ensurePostgres } from './postgres';
import { REPO_ROOT, startServiceProcess } from './service-process';

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    schemaRegistryUrl: string;
    databaseUrl: string;
  }
}

/**
 * Once per integration run: build the services, start a real Kafka broker (or use KAFKA_BROKERS),
 * find or start Postgres, create a fresh test database and start the schema registry as a process.
 * Tests read the addresses with `testEnv()`.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });

  const kafka = process.env.KAFKA_BROKERS
    ? { bootstrapServers: process.env.KAFKA_BROKERS, stop: async () => {} }
    : await startKafka({ name: `test-${process.pid}` });

  const postgres = await ensurePostgres();
  // One database per run, so two runs on one machine (developers, CI, helpers) never share state.
  const testDatabase = `flywheel_test_${process.pid}`;
  const databaseUrl = await recreateDatabase(postgres.serverUrl, testDatabase);

  const registry = await startServiceProcess('registry', {
    // Schema registry only: the shared harness registry has no topics of its own to consume or write.
    env: {
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: kafka.bootstrapServers,
      LOG_LEVEL: 'warn',
      REGISTRY_KAFKA_ENABLED: 'false',
    },
  });

  project.provide('kafkaBrokers', kafka.bootstrapServers);
  project.provide('schemaRegistryUrl', registry.url);
  project.provide('databaseUrl', databaseUrl);
  console.log(
    `[harness] kafka ${kafka.bootstrapServers}, registry ${registry.url}, postgres ${postgres.embedded ? 'embedded' : 'external'} (${Date.now() - started} ms)`,
  );

  return async () => {
    await registry.stop();
    await kafka.stop();
    await dropDatabase(postgres.serverUrl, testDatabase).catch(() => undefined);
    await postgres.stop();
  };
}

async function recreateDatabase(serverUrl: string, database: string): Promise<string> {
  await dropDatabase(serverUrl, database);
  await withAdminClient(serverUrl, (client) => client.query(`CREATE DATABASE ${database}`));
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  await withAdminClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
}

async function withAdminClient<T>(serverUrl: string, work: (client: Client) => Promise<T>): Promise<T> {
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
