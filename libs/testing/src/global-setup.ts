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

const TEST_DATABASE = 'flywheel_test';

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
  const databaseUrl = await recreateDatabase(postgres.serverUrl, TEST_DATABASE);

  const registry = await startServiceProcess('registry', {
    env: { DATABASE_URL: databaseUrl, KAFKA_BROKERS: kafka.bootstrapServers, LOG_LEVEL: 'warn' },
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
    await postgres.stop();
  };
}

async function recreateDatabase(serverUrl: string, database: string): Promise<string> {
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
