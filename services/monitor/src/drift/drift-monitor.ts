import { randomUUID } from 'node:crypto';
import type {
  Baseline,
  DriftReport,
  Evidence,
  FeatureDrift,
  FeatureVector,
  Histogram,
  Label,
  Prediction,
  Quality,
  RetrainReason,
  RetrainRequested,
  ScoreDrift,
} from '@flywheel/contracts';
import {
  auc,
  binCounts,
  chiSquaredIndependence,
  type DetectorReading,
  DriftTrigger,
  expectedCalibrationError,
  jensenShannonDistance,
  ksAgainstHistogram,
  precisionRecallAt,
  psiFromCounts,
  qualityThreshold,
  WindowCalibrations,
  windowAlphaFor,
  windowStatistic,
} from '@flywheel/ml';
import { type ClosedWindow, EventTimeWindow } from './event-time-window';
import { LabelJoin, type LabelledSample, NewestSamples } from './label-join';

export interface DriftMonitorOptions {
  modelName: string;
  /** Samples per window (feature vectors, scores): a window closes when it holds this many … */
  windowSize: number;
  /** … or when a sample arrives this long (event time) after the window's first one; 0 = by count only. */
  windowSpanMs: number;
  /** Expected samples between false retrain requests on stationary data, for the whole family of detectors. */
  ertSamples: number;
  /** Consecutive drifted windows of one detector before a request (hysteresis). */
  consecutive: number;
  /** Windows with fewer samples are reported but never count towards a request. */
  minSamples: number;
  /** After a request, no further request of the same detector kind for this long (event time). */
  cooldownMs: number;
  /** No request within this long (event time) after the watched version's promotion. */
  promotionCooldownMs: number;
  /** Labelled predictions per quality window (the newest ones are also the live quality of the reports). */
  qualityWindow: number;
  /** Judge live quality (AUC from labels) against the Production version's holdout AUC (default true). */
  qualityTrigger?: boolean;
  /** Tolerated live-AUC loss below the Production version's holdout AUC (before the statistical allowance). */
  qualityMargin: number;
  /** A quality window with fewer positives or negatives than this is reported but never judged. */
  qualityMinClassSamples: number;
  /** A prediction waits this long (event time) for its label, and a label for its prediction. */
  labelHorizonMs: number;
  /** Upper bound on predictions/labels waiting to be joined (oldest dropped first). */
  maxPendingJoins: number;
  calibrationSeed?: number;
  /** Override the simulation count of the threshold calibration (default: see calibrateThreshold). */
  simulations?: number;
}

/** What the registry says about the version to watch. */
export interface VersionToWatch {
  version: number;
  featureSetVersion: string;
  baseline: Baseline;
  /** Holdout metrics of the version (models.trained.v1 `metrics`); `auc` enables the quality detector. */
  metrics?: Record<string, number>;
}

/** The Production version being watched, with its calibrated detectors. */
export interface WatchedVersion {
  version: number;
  featureSetVersion: string;
  baseline: Baseline;
  /** PSI detectors per feature. */
  features: { histogram: Histogram; calibrations: WindowCalibrations }[];
  /** Grouped-KS detector on the score. */
  score: { histogram: Histogram; calibrations: WindowCalibrations };
  /** Live AUC against this holdout AUC; null when the version has none (quality detector off). */
  quality: { holdoutAuc: number; windowAlpha: number } | null;
}

/**
 * Detector kinds, each with its own hysteresis and cooldown: input drift (a PSI detector per feature), output
 * drift (KS on the score) and quality (live AUC from labels). A request of one kind never silences another
 * kind, so evidence that arrives a window later from another view of the same change is not lost.
 */
export type DetectorKind = 'features' | 'score' | 'quality';
const KINDS: DetectorKind[] = ['features', 'score', 'quality'];

export interface Evaluation {
  report: DriftReport;
  retrain: RetrainRequested | null;
}

/**
 * The monitor's state machine, without Kafka: windows of live feature values and scores for the Production
 * version, drift statistics against its baseline, the label join for live quality, and the calibrated trigger.
 *
 * Join choice: predictions do not carry features, so feature vectors are windowed on their own, keeping only
 * those whose feature_set_version is the watched version's (what that version scores); scores come from
 * predictions of the watched version. Labels join predictions by event_id within `labelHorizonMs`.
 *
 * Time is event time throughout (windows, cooldowns, the label horizon): the same input gives the same
 * requests whether it is read live, replayed, or caught up after an outage. Wall-clock time appears only as
 * the emitted events' own timestamps (requested_at, emitted_at).
 */
export class DriftMonitor {
  private watched?: WatchedVersion;
  private triggers: Record<DetectorKind, DriftTrigger>;
  private featureWindow?: EventTimeWindow;
  private scoreWindow?: EventTimeWindow;
  private lastScoreDrift?: ScoreDrift;
  private joins: LabelJoin;
  private readonly labelled: NewestSamples;
  private labelledSinceEvaluation = 0;
  private newestEventTime = Number.NEGATIVE_INFINITY;
  /** Set by watch() when no event has been seen yet: the promotion cooldown starts at the first one. */
  private promotionCooldownPending = false;
  private current?: DriftReport;
  readonly counters = { vectorsSkipped: 0, predictionsSkipped: 0 };
  /** Closed windows per detector kind (a quality window: QUALITY_WINDOW newly joined labels). */
  readonly windowsEvaluated: Record<DetectorKind, number> = { features: 0, score: 0, quality: 0 };

  constructor(private readonly options: DriftMonitorOptions) {
    this.triggers = this.newTriggers();
    this.joins = this.newJoin();
    this.labelled = new NewestSamples(options.qualityWindow);
  }

  get version(): WatchedVersion | undefined {
    return this.watched;
  }

  get report(): DriftReport | undefined {
    return this.current;
  }

  get joinCounters(): { joined: number; expired: number } {
    return this.joins.counters;
  }

  /**
   * Starts watching a (newly promoted) version: one detector per baseline feature, one on the score and, when
   * the version has a holdout AUC, one on live quality, each calibrated for ertSamples × detectors (so the
   * family's false-alarm rate is the configured one); resets windows and triggers.
   *
   * The post-promotion cooldown is placed on the event-time axis: it starts at the newest event time the
   * monitor has seen (its event-time "now"), or at the first event read when none has been (start-up).
   */
  watch(target: VersionToWatch): WatchedVersion {
    const { baseline } = target;
    const holdoutAuc = target.metrics?.auc;
    const withQuality =
      this.options.qualityTrigger !== false &&
      holdoutAuc !== undefined &&
      Number.isFinite(holdoutAuc) &&
      holdoutAuc > 0.5;
    const detectors = baseline.features.length + 1 + (withQuality ? 1 : 0);
    const ertSamples = this.options.ertSamples * detectors;
    const seed = this.options.calibrationSeed ?? 17;
    const calibrations = (histogram: Histogram, statistic: 'psi' | 'ks', i: number) =>
      new WindowCalibrations(histogram, {
        statistic,
        windowSize: this.options.windowSize,
        minSamples: this.options.minSamples,
        ertSamples,
        consecutive: this.options.consecutive,
        seed: seed + i,
        simulations: this.options.simulations,
      });
    this.watched = {
      version: target.version,
      featureSetVersion: target.featureSetVersion,
      baseline,
      features: baseline.features.map((h, i) => ({ histogram: h, calibrations: calibrations(h, 'psi', i) })),
      score: { histogram: baseline.score, calibrations: calibrations(baseline.score, 'ks', detectors) },
      quality: withQuality
        ? {
            holdoutAuc,
            windowAlpha: windowAlphaFor(ertSamples / this.options.qualityWindow, this.options.consecutive),
          }
        : null,
    };
    // calibrate full windows now: start-up pays for it once, and the thresholds can be logged
    for (const f of this.watched.features) void f.calibrations.full;
    void this.watched.score.calibrations.full;
    const width = this.watched.features.length;
    this.featureWindow = new EventTimeWindow(width, this.options.windowSize, this.options.windowSpanMs);
    this.scoreWindow = new EventTimeWindow(1, this.options.windowSize, this.options.windowSpanMs);
    this.lastScoreDrift = undefined;
    this.labelled.clear();
    this.labelledSinceEvaluation = 0;
    this.current = undefined;
    this.triggers = this.newTriggers();
    if (Number.isFinite(this.newestEventTime)) this.startPromotionCooldown(this.newestEventTime);
    else this.promotionCooldownPending = true;
    return this.watched;
  }

  /** Adds feature vectors; returns an evaluation (report, maybe a request) per closed feature window. */
  addVectors(vectors: FeatureVector[]): Evaluation[] {
    const w = this.watched;
    const out: Evaluation[] = [];
    if (!w || !this.featureWindow) {
      this.counters.vectorsSkipped += vectors.length;
      return out;
    }
    const row = new Float64Array(w.features.length);
    for (const v of vectors) {
      if (v.feature_set_version !== w.featureSetVersion) {
        this.counters.vectorsSkipped++;
        continue;
      }
      this.observeTime(v.event_time);
      for (let f = 0; f < w.features.length; f++) {
        const value = v.features[w.features[f].histogram.name];
        row[f] = value === undefined ? Number.NaN : value;
      }
      for (const closed of this.featureWindow.add(v.event_time, row)) out.push(this.evaluateFeatures(w, closed));
    }
    return out;
  }

  /** Adds predictions: scores of the watched version go to the score window; all wait for their label. */
  addPredictions(predictions: Prediction[]): Evaluation[] {
    const out: Evaluation[] = [];
    const row = new Float64Array(1);
    for (const p of predictions) {
      this.observeTime(p.event_time);
      const w = this.watched;
      if (!w || !this.scoreWindow || p.model_name !== this.options.modelName || p.model_version !== w.version) {
        this.counters.predictionsSkipped++;
        continue;
      }
      const joined = this.joins.addPrediction(p.event_id, {
        score: p.score,
        threshold: p.threshold,
        eventTime: p.event_time,
        version: p.model_version,
      });
      if (joined) this.addLabelled(w, joined, out);
      row[0] = p.score;
      for (const closed of this.scoreWindow.add(p.event_time, row)) {
        const evaluation = this.evaluateScore(w, closed);
        if (evaluation) out.push(evaluation);
      }
    }
    return out;
  }

  /** Adds labels; returns an evaluation per quality window whose detector fired. */
  addLabels(labels: Label[]): Evaluation[] {
    const out: Evaluation[] = [];
    const w = this.watched;
    for (const l of labels) {
      const joined = this.joins.addLabel(l.event_id, l.is_fraud, l.label_time);
      if (joined && w) this.addLabelled(w, joined, out);
    }
    this.joins.expire(this.newestEventTime);
    return out;
  }

  private evaluateFeatures(w: WatchedVersion, window: ClosedWindow): Evaluation {
    this.windowsEvaluated.features++;
    const readings: DetectorReading[] = [];
    const features: FeatureDrift[] = w.features.map(({ histogram, calibrations }, f) => {
      const values = window.columns[f];
      const counts = binCounts(histogram.bin_edges, values);
      const psi = psiFromCounts(histogram.counts, counts);
      const present = values.filter((x) => !Number.isNaN(x));
      const ks = present.length > 0 ? ksAgainstHistogram(histogram, present) : null;
      const chi2 = chiSquaredIndependence([histogram.counts, counts]).statistic;
      const calibration = calibrations.for(window.count);
      if (calibration) {
        readings.push({
          detector: `psi:${histogram.name}`,
          feature: histogram.name,
          statistic: 'psi',
          value: psi,
          threshold: calibration.threshold,
        });
      }
      return {
        feature: histogram.name,
        psi,
        ks_statistic: ks?.statistic ?? 0,
        ks_p_value: ks?.pValue ?? null,
        chi2,
        js: jensenShannonDistance(histogram.counts, counts),
        drifted: calibration !== undefined && psi > calibration.threshold,
      };
    });
    const report: DriftReport = {
      report_id: randomUUID(),
      model_name: this.options.modelName,
      model_version: w.version,
      window: { start: window.start, end: window.end, samples: window.count },
      features,
      score: this.scoreDrift(w),
      quality: this.quality(),
      emitted_at: Date.now(),
    };
    this.current = report;
    return { report, retrain: this.decide('features', w, window, readings) };
  }

  private evaluateScore(w: WatchedVersion, window: ClosedWindow): Evaluation | null {
    this.windowsEvaluated.score++;
    const scores = window.columns[0];
    const { histogram, calibrations } = w.score;
    const calibration = calibrations.for(window.count);
    const counts = binCounts(histogram.bin_edges, scores);
    const grouped = windowStatistic('ks', histogram.counts, counts);
    const ks = ksAgainstHistogram(histogram, scores);
    const drift: ScoreDrift = {
      psi: psiFromCounts(histogram.counts, counts),
      ks_statistic: ks.statistic,
      ks_p_value: ks.pValue,
      drifted: calibration !== undefined && grouped > calibration.threshold,
    };
    this.lastScoreDrift = drift;
    const readings: DetectorReading[] = calibration
      ? [{ detector: 'ks:score', feature: null, statistic: 'ks', value: grouped, threshold: calibration.threshold }]
      : [];
    const retrain = this.decide('score', w, window, readings);
    return retrain ? { report: this.reportWith(w, window, { score: drift }), retrain } : null;
  }

  /** Every qualityWindow-th labelled sample closes a quality window (the newest qualityWindow samples). */
  private addLabelled(w: WatchedVersion, sample: LabelledSample, out: Evaluation[]): void {
    if (sample.version !== w.version) return;
    this.labelled.add(sample);
    if (++this.labelledSinceEvaluation < this.options.qualityWindow) return;
    this.labelledSinceEvaluation = 0;
    this.windowsEvaluated.quality++;
    const quality = this.quality();
    let start = Number.POSITIVE_INFINITY;
    let end = Number.NEGATIVE_INFINITY;
    for (const s of this.labelled.values()) {
      if (s.eventTime < start) start = s.eventTime;
      if (s.eventTime > end) end = s.eventTime;
    }
    const positives = quality?.positives ?? 0;
    const negatives = this.labelled.length - positives;
    const judged =
      w.quality !== null &&
      quality?.auc != null &&
      Math.min(positives, negatives) >= this.options.qualityMinClassSamples;
    const readings: DetectorReading[] = [];
    if (judged && w.quality && quality?.auc != null) {
      readings.push({
        detector: 'auc:quality',
        feature: null,
        statistic: 'auc',
        value: quality.auc,
        threshold: qualityThreshold({
          holdoutAuc: w.quality.holdoutAuc,
          margin: this.options.qualityMargin,
          windowAlpha: w.quality.windowAlpha,
          positives,
          negatives,
        }),
        direction: 'below',
      });
    }
    const window: ClosedWindow = {
      columns: [],
      // a window without enough of both classes is never judged (the trigger's minimum-sample guard)
      count: judged ? this.labelled.length : 0,
      start,
      end,
      closedBy: 'count',
    };
    const retrain = this.decide('quality', w, window, readings);
    if (retrain) {
      out.push({
        report: this.reportWith(w, { ...window, count: this.labelled.length }, {}),
        retrain,
      });
    }
  }

  /** A report for a score or quality window that fired (the newest feature report with this window's data). */
  private reportWith(w: WatchedVersion, window: ClosedWindow, over: Partial<DriftReport>): DriftReport {
    const report: DriftReport = {
      model_name: this.options.modelName,
      model_version: w.version,
      features: [],
      ...this.current,
      score: this.scoreDrift(w),
      quality: this.quality(),
      ...over,
      report_id: randomUUID(),
      window: { start: window.start, end: window.end, samples: window.count },
      emitted_at: Date.now(),
    };
    this.current = report;
    return report;
  }

  /** The newest closed score window's drift, else the open one's (reported, never triggering). */
  private scoreDrift(w: WatchedVersion): ScoreDrift {
    if (this.lastScoreDrift) return this.lastScoreDrift;
    const partial = this.scoreWindow?.peek();
    if (!partial) return { psi: 0, ks_statistic: 0, ks_p_value: null, drifted: false };
    const scores = partial.columns[0].subarray(0, partial.count);
    const ks = ksAgainstHistogram(w.score.histogram, scores);
    return {
      psi: psiFromCounts(w.score.histogram.counts, binCounts(w.score.histogram.bin_edges, scores)),
      ks_statistic: ks.statistic,
      ks_p_value: ks.pValue,
      drifted: false,
    };
  }

  private quality(): Quality | null {
    const n = this.labelled.length;
    if (n === 0) return null;
    const samples = this.labelled.values();
    const scores = samples.map((x) => x.score);
    const labels = samples.map((x) => x.label);
    const threshold = this.labelled.newest?.threshold ?? 0.5;
    const pr = precisionRecallAt(scores, labels, threshold);
    return {
      auc: auc(scores, labels),
      precision: pr.precision,
      recall: pr.recall,
      ece: expectedCalibrationError(scores, labels, 10),
      labelled_samples: n,
      positives: pr.tp + pr.fn,
    };
  }

  private decide(
    kind: DetectorKind,
    w: WatchedVersion,
    window: ClosedWindow,
    readings: DetectorReading[],
  ): RetrainRequested | null {
    const decision = this.triggers[kind].observe({
      start: window.start,
      end: window.end,
      samples: window.count,
      readings,
    });
    if (!decision.fired) return null;
    const evidence: Evidence[] = decision.evidence.map((e) => ({
      detector: e.detector,
      feature: e.feature,
      statistic: e.statistic,
      value: e.value,
      threshold: e.threshold,
      window_start: e.window_start,
      window_end: e.window_end,
      samples: e.samples * e.run,
    }));
    const reason: RetrainReason = kind === 'quality' ? 'QUALITY' : 'DRIFT';
    return {
      request_id: randomUUID(),
      model_name: this.options.modelName,
      model_version: w.version,
      requested_at: Date.now(),
      requested_by: 'monitor',
      reason,
      evidence,
    };
  }

  private observeTime(t: number): void {
    if (this.promotionCooldownPending) {
      this.promotionCooldownPending = false;
      this.startPromotionCooldown(t);
    }
    if (t > this.newestEventTime) this.newestEventTime = t;
  }

  private startPromotionCooldown(at: number): void {
    for (const kind of KINDS) this.triggers[kind].reset(at, this.options.promotionCooldownMs);
  }

  private newTriggers(): Record<DetectorKind, DriftTrigger> {
    const make = () =>
      new DriftTrigger({
        consecutive: this.options.consecutive,
        minSamples: this.options.minSamples,
        cooldownMs: this.options.cooldownMs,
      });
    return { features: make(), score: make(), quality: make() };
  }

  private newJoin(): LabelJoin {
    return new LabelJoin({ horizonMs: this.options.labelHorizonMs, maxPending: this.options.maxPendingJoins });
  }
}
