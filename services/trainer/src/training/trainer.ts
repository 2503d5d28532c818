import { createHash } from 'node:crypto';
import type { ModelTrained, TrainRefused } from '@flywheel/contracts';
import { trainRefusalReasons } from '@flywheel/contracts';
import { pointInTimeTrainingSet, type SqlQueryable, type TrainingRow } from '@flywheel/features';
import { loadBundle, logLoss, rocAuc, Scorer, serializeBundle, trainFraudModel } from '@flywheel/ml';
import type { Logger } from 'pino';
import {
  type ClassificationMetrics,
  countPositives,
  featureHistograms,
  histogram,
  precisionRecallAt,
  splitByTime,
  usableRows,
} from './dataset';
import type { ProductionRef, RegistryClient } from './registry.client';
import type { TrainerMetrics } from './trainer.metrics';

/** What a run is configured with (from TrainerConfig; the CLI may override the window). */
export interface TrainerSettings {
  featureSetVersion: string;
  namespace?: string;
  featureNames: readonly string[];
  featuresSchema: string;
  holdoutFraction: number;
  minTrainingRows: number;
  minClassRows: number;
  seed: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  threshold: number;
  reviewThreshold?: number;
  histogramBins: number;
}

export interface RunRequest {
  modelName: string;
  /** Event-time window [from, to) of the labelled events; labels known after `to` are not used. */
  from: number;
  to: number;
  /** The models.retrain-requested.v1 request, or null for a run started by hand. */
  requestId: string | null;
  runId: string;
}

export type RunOutcome =
  | { outcome: 'trained'; event: ModelTrained }
  | { outcome: 'refused'; refusal: Omit<TrainRefused, 'request_id'> & { request_id: string | null } };

export interface TrainerDependencies {
  db: SqlQueryable;
  registry: RegistryClient;
  metrics: TrainerMetrics;
  logger: Logger;
  settings: TrainerSettings;
  now?: () => number;
}

/** A run that cannot produce a model, with the reason published on models.train-refused.v1. */
class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly rows: number,
    readonly positives: number,
  ) {
    super(message);
  }
}

/** Run id of a request's run: derived from request_id, so a redelivered request re-registers nothing (registry dedupes by run_id). */
export function runIdFor(requestId: string): string {
  const h = createHash('sha256').update(`flywheel-trainer-run:${requestId}`).digest('hex');
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * One training run: point-in-time training set from the offline log + labels, time split, deterministic training,
 * evaluation of the candidate and the Production model on the same holdout, baseline histograms, artifact upload.
 * Returns the event to publish (models.trained.v1, or the refusal); publishing is the caller's.
 * Registry/database errors are thrown (retriable); data problems and training failures become refusals.
 */
export class Trainer {
  private readonly now: () => number;

  constructor(private readonly deps: TrainerDependencies) {
    this.now = deps.now ?? Date.now;
  }

  async run(request: RunRequest): Promise<RunOutcome> {
    const { metrics, logger } = this.deps;
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const event = await this.train(request);
      metrics.runs.inc({ outcome: 'trained', reason: 'none' });
      metrics.duration.observe({ outcome: 'trained' }, seconds());
      metrics.lastSuccess.set(this.now() / 1000);
      logger.info(
        {
          'model.name': request.modelName,
          run_id: request.runId,
          request_id: request.requestId,
          sha256: event.artifact_sha256,
          metrics: event.metrics,
          production_version: event.production_version,
          production_metrics: event.production_metrics,
          duration_s: seconds(),
        },
        'trained a candidate model',
      );
      return { outcome: 'trained', event };
    } catch (error) {
      if (!(error instanceof Refusal)) {
        metrics.runs.inc({ outcome: 'failed', reason: 'error' });
        metrics.duration.observe({ outcome: 'failed' }, seconds());
        throw error;
      }
      metrics.runs.inc({ outcome: 'refused', reason: error.code });
      metrics.duration.observe({ outcome: 'refused' }, seconds());
      logger.warn(
        { 'model.name': request.modelName, request_id: request.requestId, reason_code: error.code, rows: error.rows },
        `training refused: ${error.message}`,
      );
      return {
        outcome: 'refused',
        refusal: {
          request_id: request.requestId,
          model_name: request.modelName,
          reason_code: error.code,
          message: error.message,
          rows: error.rows,
          positives: error.positives,
          refused_at: this.now(),
        },
      };
    }
  }

  private async train(request: RunRequest): Promise<ModelTrained> {
    const { settings, metrics } = this.deps;
    const names = settings.featureNames;
    if (!(request.from < request.to)) {
      throw new Refusal('EMPTY_WINDOW', `training window [${request.from}, ${request.to}) is empty`, 0, 0);
    }
    const all = await pointInTimeTrainingSet(this.deps.db, {
      from: request.from,
      to: request.to,
      featureSetVersion: settings.featureSetVersion,
      namespace: settings.namespace,
      schema: settings.featuresSchema,
      labelsTable: `${settings.featuresSchema}.labels`,
      labelsKnownBy: request.to,
    });
    const { rows, dropped } = usableRows(all, names);
    const positives = countPositives(rows);
    const negatives = rows.length - positives;
    metrics.rows.set({ set: 'window' }, all.length);
    metrics.rows.set({ set: 'dropped' }, dropped);
    const window = `[${new Date(request.from).toISOString()}, ${new Date(request.to).toISOString()})`;
    const droppedNote = dropped > 0 ? ` (${dropped} more dropped: missing or non-finite features)` : '';
    if (rows.length === 0) {
      throw new Refusal(
        trainRefusalReasons.noLabels,
        `no labelled rows of feature set ${settings.featureSetVersion} in ${window}${droppedNote}`,
        0,
        0,
      );
    }
    if (rows.length < settings.minTrainingRows) {
      throw new Refusal(
        trainRefusalReasons.insufficientRows,
        `only ${rows.length} labelled rows in ${window}, need ${settings.minTrainingRows}${droppedNote}`,
        rows.length,
        positives,
      );
    }
    if (positives === 0 || negatives === 0) {
      throw new Refusal(
        positives === 0 ? trainRefusalReasons.insufficientPositives : 'SINGLE_CLASS',
        `all ${rows.length} labels in ${window} are one class (${positives === 0 ? 'genuine' : 'fraud'}): nothing to learn`,
        rows.length,
        positives,
      );
    }
    const split = splitByTime(rows, settings.holdoutFraction);
    for (const [part, set] of [
      ['train', split.train],
      ['holdout', split.holdout],
    ] as const) {
      const p = countPositives(set);
      if (p < settings.minClassRows || set.length - p < settings.minClassRows) {
        throw new Refusal(
          trainRefusalReasons.insufficientPositives,
          `${part} set (${set.length} rows, ${p} fraud, ${set.length - p} genuine) has fewer than ${settings.minClassRows} rows of a class; need both classes in train and holdout`,
          rows.length,
          positives,
        );
      }
    }
    metrics.rows.set({ set: 'train' }, split.train.length);
    metrics.rows.set({ set: 'holdout' }, split.holdout.length);

    let trained: Awaited<ReturnType<typeof trainFraudModel>>;
    try {
      // The FeatureSpec (standardisation) is fitted on the train rows only: the holdout stays unseen.
      trained = await trainFraudModel(
        { rows: split.train.map((r) => r.features), labels: split.train.map((r) => r.label) },
        {
          featureNames: names,
          seed: settings.seed,
          epochs: settings.epochs,
          batchSize: settings.batchSize,
          learningRate: settings.learningRate,
        },
      );
    } catch (error) {
      throw new Refusal(
        trainRefusalReasons.trainingFailed,
        `training failed: ${(error as Error).message}`,
        rows.length,
        positives,
      );
    }
    const holdoutFeatures = split.holdout.map((r) => r.features);
    const holdoutLabels = split.holdout.map((r) => r.label);
    const counts = {
      train_rows: split.train.length,
      holdout_rows: split.holdout.length,
      positives,
      train_positives: countPositives(split.train),
      holdout_positives: countPositives(split.holdout),
    };
    let bytes: Buffer;
    let sha256: string;
    let scores: Float32Array;
    try {
      scores = new Scorer(trained.model, trained.spec).score(holdoutFeatures);
      const bundle = await serializeBundle(trained.model, trained.spec, {
        feature_set_version: settings.featureSetVersion,
        threshold: settings.threshold,
        review_threshold: settings.reviewThreshold ?? null,
        model_name: request.modelName,
        // Deterministic provenance only (no run id, no clock): same data + seed → same bytes → same sha256.
        info: {
          seed: settings.seed,
          epochs: settings.epochs,
          batch_size: settings.batchSize,
          learning_rate: settings.learningRate,
          window_start: request.from,
          window_end: request.to,
          holdout_cutoff: split.cutoff,
          train_rows: split.train.length,
          holdout_rows: split.holdout.length,
        },
      });
      bytes = bundle.bytes;
      sha256 = bundle.sha256;
    } finally {
      trained.model.dispose();
    }
    const candidate = { ...evaluate(scores, holdoutLabels, settings.threshold), ...counts };
    for (const [metric, value] of Object.entries(evaluate(scores, holdoutLabels, settings.threshold))) {
      metrics.holdout.set({ role: 'candidate', metric }, value);
    }

    const production = await this.registryProduction(request.modelName);
    const productionMetrics = production ? await this.evaluateProduction(production, split.holdout) : null;
    if (productionMetrics) {
      for (const key of ['auc', 'log_loss', 'precision', 'recall'] as const) {
        metrics.holdout.set({ role: 'production', metric: key }, productionMetrics[key]);
      }
    }

    const artifactUri = await this.deps.registry.upload(sha256, bytes);
    return {
      run_id: request.runId,
      model_name: request.modelName,
      artifact_uri: artifactUri,
      artifact_sha256: sha256,
      artifact_size_bytes: bytes.length,
      feature_set_version: settings.featureSetVersion,
      feature_names: [...names],
      metrics: candidate,
      production_version: production?.version ?? null,
      production_metrics: productionMetrics,
      baseline: {
        features: featureHistograms(split.train, names, settings.histogramBins),
        score: histogram('score', scores, settings.histogramBins),
      },
      training_window_start: request.from,
      training_window_end: request.to,
      parent_version: production?.version ?? null,
      retrain_request_id: request.requestId,
      trained_at: this.now(),
    };
  }

  private registryProduction(model: string): Promise<ProductionRef | null> {
    return this.deps.registry.production(model);
  }

  /**
   * The Production model on the same holdout, at its own threshold. Null (the registry then falls back to its stored
   * metrics) when it was trained on another feature-set version or its artifact does not load.
   */
  private async evaluateProduction(
    production: ProductionRef,
    holdout: readonly TrainingRow[],
  ): Promise<Record<string, number> | null> {
    const { logger, settings } = this.deps;
    if (production.feature_set_version !== settings.featureSetVersion) {
      logger.warn(
        { production_version: production.version, production_fsv: production.feature_set_version },
        'Production model uses another feature-set version: not comparable on this holdout',
      );
      return null;
    }
    const bytes = await this.deps.registry.download(production);
    let bundle: Awaited<ReturnType<typeof loadBundle>>;
    try {
      bundle = await loadBundle(bytes, production.artifact_sha256);
    } catch (error) {
      logger.error(
        { production_version: production.version, error: (error as Error).message },
        'Production artifact does not load: not evaluated',
      );
      return null;
    }
    try {
      const usable = usableRows(holdout as TrainingRow[], bundle.spec.feature_names).rows;
      if (usable.length !== holdout.length) {
        logger.warn(
          { production_version: production.version, missing_rows: holdout.length - usable.length },
          'Production model needs features the holdout lacks: not evaluated',
        );
        return null;
      }
      const scores = Scorer.fromBundle(bundle).score(holdout.map((r) => r.features));
      const labels = holdout.map((r) => r.label);
      return {
        ...evaluate(scores, labels, bundle.metadata.threshold),
        holdout_rows: holdout.length,
        holdout_positives: countPositives(holdout),
      };
    } finally {
      bundle.model.dispose();
    }
  }
}

function evaluate(scores: Float32Array, labels: number[], threshold: number): ClassificationMetrics {
  return {
    auc: rocAuc(scores, labels),
    log_loss: logLoss(scores, labels),
    ...precisionRecallAt(scores, labels, threshold),
  };
}
