import { initBackend, type LoadedModelVersion, RegistryClient } from '@flywheel/ml';
import { createLogger, createMetricsRegistry } from '@flywheel/observability';
import { Pool, type PoolClient } from 'pg';
import pino, { type Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type BatchScorerConfig, loadBatchScorerConfig } from '../config';
import { BatchScorerMetrics } from '../metrics/batch-scorer.metrics';
import { MetricsExposer } from '../metrics/metrics-exposer';
import { ProgressReporter } from '../progress/progress-reporter';
import type { PredictionsPublisher } from '../sink/predictions.publisher';
import {
  assertSameRun,
  type Checkpoint,
  migrateResultsDatabase,
  ResultsStore,
  type RunDefinition,
} from '../sink/results.store';
import {
  countRows,
  OfflineLogCursor,
  type OfflineLogSelection,
  type OfflineRow,
  storedFeatureNames,
} from '../source/offline-log.reader';
import { addSkipped, ChunkScorer, type ScoredChunk, skippedCount } from './chunk-scorer';
import { RunConflictError } from './errors';
import { loadModel, resolveModelRef } from './model-resolver';
import { type BatchScoringOptions, entitiesDigest, validateOptions } from './run-options';

/** What a finished (or stopped) shard reports; the CLI prints it as one JSON line on stdout. */
export interface BatchScoringSummary {
  run_id: string;
  shard: string;
  /** done: every row of the shard scored or skipped now; already-done: nothing to do; interrupted: stopped by a signal. */
  status: 'done' | 'already-done' | 'interrupted';
  model_name: string;
  model_version: number;
  model_sha256: string;
  feature_set_version: string;
  namespace: string;
  /** tfjs backend that scored; null when nothing was loaded (already-done). */
  backend: string | null;
  rows_total: number | null;
  /** Cumulative over every attempt of the shard. */
  rows_done: number;
  rows_scored: number;
  rows_skipped: number;
  skipped: Record<string, number>;
  /** Result rows this shard inserted (equals rows_scored unless another run wrote the same keys). */
  rows_written: number;
  /** This process only. */
  rows_scored_now: number;
  rows_done_now: number;
  seconds: number;
  rows_per_second: number;
  attempts: number;
  topic: string | null;
  metrics_port: number | null;
  /** Seconds this process spent waiting for reads, scoring, and waiting for / doing writes. */
  timings: { read_wait: number; score: number; write_wait: number; write: number };
}

/** Everything runBatchScoring needs from outside; the CLI passes process-wide ones, tests/benches their own. */
export interface BatchScoringContext {
  config?: BatchScorerConfig;
  logger?: Logger;
  /** Where progress lines go (stderr). */
  progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborting stops the run after the chunk being written (status 'interrupted'); resume with the same run id. */
  signal?: AbortSignal;
  metricsRegistry?: Registry;
}

/**
 * Scores the offline feature log with one registered model version, resumably and idempotently, for one
 * shard of a run. Reads with a server-side cursor (bounded memory), scores chunk by chunk with the libs/ml
 * Scorer in micro-batches, and writes each chunk's results together with the checkpoint in one statement.
 * Reading the next chunk, scoring this one and writing the previous one overlap.
 */
export async function runBatchScoring(
  rawOptions: BatchScoringOptions,
  context: BatchScoringContext = {},
): Promise<BatchScoringSummary> {
  const options = validateOptions(rawOptions);
  const config = context.config ?? loadBatchScorerConfig();
  const shardLabel = `${options.shard.index}/${options.shard.count}`;
  const instance = config.INSTANCE_ID ?? `batch-scorer:${options.runId}:${shardLabel}`;
  const logger =
    context.logger ??
    createLogger({ service: 'batch-scorer', level: config.LOG_LEVEL, instance, destination: pino.destination(2) });
  const registry = context.metricsRegistry ?? createMetricsRegistry('batch-scorer', instance);
  const metrics = new BatchScorerMetrics(registry);
  const exposer = new MetricsExposer(registry);

  await migrateResultsDatabase(config.DATABASE_URL);
  const resultsPool = new Pool({ connectionString: config.DATABASE_URL, max: 2 });
  // Read-only at the session level: batch-scorer never writes the feature store (as the trainer).
  const featuresPool = new Pool({
    connectionString: config.FEATURES_DATABASE_URL ?? config.DATABASE_URL,
    max: 2,
    options: '-c default_transaction_read_only=on',
  });
  const store = new ResultsStore(resultsPool);
  let writer: PoolClient | undefined;
  let publisher: PredictionsPublisher | undefined;
  let model: LoadedModelVersion | undefined;
  try {
    const registryClient = new RegistryClient({
      baseUrl: config.REGISTRY_URL,
      token: config.REGISTRY_TOKEN,
      timeoutMs: config.REGISTRY_TIMEOUT_MS,
    });
    // A run that exists keeps its version (and artifact) whatever the alias says now.
    const existing = await store.run(options.runId);
    const pick =
      existing !== null
        ? { version: existing.modelVersion }
        : options.version !== undefined
          ? { version: options.version }
          : { alias: options.alias as string };
    const ref = await resolveModelRef(registryClient, options.model, pick, existing?.modelSha256);
    const entities = entitiesDigest(options.entities);
    const wanted: RunDefinition = {
      runId: options.runId,
      modelName: options.model,
      modelVersion: options.version ?? ref.version,
      modelSha256: ref.artifact_sha256.toLowerCase(),
      requestedAs: options.version !== undefined ? `version:${options.version}` : `alias:${options.alias}`,
      featureSetVersion: ref.feature_set_version,
      namespace: options.namespace ?? config.FEATURES_NAMESPACE ?? ref.feature_set_version,
      from: options.from ?? null,
      to: options.to ?? null,
      entitiesSha256: entities?.sha256 ?? null,
      entityCount: entities?.count ?? null,
      shardCount: options.shard.count,
    };
    // Refuse a reused run id before the (slow) model load; claimRun checks again against a racing start.
    if (existing) {
      assertSameRun(existing, wanted, options.version !== undefined);
      // A finished shard is terminal: answer without loading the model or taking the shard's lock.
      const finished = await store.finishedCheckpoint(existing.runId, options.shard.index);
      if (finished) {
        logger.info({ run_id: existing.runId, shard: shardLabel }, 'run shard already finished: nothing to do');
        metrics.finished.set(1);
        if (config.BATCH_METRICS_FILE) await exposer.writeFile(config.BATCH_METRICS_FILE);
        const base = { run: existing, shardLabel, backend: null, namespace: existing.namespace, metricsPort: null };
        return summarize(base, 'already-done', finished, emptyTimings(), 0, 0, 0, null);
      }
    }
    const backend = await initBackend(config.ML_BACKEND);
    logger.info({ backend: backend.name }, `tfjs backend: ${backend.detail}`);
    const loaded = await loadModel(registryClient, ref);
    model = loaded;
    const namespace = wanted.namespace;
    const run = await store.claimRun(wanted, options.version !== undefined);
    if (run.modelSha256 !== loaded.sha256) {
      // Another shard created the run a moment ago while the alias pointed elsewhere: never mix versions.
      throw new RunConflictError(
        `run ${run.runId} was just created with ${run.modelName} v${run.modelVersion}, not v${ref.version}; start again to use v${run.modelVersion}`,
      );
    }
    if (existing !== null && options.alias !== undefined) {
      logger.info(
        { 'model.version': run.modelVersion, requested_as: run.requestedAs },
        `resuming run ${run.runId}: scoring with v${run.modelVersion}, the version it started with`,
      );
    }
    metrics.info.set(
      {
        run_id: run.runId,
        shard: shardLabel,
        model: run.modelName,
        version: String(run.modelVersion),
        backend: backend.name,
      },
      1,
    );
    writer = await store.lockShard(run.runId, options.shard.index, config.BATCH_LOCK_TIMEOUT_MS);
    const checkpoint = await store.startShard(writer, run.runId, options.shard.index);
    const metricsPort =
      config.BATCH_METRICS_PORT !== undefined
        ? await exposer.listen(config.BATCH_METRICS_PORT, config.BATCH_METRICS_HOST)
        : null;
    const base = { run, shardLabel, backend: backend.name, namespace, metricsPort };
    if (checkpoint.status === 'done') {
      logger.info({ run_id: run.runId, shard: shardLabel }, 'run shard already finished: nothing to do');
      metrics.finished.set(1);
      return summarize(base, 'already-done', checkpoint, emptyTimings(), 0, 0, 0, null);
    }
    if (options.toTopic) {
      // Kafka client and Avro serde are loaded only for runs that publish.
      const { PredictionsPublisher } =
        require('../sink/predictions.publisher') as typeof import('../sink/predictions.publisher');
      publisher = await PredictionsPublisher.connect(config, logger, instance);
    }
    const selection: OfflineLogSelection = {
      schema: config.FEATURES_SCHEMA,
      namespace,
      featureSetVersion: loaded.featureSetVersion,
      featureNames: loaded.scorer.spec.feature_names,
      storedFeatureNames: await storedFeatureNames(featuresPool, config.FEATURES_SCHEMA, loaded.featureSetVersion),
      from: options.from,
      to: options.to,
      entities: options.entities,
      shard: options.shard,
    };
    logger.info(
      {
        run_id: run.runId,
        shard: shardLabel,
        'model.name': run.modelName,
        'model.version': run.modelVersion,
        'model.feature_set_version': loaded.featureSetVersion,
        namespace,
        resume_after: checkpoint.last,
        attempt: checkpoint.attempts,
      },
      checkpoint.last
        ? `resuming run ${run.runId} shard ${shardLabel} after its checkpoint`
        : `starting run ${run.runId} shard ${shardLabel}`,
    );
    const outcome = await scoreShard({
      options,
      config,
      logger,
      metrics,
      store,
      writer,
      featuresPool,
      selection,
      model: loaded,
      run,
      checkpoint,
      publisher,
      progress: context.progress ?? process.stderr,
      signal: context.signal,
    });
    if (outcome.status === 'done') {
      await store.finishShard(writer, run.runId, options.shard.index);
      metrics.finished.set(1);
    }
    if (config.BATCH_METRICS_FILE) await exposer.writeFile(config.BATCH_METRICS_FILE);
    return summarize(
      { ...base, topic: publisher?.topic },
      outcome.status,
      outcome.checkpoint,
      outcome.timings,
      outcome.scoredNow,
      outcome.doneNow,
      outcome.seconds,
      outcome.total,
    );
  } finally {
    await publisher?.close().catch((error: unknown) => logger.warn({ error }, 'Kafka producer did not close cleanly'));
    writer?.release();
    model?.scorer.dispose();
    await exposer.close();
    await Promise.allSettled([resultsPool.end(), featuresPool.end()]);
  }
}

interface ShardWork {
  options: BatchScoringOptions;
  config: BatchScorerConfig;
  logger: Logger;
  metrics: BatchScorerMetrics;
  store: ResultsStore;
  writer: PoolClient;
  featuresPool: Pool;
  selection: OfflineLogSelection;
  model: LoadedModelVersion;
  run: RunDefinition;
  checkpoint: Checkpoint;
  publisher?: PredictionsPublisher;
  progress: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
}

type Timings = BatchScoringSummary['timings'];
const emptyTimings = (): Timings => ({ read_wait: 0, score: 0, write_wait: 0, write: 0 });

/** The pipeline: FETCH n+1 ‖ score n ‖ write n-1; at most three chunks in memory. */
async function scoreShard(work: ShardWork): Promise<{
  status: 'done' | 'interrupted';
  checkpoint: Checkpoint;
  timings: Timings;
  scoredNow: number;
  doneNow: number;
  seconds: number;
  total: number | null;
}> {
  const { options, config, logger, metrics, store, writer, run, model, publisher, signal } = work;
  const shardIndex = options.shard.index;
  const state: Checkpoint = { ...work.checkpoint, skipped: { ...work.checkpoint.skipped } };
  const timings = emptyTimings();
  const reporter = new ProgressReporter({
    label: `score-batch ${run.runId} shard ${options.shard.index}/${options.shard.count}`,
    doneAtStart: state.rowsScored + state.rowsSkipped,
    skippedAtStart: state.rowsSkipped,
    intervalMs: config.BATCH_PROGRESS_INTERVAL_MS,
    stream: work.progress,
    metrics,
  });
  let total = state.totalRows;
  let counting: Promise<void> = Promise.resolve();
  if (total !== null) reporter.setTotal(total);
  else {
    // Counted once per run shard, alongside the first chunks (its own connection); kept for resumes.
    counting = countRows(work.featuresPool, work.selection, null).then(
      async (n) => {
        total = n;
        reporter.setTotal(n);
        await store.setTotal(writer, run.runId, shardIndex, n);
      },
      (error: unknown) => logger.warn({ error }, 'could not count the rows of the selection: no total or ETA'),
    );
  }
  const scorer = new ChunkScorer(model, config.BATCH_MICRO_BATCH_ROWS);
  const warned = new Set<string>();
  const started = performance.now();
  let scoredNow = 0;
  let doneNow = 0;
  reporter.start();
  const cursor = await OfflineLogCursor.open(work.featuresPool, work.selection, state.last);
  let pendingWrite: Promise<void> = Promise.resolve();
  let status: 'done' | 'interrupted' = 'done';
  try {
    let nextFetch = cursor.fetch(config.BATCH_CHUNK_ROWS);
    for (;;) {
      let t = performance.now();
      const rows: OfflineRow[] = await nextFetch;
      timings.read_wait += (performance.now() - t) / 1000;
      if (rows.length === 0) break;
      if (signal?.aborted) {
        status = 'interrupted';
        break;
      }
      // Ask for the next chunk now: Postgres reads it while this one is scored and the last one written.
      nextFetch = cursor.fetch(config.BATCH_CHUNK_ROWS);
      nextFetch.catch(() => undefined); // awaited next turn; never an unhandled rejection meanwhile
      t = performance.now();
      const chunk = scorer.score(rows);
      const scoreSeconds = (performance.now() - t) / 1000;
      timings.score += scoreSeconds;
      metrics.stageDuration.observe({ stage: 'score' }, scoreSeconds);
      for (const [version, n] of chunk.otherVersions) {
        if (warned.has(version)) continue;
        warned.add(version);
        logger.warn(
          { 'model.feature_set_version': model.featureSetVersion, row_feature_set_version: version, rows_in_chunk: n },
          `skipping rows of feature set ${version}: model ${model.name} v${model.version} needs ${model.featureSetVersion}`,
        );
      }
      t = performance.now();
      await pendingWrite; // at most one write in flight: bounded memory, checkpoints in order
      timings.write_wait += (performance.now() - t) / 1000;
      pendingWrite = writeChunk(chunk);
      pendingWrite.catch(() => undefined);
      if (options.maxRowsPerSecond) await throttle(started, doneNow, options.maxRowsPerSecond);
    }
    await pendingWrite;
    await counting;
  } catch (error) {
    await pendingWrite.catch(() => undefined);
    await counting;
    reporter.stop();
    await cursor.close(error as Error);
    throw error;
  }
  reporter.stop();
  await cursor.close();
  return {
    status,
    checkpoint: state,
    timings,
    scoredNow,
    doneNow,
    seconds: (performance.now() - started) / 1000,
    total,
  };

  async function writeChunk(chunk: ScoredChunk): Promise<void> {
    const t = performance.now();
    const skipped = skippedCount(chunk);
    const next = {
      rowsScored: state.rowsScored + chunk.eventIds.length,
      rowsSkipped: state.rowsSkipped + skipped,
      skipped: { ...state.skipped },
    };
    addSkipped(next.skipped, chunk.skipped);
    // Acknowledged before the commit: a crash in between re-sends (at-least-once), never loses.
    if (publisher) await publisher.publish(chunk, model, run.featureSetVersion);
    const inserted = await store.writeChunk(
      writer,
      { runId: run.runId, shardIndex, modelName: run.modelName, modelVersion: run.modelVersion },
      chunk,
      next,
    );
    Object.assign(state, next, {
      rowsWritten: state.rowsWritten + inserted,
      chunks: state.chunks + 1,
      last: chunk.last,
    });
    scoredNow += chunk.eventIds.length;
    doneNow += chunk.rows;
    const seconds = (performance.now() - t) / 1000;
    timings.write += seconds;
    metrics.stageDuration.observe({ stage: 'write' }, seconds);
    metrics.rowsScored.inc(chunk.eventIds.length);
    for (const [reason, n] of Object.entries(chunk.skipped)) metrics.rowsSkipped.inc({ reason }, n ?? 0);
    if (inserted < chunk.eventIds.length) {
      metrics.rowsAlreadyWritten.inc(chunk.eventIds.length - inserted);
      logger.warn(
        { already_written: chunk.eventIds.length - inserted },
        'result rows already in the table were kept as they were (another process wrote the same run keys)',
      );
    }
    metrics.lastChunkTimestamp.set(Date.now() / 1000);
    reporter.add(chunk.rows, skipped);
  }
}

/** Sleeps until `done` rows are no more than `perSecond` × elapsed. */
async function throttle(started: number, done: number, perSecond: number): Promise<void> {
  const due = started + (done / perSecond) * 1000;
  const wait = due - performance.now();
  if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
}

function summarize(
  base: {
    run: RunDefinition;
    shardLabel: string;
    backend: string | null;
    namespace: string;
    metricsPort: number | null;
    topic?: string;
  },
  status: BatchScoringSummary['status'],
  state: Checkpoint,
  timings: Timings,
  scoredNow: number,
  doneNow: number,
  seconds: number,
  total: number | null,
): BatchScoringSummary {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    run_id: base.run.runId,
    shard: base.shardLabel,
    status,
    model_name: base.run.modelName,
    model_version: base.run.modelVersion,
    model_sha256: base.run.modelSha256,
    feature_set_version: base.run.featureSetVersion,
    namespace: base.namespace,
    backend: base.backend,
    rows_total: total ?? state.totalRows,
    rows_done: state.rowsScored + state.rowsSkipped,
    rows_scored: state.rowsScored,
    rows_skipped: state.rowsSkipped,
    skipped: state.skipped,
    rows_written: state.rowsWritten,
    rows_scored_now: scoredNow,
    rows_done_now: doneNow,
    seconds: round(seconds),
    rows_per_second: seconds > 0 ? Math.round(doneNow / seconds) : 0,
    attempts: state.attempts,
    topic: base.topic ?? null,
    metrics_port: base.metricsPort,
    timings: {
      read_wait: round(timings.read_wait),
      score: round(timings.score),
      write_wait: round(timings.write_wait),
      write: round(timings.write),
    },
  };
}
