import { execFileSync } from 'node:child_process';
import { databaseUrl, ensurePostgres, REPO_ROOT, startServiceProcess } from '@flywheel/testing';
import { startKafka } from '../libs/testing/src/kafka-runner';

/**
 * What a benchmark needs, started the way the tests start it: a real broker (or KAFKA_BROKERS), Postgres
 * and the schema registry process. Returns addresses and a stop function.
 */
export async function startBenchEnvironment() {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const kafka = process.env.KAFKA_BROKERS
    ? { bootstrapServers: process.env.KAFKA_BROKERS, stop: async () => {} }
    : await startKafka({ name: `bench-${process.pid}` });
  const postgres = await ensurePostgres();
  const db = await databaseUrl(postgres.serverUrl, 'flywheel_bench');
  const registry = await startServiceProcess('registry', {
    env: {
      DATABASE_URL: db,
      KAFKA_BROKERS: kafka.bootstrapServers,
      LOG_LEVEL: 'warn',
      REGISTRY_KAFKA_ENABLED: 'false',
    },
  });
  return {
    brokers: kafka.bootstrapServers.split(','),
    registryUrl: registry.url,
    /** The Postgres server, for benchmarks that need databases of their own (see databaseUrl). */
    databaseServerUrl: postgres.serverUrl,
    stop: async () => {
      await registry.stop();
      await kafka.stop();
      await postgres.stop();
    },
  };
}

export function formatRate(count: number, ms: number): string {
  return `${Math.round((count / ms) * 1000).toLocaleString('en-US')} msg/s`;
}

/** The p-th percentile (0–100) of ascending `sorted` by the nearest-rank rule; NaN when there is nothing. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
