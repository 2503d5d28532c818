import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTopics, type Prediction, topics, withPrefix } from '@flywheel/contracts';
import { SYNTHETIC_FEATURES } from '@flywheel/ml';
import { databaseUrl, type ServiceProcess, startServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  collect,
  type MeshClient,
  MODEL_NAME,
  meshClient,
  type RegistryModelSource,
  serviceEnv,
  startRegistryModelSource,
  trainBundle,
} from '../inference/inference-harness';
import { createFeatureStore, featureRecord, runCli, seedOfflineLog, startCli, summaryOf } from './batch-harness';

const NAMESPACE = 'ns-batch';
const FSV = '3'; // trainBundle's feature-set version
const ROWS = 20_000; // rows the model can score
const MISMATCHED = 300; // rows of another feature-set version in the same range
const MISSING = 50; // rows without card_present
const ENTITIES = 97;
const T0 = Date.UTC(2026, 0, 12, 3);
const STEP_MS = 1_000;
const FROM = new Date(T0).toISOString();
/** SQL: row `v` of the offline log has a card_present value (its position comes from the version's names). */
const HAS_CARD_PRESENT = `v.features[(SELECT array_position(f.feature_names, 'card_present')
  FROM features.feature_set_versions f WHERE f.feature_set_version = v.feature_set_version)] IS NOT NULL`;
const TO = new Date(T0 + 2_000_000 * STEP_MS).toISOString();

/**
 * The built score-batch CLI, as its own process, on the real Postgres, the real registry (a model trained
 * here, registered and promoted through it) and, for --to-topic and the reference scores, the real broker
 * and a built stream-inference instance.
 */
describe('score-batch', () => {
  const env = testEnv();
  const prefix = testPrefix('batch');
  let mesh: MeshClient;
  let source: RegistryModelSource;
  let inference: ServiceProcess;
  let dbUrl: string;
  let db: Client;
  let version: number;

  const cliEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
    DATABASE_URL: dbUrl,
    REGISTRY_URL: source.url,
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    BATCH_PROGRESS_INTERVAL_MS: '1000',
    ...extra,
  });
  const modelArgs = ['--model', MODEL_NAME, '--alias', 'champion', '--namespace', NAMESPACE];
  const args = (runId: string, ...more: string[]) => [
    ...modelArgs,
    '--from',
    FROM,
    '--to',
    TO,
    '--run-id',
    runId,
    ...more,
  ];
  const query = async (text: string, values: unknown[] = []) => (await db.query(text, values)).rows;
  const resultCount = async (runId: string) =>
    (
      await query(
        'SELECT count(*)::int AS n, count(DISTINCT (event_id, event_time))::int AS keys FROM batch_scoring.results WHERE run_id = $1',
        [runId],
      )
    )[0];
  /** Scorable rows of the offline log that have no result in the run, and result rows not from a scorable row. */
  const difference = async (runId: string) =>
    (
      await query(
        `SELECT (SELECT count(*)::int FROM features.offline_vectors v WHERE v.namespace = $2 AND v.feature_set_version = $3
                   AND ${HAS_CARD_PRESENT} AND v.event_time >= $4 AND v.event_time < $5
                   AND NOT EXISTS (SELECT 1 FROM batch_scoring.results r WHERE r.run_id = $1 AND r.event_id = v.event_id)) AS missing,
                (SELECT count(*)::int FROM batch_scoring.results r WHERE r.run_id = $1 AND NOT EXISTS (
                   SELECT 1 FROM features.offline_vectors v WHERE v.namespace = $2 AND v.feature_set_version = $3
                     AND ${HAS_CARD_PRESENT} AND v.event_time >= $4 AND v.event_time < $5
                     AND v.event_id = r.event_id)) AS extra`,
        [runId, NAMESPACE, FSV, Date.parse(FROM), Date.parse(TO)],
      )
    )[0];

  beforeAll(async () => {
    mesh = await meshClient(env.kafkaBrokers, env.schemaRegistryUrl, prefix);
    const admin = mesh.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, {
      prefix,
      only: [topics.predictionsBatch],
      logger: { info: () => undefined, warn: () => undefined },
    });
    await admin.disconnect();
    source = await startRegistryModelSource(env, mesh, prefix);
    const bundle = await trainBundle(11, FSV);
    version = await source.register(bundle);
    await source.promote(version);

    dbUrl = await databaseUrl(env.databaseUrl, `flywheel_test_batch_${randomBytes(4).toString('hex')}`);
    await createFeatureStore(dbUrl);
    db = new Client({ connectionString: dbUrl });
    await db.connect();
    const seed = { namespace: NAMESPACE, t0: T0, stepMs: STEP_MS, entities: ENTITIES };
    await seedOfflineLog(db, {
      ...seed,
      featureSetVersion: FSV,
      featureNames: SYNTHETIC_FEATURES,
      first: 0,
      count: ROWS,
    });
    await seedOfflineLog(db, {
      ...seed,
      featureSetVersion: 'fs-old',
      featureNames: SYNTHETIC_FEATURES,
      first: ROWS,
      count: MISMATCHED,
    });
    await seedOfflineLog(db, {
      ...seed,
      featureSetVersion: FSV,
      featureNames: SYNTHETIC_FEATURES,
      first: ROWS + MISMATCHED,
      count: MISSING,
      omit: ['card_present'],
    });
    // Before the range (read only by the entity-list run) and in another namespace (never read).
    const rest = { featureSetVersion: FSV, featureNames: SYNTHETIC_FEATURES, count: 100 };
    await seedOfflineLog(db, { ...seed, ...rest, t0: T0 - 5_100_000 * STEP_MS, first: 5_000_000 });
    await seedOfflineLog(db, { ...seed, ...rest, namespace: 'other', first: 6_000_000 });
    await db.query('ANALYZE features.offline_vectors');

    inference = await startServiceProcess('stream-inference', {
      env: serviceEnv(env, prefix, source.url, { LOG_LEVEL: 'warn' }),
    });
  });

  afterAll(async () => {
    await inference?.stop();
    await db?.end();
    await source?.close();
    await mesh?.close();
  });

  it('scores every usable row once, equal to stream-inference for the same vectors, and skips the rest with the reason', async () => {
    const run = await runCli(args('full'), cliEnv());
    expect(run.code, run.stderr).toBe(0);
    const summary = summaryOf(run);
    expect(summary).toMatchObject({
      status: 'done',
      model_name: MODEL_NAME,
      model_version: version,
      feature_set_version: FSV,
      rows_total: ROWS + MISMATCHED + MISSING,
      rows_scored: ROWS,
      rows_written: ROWS,
      rows_skipped: MISMATCHED + MISSING,
      skipped: { 'feature-set-mismatch': MISMATCHED, 'missing-feature': MISSING },
    });
    expect(run.stderr).toMatch(/skipping rows of feature set fs-old/);
    const total = (ROWS + MISMATCHED + MISSING).toLocaleString('en-US');
    expect(run.stderr).toContain(`${total} / ${total} rows (100.0%)`);
    expect(await resultCount('full')).toEqual({ n: ROWS, keys: ROWS });
    expect(await difference('full')).toEqual({ missing: 0, extra: 0 });

    // The same vectors through the running stream-inference (request-response mode, the same Scorer).
    const sample = Array.from({ length: 120 }, (_, s) => Math.floor((s * ROWS) / 120) + (s % 7));
    const rows = await query(
      `SELECT event_id, entity, event_time, score, decision, model_version FROM batch_scoring.results
        WHERE run_id = 'full' AND event_time = ANY($1::bigint[]) ORDER BY event_time`,
      [sample.map((i) => T0 + i * STEP_MS)],
    );
    expect(rows).toHaveLength(sample.length);
    let worst = 0;
    for (const row of rows) {
      const i = (Number(row.event_time) - T0) / STEP_MS;
      const response = await fetch(`${inference.url}/v1/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          features: featureRecord(i, SYNTHETIC_FEATURES),
          feature_set_version: FSV,
          entity: row.entity,
          event_id: row.event_id,
          event_time: Number(row.event_time),
        }),
      });
      expect(response.status).toBe(200);
      const prediction = (await response.json()) as Prediction;
      expect(prediction.model_version).toBe(row.model_version);
      expect(prediction.decision).toBe(row.decision);
      worst = Math.max(worst, Math.abs(prediction.score - row.score));
    }
    expect(worst).toBeLessThanOrEqual(1e-6);

    // Mismatched and incomplete rows have no result.
    const skippedWritten = await query(
      `SELECT count(*)::int AS n FROM batch_scoring.results r JOIN features.offline_vectors v ON v.event_id = r.event_id
        WHERE r.run_id = 'full' AND (v.feature_set_version <> $1 OR NOT ${HAS_CARD_PRESENT})`,
      [FSV],
    );
    expect(skippedWritten[0].n).toBe(0);
  });

  it('re-running a finished run id changes nothing', async () => {
    const snapshot = async () => ({
      results: (
        await query(
          `SELECT count(*)::int AS n, sum(score) AS sum, max(scored_at) AS last FROM batch_scoring.results WHERE run_id = 'full'`,
        )
      )[0],
      checkpoint: await query(`SELECT * FROM batch_scoring.checkpoints WHERE run_id = 'full'`),
      run: await query(`SELECT * FROM batch_scoring.runs WHERE run_id = 'full'`),
    });
    const before = await snapshot();
    const again = await runCli(args('full'), cliEnv());
    expect(again.code, again.stderr).toBe(0);
    expect(summaryOf(again)).toMatchObject({ status: 'already-done', rows_scored_now: 0, rows_scored: ROWS });
    expect(await snapshot()).toEqual(before);
  });

  it('killed with SIGKILL mid-run and started again, it finishes with every row exactly once', async () => {
    // Small chunks and a throttle so the run lasts a few seconds and has many checkpoints to die between.
    const first = startCli(args('killed', '--max-rows-per-second', '8000'), cliEnv({ BATCH_CHUNK_ROWS: '1000' }));
    // Checkpoint and results in one snapshot (the dead process's backend may still commit a last chunk).
    const progress = async () =>
      (
        await query(
          `SELECT c.status, c.rows_scored::int, c.rows_skipped::int, c.chunks,
                  (SELECT count(*)::int FROM batch_scoring.results r WHERE r.run_id = c.run_id) AS written
             FROM batch_scoring.checkpoints c WHERE c.run_id = 'killed'`,
        )
      )[0];
    await waitUntil(async () => ((await progress())?.chunks ?? 0) >= 4, {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: 'four checkpoints of the first attempt',
    });
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const atKill = await progress();
    expect(atKill.status).toBe('running');
    expect(atKill.rows_scored).toBeLessThan(ROWS);
    expect(atKill.written).toBe(atKill.rows_scored); // results and checkpoint move together

    // Resumed with the default chunk size: the chunk size is not part of what a run is.
    const resumed = await runCli(args('killed'), cliEnv());
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = summaryOf(resumed);
    expect(summary).toMatchObject({
      status: 'done',
      attempts: 2,
      rows_scored: ROWS,
      rows_written: ROWS, // every insert of both attempts was new: nothing was written twice
      skipped: { 'feature-set-mismatch': MISMATCHED, 'missing-feature': MISSING },
    });
    // The resume read only what lay after the checkpoint (the dead backend may have committed one more chunk).
    expect(summary.rows_done).toBe(ROWS + MISMATCHED + MISSING);
    expect(summary.rows_done_now).toBeGreaterThan(0);
    expect(summary.rows_done_now).toBeLessThanOrEqual(
      ROWS + MISMATCHED + MISSING - atKill.rows_scored - atKill.rows_skipped,
    );
    expect(await resultCount('killed')).toEqual({ n: ROWS, keys: ROWS });
    expect(await difference('killed')).toEqual({ missing: 0, extra: 0 });
    // Same scores as the uninterrupted run.
    const diff = await query(
      `SELECT count(*)::int AS n FROM batch_scoring.results a JOIN batch_scoring.results b USING (event_id, event_time)
        WHERE a.run_id = 'killed' AND b.run_id = 'full' AND (a.score <> b.score OR a.decision <> b.decision)`,
    );
    expect(diff[0].n).toBe(0);
  });

  it('shards 0/2 and 1/2, run at once, cover every row exactly once and split by entity', async () => {
    const [a, b] = await Promise.all([
      runCli(args('sharded', '--shard', '0/2'), cliEnv()),
      runCli(args('sharded', '--shard', '1/2'), cliEnv()),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const [sa, sb] = [summaryOf(a), summaryOf(b)];
    expect(sa.rows_scored).toBeGreaterThan(0);
    expect(sb.rows_scored).toBeGreaterThan(0);
    expect(sa.rows_scored + sb.rows_scored).toBe(ROWS);
    expect(sa.rows_total + sb.rows_total).toBe(ROWS + MISMATCHED + MISSING);
    expect(sa.rows_skipped + sb.rows_skipped).toBe(MISMATCHED + MISSING);
    expect(await resultCount('sharded')).toEqual({ n: ROWS, keys: ROWS });
    expect(await difference('sharded')).toEqual({ missing: 0, extra: 0 });
    const overlap = await query(
      `SELECT count(*)::int AS n FROM (SELECT entity FROM batch_scoring.results WHERE run_id = 'sharded'
         GROUP BY entity HAVING count(DISTINCT ((hashtextextended(entity, 0) % 2) + 2) % 2) > 1) e`,
    );
    expect(overlap[0].n).toBe(0);
    // A shard count other than the run's is refused.
    const wrong = await runCli(args('sharded', '--shard', '0/3'), cliEnv());
    expect(wrong.code).toBe(3);
    expect(wrong.stderr).toMatch(/shard count 3 \(run has 2\)/);
  });

  it('publishes to predictions.batch.v1 with --to-topic, and writes the metrics file', async () => {
    const topic = withPrefix(prefix, topics.predictionsBatch);
    const received = await collect<Prediction>(mesh, topic);
    const metricsFile = join(mkdtempSync(join(tmpdir(), 'batch-metrics-')), 'batch.prom');
    try {
      const run = await runCli(
        [
          ...modelArgs,
          '--entities',
          'acct-1,acct-2,acct-3',
          '--run-id',
          'topic',
          '--to-topic',
          '--metrics-file',
          metricsFile,
        ],
        cliEnv(),
      );
      expect(run.code, run.stderr).toBe(0);
      const summary = summaryOf(run);
      const results = await query(
        `SELECT event_id, score, model_version, entity FROM batch_scoring.results WHERE run_id = 'topic' ORDER BY event_id`,
      );
      expect(results.length).toBe(summary.rows_scored);
      expect(new Set(results.map((r) => r.entity))).toEqual(new Set(['acct-1', 'acct-2', 'acct-3']));
      await waitUntil(() => received.items.length >= results.length, {
        timeoutMs: 30_000,
        message: 'batch predictions',
      });
      const byId = new Map(received.items.map((m) => [m.value.event_id, m.value]));
      expect(byId.size).toBe(results.length);
      for (const r of results) {
        const p = byId.get(r.event_id);
        expect(p, r.event_id).toBeDefined();
        expect(p).toMatchObject({ score: r.score, model_version: version, model_name: MODEL_NAME, entity: r.entity });
      }
      const text = readFileSync(metricsFile, 'utf8');
      expect(text).toMatch(new RegExp(`flywheel_batch_scorer_rows_scored_total\\{[^}]*\\} ${results.length}\\b`));
      expect(text).toMatch(/flywheel_batch_scorer_finished\{[^}]*\} 1/);
      expect(text).toMatch(/flywheel_batch_scorer_rows_skipped_total\{[^}]*reason="feature-set-mismatch"[^}]*\} [1-9]/);
      // No time range: the entities' rows before the range are scored too.
      expect(results.length).toBeGreaterThan(3 * Math.floor(ROWS / ENTITIES));
    } finally {
      await received.stop();
    }
  });

  it('refuses bad arguments (2), a run id reused with other options (3) and an unknown version (4)', async () => {
    const usage = await runCli(['--model', MODEL_NAME, '--alias', 'champion'], cliEnv());
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/refusing to score the whole log/);
    const conflict = await runCli(
      args('full').map((a) => (a === FROM ? new Date(T0 + 1).toISOString() : a)),
      cliEnv(),
    );
    expect(conflict.code).toBe(3);
    expect(conflict.stderr).toMatch(/run full was started with other options: from/);
    const unknown = await runCli(
      args('unknown-version').map((a) => (a === '--alias' ? '--version' : a === 'champion' ? '99' : a)),
      cliEnv(),
    );
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/has no version 99/);
  });
});
