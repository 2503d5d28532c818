import { Counter, Gauge, type Registry } from 'prom-client';

/** The monitor's own metrics (Kafka consumed/produced/lag/DLQ come from libs/kafka). */
export class MonitorMetrics {
  private static readonly byRegistry = new WeakMap<Registry, MonitorMetrics>();

  /** PSI of the newest window per feature (feature="_score" for the model score). */
  readonly psi: Gauge<'model' | 'version' | 'feature'>;
  /** KS distance of the newest window against the baseline, per feature (and "_score"). */
  readonly ks: Gauge<'model' | 'version' | 'feature'>;
  /** 1 when the newest window of a feature (or "_score") was judged drifted by its calibrated detector. */
  readonly drifted: Gauge<'model' | 'version' | 'feature'>;
  /** Live AUC over the most recent labelled predictions. */
  readonly auc: Gauge<'model' | 'version'>;
  /** Samples in the newest evaluated window / labelled window, by kind (features, scores, labelled). */
  readonly samples: Gauge<'model' | 'version' | 'kind'>;
  readonly retrainRequests: Counter<'model' | 'reason'>;
  readonly reports: Counter<'model'>;
  /** Windows judged, by detector kind (features, score, quality). */
  readonly windows: Counter<'model' | 'kind'>;

  static for(registry: Registry): MonitorMetrics {
    let metrics = MonitorMetrics.byRegistry.get(registry);
    if (!metrics) {
      metrics = new MonitorMetrics(registry);
      MonitorMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const registers = [registry];
    this.psi = new Gauge({
      name: 'flywheel_monitor_psi',
      help: 'Population stability index of the newest window against the baseline',
      labelNames: ['model', 'version', 'feature'],
      registers,
    });
    this.ks = new Gauge({
      name: 'flywheel_monitor_ks',
      help: 'Kolmogorov-Smirnov distance of the newest window against the baseline',
      labelNames: ['model', 'version', 'feature'],
      registers,
    });
    this.drifted = new Gauge({
      name: 'flywheel_monitor_drifted',
      help: '1 when the newest window was judged drifted (calibrated threshold), else 0',
      labelNames: ['model', 'version', 'feature'],
      registers,
    });
    this.auc = new Gauge({
      name: 'flywheel_monitor_auc',
      help: 'Live ROC AUC over the most recent labelled predictions',
      labelNames: ['model', 'version'],
      registers,
    });
    this.samples = new Gauge({
      name: 'flywheel_monitor_window_samples',
      help: 'Samples in the newest window (features, scores) and in the labelled window',
      labelNames: ['model', 'version', 'kind'],
      registers,
    });
    this.retrainRequests = new Counter({
      name: 'flywheel_monitor_retrain_requests_total',
      help: 'Retrain requests emitted to models.retrain-requested.v1',
      labelNames: ['model', 'reason'],
      registers,
    });
    this.windows = new Counter({
      name: 'flywheel_monitor_windows_evaluated_total',
      help: 'Closed windows evaluated, by detector kind (features, score, quality)',
      labelNames: ['model', 'kind'],
      registers,
    });
    this.reports = new Counter({
      name: 'flywheel_monitor_drift_reports_total',
      help: 'Drift reports emitted to monitor.drift.v1',
      labelNames: ['model'],
      registers,
    });
  }

  /**
   * Retrain requests start at 0 for the watched model, so the first request is an increase (a counter that
   * appears at 1 is invisible to increase() and alerts).
   */
  initialise(model: string): void {
    for (const reason of ['DRIFT', 'QUALITY']) this.retrainRequests.inc({ model, reason }, 0);
    this.reports.inc({ model }, 0);
  }

  /** A new Production version is watched: the previous version's gauges stop being true, so they go. */
  forgetWatchedVersion(): void {
    for (const gauge of [this.psi, this.ks, this.drifted, this.auc, this.samples]) gauge.reset();
  }
}
