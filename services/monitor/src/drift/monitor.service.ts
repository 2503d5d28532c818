import {
  type DriftReport,
  type FeatureVector,
  type Label,
  type ModelLifecycle,
  type Prediction,
  topics,
} from '@flywheel/contracts';
import { AvroSerde, FlywheelProducer, KAFKA_CLIENT, LifecycleFollower, TopicNames } from '@flywheel/kafka';
import { HealthService, METRICS_REGISTRY, ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MonitorConfig } from '../config';
import { RegistryClient } from '../lifecycle/registry.client';
import { MonitorMetrics } from '../monitor.metrics';
import { MONITOR_CONFIG } from '../tokens';
import { DriftMonitor, type Evaluation } from './drift-monitor';

/** Kafka and HTTP around DriftMonitor: follows the Production version, produces reports and requests. */
@Injectable()
export class MonitorService implements OnApplicationShutdown {
  readonly monitor: DriftMonitor;
  private readonly registry: RegistryClient;
  private readonly metrics: MonitorMetrics;
  private readonly logger: Logger;
  private follower?: LifecycleFollower;
  private applying: Promise<void> = Promise.resolve();
  private watchedLabel?: { model: string; version: string };
  private readonly windowsCounted = { features: 0, score: 0, quality: 0 };

  constructor(
    @Inject(MONITOR_CONFIG) private readonly config: MonitorConfig,
    @Inject(KAFKA_CLIENT) private readonly kafka: Kafka,
    private readonly serde: AvroSerde,
    private readonly topicNames: TopicNames,
    private readonly producer: FlywheelProducer,
    private readonly health: HealthService,
    @Inject(ROOT_LOGGER) logger: Logger,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.logger = logger.child({ component: 'monitor' });
    this.metrics = MonitorMetrics.for(registry);
    this.metrics.initialise(config.MODEL_NAME);
    this.registry = new RegistryClient({
      baseUrl: config.REGISTRY_URL,
      token: config.REGISTRY_TOKEN,
      timeoutMs: config.REGISTRY_TIMEOUT_MS,
    });
    this.monitor = new DriftMonitor({
      modelName: config.MODEL_NAME,
      windowSize: config.DRIFT_WINDOW_SIZE,
      windowSpanMs: config.DRIFT_WINDOW_SECONDS * 1000,
      ertSamples: config.DRIFT_ERT_SAMPLES,
      consecutive: config.DRIFT_CONSECUTIVE,
      minSamples: config.DRIFT_MIN_SAMPLES,
      cooldownMs: config.DRIFT_COOLDOWN_MS,
      promotionCooldownMs: config.DRIFT_PROMOTION_COOLDOWN_MS,
      qualityWindow: config.QUALITY_WINDOW,
      qualityTrigger: config.QUALITY_TRIGGER,
      qualityMargin: config.QUALITY_AUC_MARGIN,
      qualityMinClassSamples: config.QUALITY_MIN_CLASS_SAMPLES,
      labelHorizonMs: config.LABEL_HORIZON_MS,
      maxPendingJoins: config.MAX_PENDING_JOINS,
      simulations: config.DRIFT_CALIBRATION_SIMULATIONS,
    });
  }

  /** Reads the lifecycle to its end and loads the Production version's baseline before consuming starts. */
  async start(): Promise<void> {
    this.health.register('baseline', () => {
      const w = this.monitor.version;
      return w
        ? { ok: true, detail: `${this.config.MODEL_NAME} v${w.version}` }
        : { ok: true, detail: `no Production version of ${this.config.MODEL_NAME} known yet` };
    });
    this.follower = new LifecycleFollower({
      kafka: this.kafka,
      serde: this.serde,
      topic: this.topicNames.of(topics.modelsLifecycle),
      modelName: this.config.MODEL_NAME,
      groupPrefix: this.config.CONSUMER_GROUP,
      bootstrapTimeoutMs: this.config.LIFECYCLE_BOOTSTRAP_TIMEOUT_MS,
      logger: this.logger,
    });
    const latest = await this.follower.start((event) => {
      this.applying = this.applying.then(() => this.apply(event));
    });
    if (latest) await this.apply(latest);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.follower?.stop();
  }

  async onVectors(vectors: FeatureVector[]): Promise<void> {
    await this.publish(this.monitor.addVectors(vectors));
  }

  async onPredictions(predictions: Prediction[]): Promise<void> {
    await this.publish(this.monitor.addPredictions(predictions));
  }

  async onLabels(labels: Label[]): Promise<void> {
    await this.publish(this.monitor.addLabels(labels));
  }

  /** Brings the windows counter up to the monitor's totals (they only grow). */
  private countWindows(): void {
    const model = this.config.MODEL_NAME;
    for (const kind of ['features', 'score', 'quality'] as const) {
      const delta = this.monitor.windowsEvaluated[kind] - this.windowsCounted[kind];
      if (delta > 0) this.metrics.windows.inc({ model, kind }, delta);
      this.windowsCounted[kind] = this.monitor.windowsEvaluated[kind];
    }
  }

  get report(): DriftReport | undefined {
    return this.monitor.report;
  }

  /** Watches the Production version named by a lifecycle event (no-op when it is already watched). */
  private async apply(event: ModelLifecycle): Promise<void> {
    const production = event.production;
    if (!production || production.version === this.monitor.version?.version) return;
    const log = this.logger.child({ 'model.name': event.model_name, 'model.version': production.version });
    for (let attempt = 1; ; attempt++) {
      try {
        const { baseline, metrics } = await this.registry.version(event.model_name, production.version);
        const started = Date.now();
        const watched = this.monitor.watch({
          version: production.version,
          featureSetVersion: production.feature_set_version,
          baseline,
          metrics,
        });
        if (this.watchedLabel) this.metrics.forgetWatchedVersion();
        this.watchedLabel = { model: event.model_name, version: String(production.version) };
        log.info(
          {
            features: watched.features.map((f) => ({
              name: f.histogram.name,
              psi_threshold: f.calibrations.full.threshold,
            })),
            score_ks_threshold: watched.score.calibrations.full.threshold,
            window_alpha: watched.score.calibrations.full.windowAlpha,
            quality:
              watched.quality ??
              (this.config.QUALITY_TRIGGER ? 'off: the version has no holdout auc' : 'off: QUALITY_TRIGGER=false'),
            calibration_ms: Date.now() - started,
          },
          'watching the Production version: detectors calibrated',
        );
        return;
      } catch (error) {
        if (attempt >= 10) {
          log.error({ error }, 'could not load the Production baseline; drift is not monitored for this version');
          return;
        }
        log.warn({ error, attempt }, 'baseline fetch failed, retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** attempt)));
      }
    }
  }

  /** Produces each evaluation's retrain request and report, acknowledged before the batch is committed. */
  private async publish(evaluations: Evaluation[]): Promise<void> {
    this.countWindows();
    const model = this.config.MODEL_NAME;
    for (const { report, retrain } of evaluations) {
      this.updateGauges(report);
      // the request first: a consumer that sees a window's report also finds that window's request
      if (retrain) {
        await this.producer.send(
          this.topicNames.of(topics.modelsRetrainRequested),
          [{ key: model, value: retrain, timestamp: retrain.requested_at }],
          { timeoutMs: this.config.PRODUCE_TIMEOUT_MS },
        );
        this.metrics.retrainRequests.inc({ model, reason: retrain.reason });
        this.logger.warn(
          {
            request_id: retrain.request_id,
            reason: retrain.reason,
            'model.version': retrain.model_version,
            evidence: retrain.evidence,
          },
          'sustained drift or quality loss: retrain requested',
        );
      }
      await this.producer.send(
        this.topicNames.of(topics.monitorDrift),
        [{ key: model, value: report, timestamp: report.emitted_at }],
        { timeoutMs: this.config.PRODUCE_TIMEOUT_MS },
      );
      this.metrics.reports.inc({ model });
    }
  }

  private updateGauges(report: DriftReport): void {
    const labels = this.watchedLabel ?? { model: report.model_name, version: String(report.model_version) };
    for (const f of report.features) {
      this.metrics.psi.set({ ...labels, feature: f.feature }, f.psi);
      this.metrics.ks.set({ ...labels, feature: f.feature }, f.ks_statistic);
      this.metrics.drifted.set({ ...labels, feature: f.feature }, f.drifted ? 1 : 0);
    }
    this.metrics.psi.set({ ...labels, feature: '_score' }, report.score.psi);
    this.metrics.ks.set({ ...labels, feature: '_score' }, report.score.ks_statistic);
    this.metrics.drifted.set({ ...labels, feature: '_score' }, report.score.drifted ? 1 : 0);
    if (report.quality?.auc != null) this.metrics.auc.set(labels, report.quality.auc);
    if (report.features.length > 0) this.metrics.samples.set({ ...labels, kind: 'features' }, report.window.samples);
    this.metrics.samples.set({ ...labels, kind: 'labelled' }, report.quality?.labelled_samples ?? 0);
  }
}
