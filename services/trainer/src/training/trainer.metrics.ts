import { trainRefusalReasons } from '@flywheel/contracts';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** flywheel_trainer_* metrics; one set per registry (the CLI and the service each have their own). */
export class TrainerMetrics {
  private static readonly byRegistry = new WeakMap<Registry, TrainerMetrics>();

  /** outcome = trained | refused | failed; reason = refusal code (or 'none'). */
  readonly runs: Counter<'outcome' | 'reason'>;
  readonly duration: Histogram<'outcome'>;
  /** Rows of the last run, by set = window | train | holdout | dropped. */
  readonly rows: Gauge<'set'>;
  /** Holdout metrics of the last trained run, for the candidate and the Production model. */
  readonly holdout: Gauge<'role' | 'metric'>;
  readonly lastSuccess: Gauge;

  static for(registry: Registry): TrainerMetrics {
    let metrics = TrainerMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new TrainerMetrics(registry);
      TrainerMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    this.runs = new Counter({
      name: 'flywheel_trainer_runs_total',
      help: 'Training runs by outcome (trained, refused, failed) and refusal reason',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'flywheel_trainer_run_duration_seconds',
      help: 'Wall time of a training run, from request to published outcome',
      labelNames: ['outcome'],
      buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    });
    this.rows = new Gauge({
      name: 'flywheel_trainer_rows',
      help: 'Rows of the last run: labelled rows in the window, train, holdout, dropped (unusable features)',
      labelNames: ['set'],
      registers: [registry],
    });
    this.holdout = new Gauge({
      name: 'flywheel_trainer_holdout_metric',
      help: 'Holdout metrics of the last trained run (role = candidate | production)',
      labelNames: ['role', 'metric'],
      registers: [registry],
    });
    this.lastSuccess = new Gauge({
      name: 'flywheel_trainer_last_trained_timestamp_seconds',
      help: 'When the last run published a trained model',
      registers: [registry],
    });
    // Every outcome starts at 0, so the first run of each kind is an increase for rate() and alerts.
    this.runs.inc({ outcome: 'trained', reason: 'none' }, 0);
    this.runs.inc({ outcome: 'failed', reason: 'error' }, 0);
    for (const reason of Object.values(trainRefusalReasons)) this.runs.inc({ outcome: 'refused', reason }, 0);
  }
}
