import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Why a model version was refused (the `reason` label of flywheel_inference_model_load_failures_total). */
export const MODEL_LOAD_FAILURE_REASONS = ['registry-lookup', 'download', 'sha256-mismatch', 'format', 'load'] as const;
export type ModelLoadFailureReason = (typeof MODEL_LOAD_FAILURE_REASONS)[number];

/** stream-inference's own metrics (Kafka consumed/produced/lag/DLQ come from libs/kafka). */
export class InferenceMetrics {
  private static readonly byRegistry = new WeakMap<Registry, InferenceMetrics>();

  /** Rows scored, by mode: stream (predictions.v1), shadow, request (POST /v1/predict). */
  readonly rowsScored: Counter<'model' | 'mode'>;
  readonly batchSize: Histogram<'mode'>;
  /** Wall time of vectorise + one tensor + predict for a micro-batch. */
  readonly predictDuration: Histogram<'mode' | 'backend'>;
  /** Distribution of the scores, per model and mode (the model dashboard's score panel). */
  readonly scores: Histogram<'model' | 'mode'>;
  /** event_time → prediction acknowledged by Kafka. */
  readonly endToEndLatency: Histogram;
  /** 1 for the version in use per role (serving, shadow); the old series is removed on a swap. */
  readonly modelInfo: Gauge<'model' | 'version' | 'backend' | 'role'>;
  readonly swaps: Counter<'model' | 'role'>;
  readonly loadFailures: Counter<'model' | 'reason'>;
  /** 1 while this instance holds no partition of features.vectors.v1 (more instances than partitions). */
  readonly idle: Gauge;
  readonly shadowDropped: Counter;
  readonly shadowFailures: Counter;

  static for(registry: Registry): InferenceMetrics {
    let metrics = InferenceMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new InferenceMetrics(registry);
      InferenceMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.rowsScored = new Counter({
      name: 'flywheel_inference_rows_scored_total',
      help: 'Rows scored (rate() gives rows/s)',
      labelNames: ['model', 'mode'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'flywheel_inference_batch_size_rows',
      help: 'Rows per scored micro-batch (one tensor)',
      labelNames: ['mode'],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers,
    });
    this.predictDuration = new Histogram({
      name: 'flywheel_inference_predict_duration_seconds',
      help: 'Vectorise + predict time of one micro-batch',
      labelNames: ['mode', 'backend'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.scores = new Histogram({
      name: 'flywheel_inference_score',
      help: 'Scores produced (0..1, dimensionless), per model and mode',
      labelNames: ['model', 'mode'],
      buckets: [0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99],
      registers,
    });
    this.endToEndLatency = new Histogram({
      name: 'flywheel_inference_end_to_end_latency_seconds',
      help: 'From the event_time of a vector to its prediction being acknowledged by Kafka',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'flywheel_inference_model_info',
      help: 'Model version in use (1) per role, with the tfjs backend',
      labelNames: ['model', 'version', 'backend', 'role'],
      registers,
    });
    this.swaps = new Counter({
      name: 'flywheel_inference_model_swaps_total',
      help: 'Model versions swapped in (the first load counts too)',
      labelNames: ['model', 'role'],
      registers,
    });
    this.loadFailures = new Counter({
      name: 'flywheel_inference_model_load_failures_total',
      help: 'Model versions refused: download, sha256 verification or load failed; the previous one keeps serving',
      labelNames: ['model', 'reason'],
      registers,
    });
    this.idle = new Gauge({
      name: 'flywheel_inference_idle',
      help: '1 when this instance has no features.vectors.v1 partition assigned',
      registers,
    });
    this.shadowDropped = new Counter({
      name: 'flywheel_inference_shadow_dropped_batches_total',
      help: 'Shadow batches skipped because earlier shadow sends were still in flight',
      registers,
    });
    this.shadowFailures = new Counter({
      name: 'flywheel_inference_shadow_failures_total',
      help: 'Shadow batches that failed to score or produce (never fails the serving batch)',
      registers,
    });
  }

  /**
   * Counters of rare events start at 0 for the served model, so the first load failure or swap is an
   * increase (a series that appears at 1 is invisible to increase() and to alerts built on it).
   */
  initialise(model: string): void {
    for (const reason of MODEL_LOAD_FAILURE_REASONS) this.loadFailures.inc({ model, reason }, 0);
    for (const role of ['serving', 'shadow']) this.swaps.inc({ model, role }, 0);
  }
}
