import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { ensureDatabase } from '@flywheel/database';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { REPO_ROOT } from '../../libs/testing/src/service-process';
import { DATABASE_SCHEMA as FEATURES_SCHEMA } from '../../services/feature-materializer/src/database-schema';
import { FEATURE_MIGRATIONS } from '../../services/feature-materializer/src/migrations';

const DAY_MS = 86_400_000;

/**
 * The value of feature `j` of generated offline-log row `i`: two decimals in [0, 100.06], computed the
 * same way by Postgres (seeding, below) and by this function (the reference side of a comparison).
 * Decimal text → float8 is correctly rounded on both sides, so both see the same double.
 */
export function featureValue(i: number, j: number): number {
  return ((i * 7919 + j * 104_729) % 10_007) / 100;
}

export function featureRecord(i: number, featureNames: readonly string[]): Record<string, number> {
  return Object.fromEntries(featureNames.map((name, j) => [name, featureValue(i, j)]));
}

/** event_id of generated row `i` (a UUID, as the collector assigns them; predictions.* require one). */
export const eventIdSql = (i: string) => `md5(${i}::text || '-batch')::uuid::text`;

/** The feature store's tables, made by feature-materializer's own migration, as the trainer test does. */
export async function createFeatureStore(dbUrl: string): Promise<void> {
  await ensureDatabase(dbUrl, FEATURES_SCHEMA);
  const migrations = new DataSource({
    type: 'postgres',
    url: dbUrl,
    schema: FEATURES_SCHEMA,
    migrations: FEATURE_MIGRATIONS,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    logging: false,
  });
  await migrations.initialize();
  await migrations.runMigrations();
  await migrations.destroy();
}

export interface SeedOptions {
  namespace: string;
  featureSetVersion: string;
  featureNames: readonly string[];
  /** Rows i = first … first+count-1. */
  first: number;
  count: number;
  /** event_time of row i = t0 + i * stepMs. */
  t0: number;
  stepMs: number;
  /** entity of row i = `acct-${i % entities}`. */
  entities: number;
  /** Leave these features out (NULL elements: a vector the model cannot use). */
  omit?: readonly string[];
}

/**
 * Appends generated rows to features.offline_vectors in one INSERT … SELECT over generate_series (fast:
 * no row crosses the wire), creating the daily partitions and registering the version first, as the
 * materializer would. A version registered earlier keeps its names: seed it with the same `featureNames`.
 */
export async function seedOfflineLog(db: Client, o: SeedOptions): Promise<void> {
  const last = o.first + o.count - 1;
  for (
    let day = Math.floor((o.t0 + o.first * o.stepMs) / DAY_MS);
    day <= Math.floor((o.t0 + last * o.stepMs) / DAY_MS);
    day++
  ) {
    const name = `offline_vectors_${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
    await db.query(
      `CREATE TABLE IF NOT EXISTS features."${name}" PARTITION OF features.offline_vectors
         FOR VALUES FROM (${day * DAY_MS}) TO (${(day + 1) * DAY_MS})`,
    );
  }
  // The version's names, registered once as the materializer does; values in that order, omitted → NULL.
  await db.query(
    `INSERT INTO features.feature_set_versions (feature_set_version, feature_set, feature_names)
     VALUES ($1, 'payments-fraud', $2::text[]) ON CONFLICT (feature_set_version) DO NOTHING`,
    [o.featureSetVersion, o.featureNames],
  );
  const elements = o.featureNames.map((name, j) =>
    o.omit?.includes(name) ? 'NULL' : `round(((i * 7919 + ${j} * 104729) % 10007)::numeric / 100, 2)::float8`,
  );
  const features = `ARRAY[${elements.join(', ')}]::float8[]`;
  await db.query(
    `INSERT INTO features.offline_vectors (namespace, event_id, entity, event_time, feature_set, feature_set_version, features)
     SELECT $1, ${eventIdSql('i')}, 'acct-' || (i % $2::bigint), $3::bigint + i * $4::bigint, 'payments-fraud', $5, ${features}
       FROM generate_series($6::bigint, $7::bigint) AS i`,
    [o.namespace, o.entities, o.t0, o.stepMs, o.featureSetVersion, o.first, last],
  );
}

/** Result of one CLI process. */
export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The built CLI (dist/services/batch-scorer/src/cli/score-batch.js) as its own process, as a user runs it. */
export function startCli(args: string[], env: Record<string, string>): { child: ChildProcess; done: Promise<CliRun> } {
  const entry = resolve(REPO_ROOT, 'dist/services/batch-scorer/src/cli/score-batch.js');
  const child = spawn(process.execPath, ['--enable-source-maps', entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<CliRun>((resolveRun) =>
    child.once('exit', (code, signal) => resolveRun({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

export async function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  return startCli(args, env).done;
}

/** The summary JSON line the CLI prints on stdout. */
// biome-ignore lint/suspicious/noExplicitAny: asserted field by field in the tests.
export function summaryOf(run: CliRun): any {
  const line = run.stdout.trim().split('\n').pop();
  if (!line) throw new Error(`no summary on stdout (exit ${run.code}); stderr:\n${run.stderr.slice(-3000)}`);
  return JSON.parse(line);
}
