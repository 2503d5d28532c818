import { Counter, Gauge, type Registry } from 'prom-client';

/** The monitor's own metrics (Kafka consumed/produced/lag/DLQ come from libs/kafka). */
export class MonitorMetrics {
  private static readonly byRegistry = new WeakMap<Registry, MonitorMetrics>();

  /** PSI of the newest window per feature (feature="_score" for the model score). */
  readonly psi: Gauge<'model' | 'version' | 'feature'>;
  /** KS distance of the newest window against the baseline, per feature (and "_score"). */
  readonly ks: Gauge<'model' | 'version' | 'feature'>;
  /** Live AUC over the most recent labelled predictions. */
  readonly auc: Gauge<'model' | 'version'>;
  /** Samples in the newest evaluated window / labelled window, by kind (features, scores, labelled). */
  readonly samples: Gauge<'model' | 'version' | 'kind'>;
  readonly retrainRequests: Counter<'model' | 'reason'>;
  readonly reports: Counter<'model'>;

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
    this.reports = new Counter({
      name: 'flywheel_monitor_drift_reports_total',
      help: 'Drift reports emitted to monitor.drift.v1',
      labelNames: ['model'],
      registers,
    });
  }
}
