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
  RetrainRequested,
  ScoreDrift,
} from '@flywheel/contracts';
import {
  auc,
  binCounts,
  type Calibration,
  calibrateThreshold,
  chiSquaredIndependence,
  type DetectorReading,
  DriftTrigger,
  expectedCalibrationError,
  jensenShannonDistance,
  ksAgainstHistogram,
  precisionRecallAt,
  psiFromCounts,
  windowStatistic,
} from '@flywheel/ml';

export interface DriftMonitorOptions {
  modelName: string;
  /** Samples per window (tumbling, by count), for feature vectors and scores alike. */
  windowSize: number;
  /** Expected samples between false retrain requests on stationary data, for the whole family of detectors. */
  ertSamples: number;
  /** Consecutive drifted windows of one detector before a request (hysteresis). */
  consecutive: number;
  /** Windows with fewer samples never count towards a request (all count windows are full; a guard). */
  minSamples: number;
  /** No second request within this long (event time) after a request or a promotion. */
  cooldownMs: number;
  /** No request within this long (event time) after the watched version's promotion. */
  promotionCooldownMs: number;
  /** Labelled predictions kept for live quality (the most recent ones). */
  qualityWindow: number;
  /** A prediction waits this long (event time) for its label, and a label for its prediction. */
  labelHorizonMs: number;
  /** Upper bound on predictions/labels waiting to be joined (oldest dropped first). */
  maxPendingJoins: number;
  calibrationSeed?: number;
  /** Override the simulation count of the threshold calibration (default: see calibrateThreshold). */
  simulations?: number;
}

/** The Production version being watched, with one calibrated detector per feature and one for the score. */
export interface WatchedVersion {
  version: number;
  featureSetVersion: string;
  baseline: Baseline;
  /** PSI detectors per feature. */
  features: { histogram: Histogram; calibration: Calibration }[];
  /** Grouped-KS detector on the score. */
  score: { histogram: Histogram; calibration: Calibration };
}

interface WindowBuffer {
  values: Float64Array[];
  count: number;
  start: number;
  end: number;
}

interface JoinedPrediction {
  score: number;
  threshold: number;
  eventTime: number;
}

export interface Evaluation {
  report: DriftReport;
  retrain: RetrainRequested | null;
}

export const SCORE_DETECTOR = 'score';

/**
 * The monitor's state machine, without Kafka: windows of live feature values and scores for the Production
 * version, drift statistics against its baseline, label join for live quality, and the calibrated trigger.
 *
 * Join choice: predictions do not carry features, so feature vectors are windowed on their own, keeping only
 * those whose feature_set_version is the watched version's (what that version scores); scores come from
 * predictions of the watched version. Labels join predictions by event_id within `labelHorizonMs`.
 */
export class DriftMonitor {
  private watched?: WatchedVersion;
  private trigger: DriftTrigger;
  private featureWindow?: WindowBuffer;
  private scoreWindow?: WindowBuffer;
  private lastScoreDrift?: { drift: ScoreDrift; samples: number };
  private readonly predictions = new Map<string, JoinedPrediction>();
  private readonly pendingLabels = new Map<string, { isFraud: boolean; eventTime: number }>();
  private readonly labelled: { score: number; label: boolean; threshold: number }[] = [];
  private newestEventTime = 0;
  private current?: DriftReport;
  readonly counters = { vectorsSkipped: 0, predictionsSkipped: 0, labelsJoined: 0, joinsExpired: 0 };

  constructor(private readonly options: DriftMonitorOptions) {
    this.trigger = this.newTrigger();
  }

  get version(): WatchedVersion | undefined {
    return this.watched;
  }

  get report(): DriftReport | undefined {
    return this.current;
  }

  get windowFill(): { features: number; scores: number; labelled: number } {
    return {
      features: this.featureWindow?.count ?? 0,
      scores: this.scoreWindow?.count ?? 0,
      labelled: this.labelled.length,
    };
  }

  /**
   * Starts watching a (newly promoted) version: calibrates one detector per baseline feature plus the score,
   * each for ertSamples × detectors (so the family's false-alarm rate is the configured one), resets windows
   * and starts the post-promotion cooldown from `promotedAt` (the lifecycle event's time, so a restart
   * does not restart it).
   */
  watch(version: number, featureSetVersion: string, baseline: Baseline, promotedAt: number): WatchedVersion {
    const detectors = baseline.features.length + 1;
    const calibrate = (histogram: Histogram, statistic: 'psi' | 'ks', i: number) =>
      calibrateThreshold(histogram, {
        statistic,
        windowSize: this.options.windowSize,
        ertSamples: this.options.ertSamples * detectors,
        consecutive: this.options.consecutive,
        seed: (this.options.calibrationSeed ?? 17) + i,
        simulations: this.options.simulations,
      });
    this.watched = {
      version,
      featureSetVersion,
      baseline,
      features: baseline.features.map((h, i) => ({ histogram: h, calibration: calibrate(h, 'psi', i) })),
      score: { histogram: baseline.score, calibration: calibrate(baseline.score, 'ks', detectors) },
    };
    this.featureWindow = undefined;
    this.scoreWindow = undefined;
    this.lastScoreDrift = undefined;
    this.labelled.length = 0;
    this.current = undefined;
    this.trigger = this.newTrigger();
    this.trigger.reset(promotedAt, this.options.promotionCooldownMs);
    return this.watched;
  }

  /** Adds feature vectors; returns an evaluation per completed feature window. */
  addVectors(vectors: FeatureVector[]): Evaluation[] {
    const w = this.watched;
    const out: Evaluation[] = [];
    if (!w) {
      this.counters.vectorsSkipped += vectors.length;
      return out;
    }
    for (const v of vectors) {
      if (v.feature_set_version !== w.featureSetVersion) {
        this.counters.vectorsSkipped++;
        continue;
      }
      this.observeTime(v.event_time);
      if (!this.featureWindow) this.featureWindow = this.newBuffer(w.features.length, v.event_time);
      const buffer = this.featureWindow;
      for (let f = 0; f < w.features.length; f++) {
        const value = v.features[w.features[f].histogram.name];
        buffer.values[f][buffer.count] = value === undefined ? Number.NaN : value;
      }
      buffer.count++;
      buffer.end = Math.max(buffer.end, v.event_time);
      buffer.start = Math.min(buffer.start, v.event_time);
      if (buffer.count === this.options.windowSize) {
        this.featureWindow = undefined;
        out.push(this.evaluateFeatures(w, buffer));
      }
    }
    return out;
  }

  /** Adds predictions: scores of the watched version go to the score window; all wait for their label. */
  addPredictions(predictions: Prediction[]): Evaluation[] {
    const out: Evaluation[] = [];
    for (const p of predictions) {
      this.observeTime(p.event_time);
      const w = this.watched;
      if (!w || p.model_name !== this.options.modelName || p.model_version !== w.version) {
        this.counters.predictionsSkipped++;
        continue;
      }
      const pending = this.pendingLabels.get(p.event_id);
      if (pending) {
        this.pendingLabels.delete(p.event_id);
        this.addLabelled(p.score, pending.isFraud, p.threshold);
      } else {
        this.remember(this.predictions, p.event_id, {
          score: p.score,
          threshold: p.threshold,
          eventTime: p.event_time,
        });
      }
      if (!this.scoreWindow) this.scoreWindow = this.newBuffer(1, p.event_time);
      const buffer = this.scoreWindow;
      buffer.values[0][buffer.count++] = p.score;
      buffer.end = Math.max(buffer.end, p.event_time);
      buffer.start = Math.min(buffer.start, p.event_time);
      if (buffer.count === this.options.windowSize) {
        this.scoreWindow = undefined;
        const evaluation = this.evaluateScore(w, buffer);
        if (evaluation) out.push(evaluation);
      }
    }
    return out;
  }

  addLabels(labels: Label[]): void {
    for (const l of labels) {
      const p = this.predictions.get(l.event_id);
      if (p) {
        this.predictions.delete(l.event_id);
        this.addLabelled(p.score, l.is_fraud, p.threshold);
      } else {
        this.remember(this.pendingLabels, l.event_id, { isFraud: l.is_fraud, eventTime: l.label_time });
      }
    }
    this.expire();
  }

  private evaluateFeatures(w: WatchedVersion, buffer: WindowBuffer): Evaluation {
    const readings: DetectorReading[] = [];
    const features: FeatureDrift[] = w.features.map(({ histogram, calibration }, f) => {
      const values = buffer.values[f].subarray(0, buffer.count);
      const counts = binCounts(histogram.bin_edges, values);
      const psi = psiFromCounts(histogram.counts, counts);
      const present = Array.from(values).filter((x) => !Number.isNaN(x));
      const ks = present.length > 0 ? ksAgainstHistogram(histogram, present) : null;
      const chi2 = chiSquaredIndependence([histogram.counts, counts]).statistic;
      readings.push({
        detector: `psi:${histogram.name}`,
        feature: histogram.name,
        statistic: 'psi',
        value: psi,
        threshold: calibration.threshold,
      });
      return {
        feature: histogram.name,
        psi,
        ks_statistic: ks?.statistic ?? 0,
        ks_p_value: ks?.pValue ?? null,
        chi2,
        js: jensenShannonDistance(histogram.counts, counts),
        drifted: psi > calibration.threshold,
      };
    });
    const score = this.scoreDrift(w);
    const report: DriftReport = {
      report_id: randomUUID(),
      model_name: this.options.modelName,
      model_version: w.version,
      window: { start: buffer.start, end: buffer.end, samples: buffer.count },
      features,
      score,
      quality: this.quality(),
      emitted_at: Date.now(),
    };
    this.current = report;
    return { report, retrain: this.decide(w, buffer, readings) };
  }

  private evaluateScore(w: WatchedVersion, buffer: WindowBuffer): Evaluation | null {
    const scores = buffer.values[0].subarray(0, buffer.count);
    const { histogram, calibration } = w.score;
    const counts = binCounts(histogram.bin_edges, scores);
    const grouped = windowStatistic('ks', histogram.counts, counts);
    const ks = ksAgainstHistogram(histogram, scores);
    const drift: ScoreDrift = {
      psi: psiFromCounts(histogram.counts, counts),
      ks_statistic: ks.statistic,
      ks_p_value: ks.pValue,
      drifted: grouped > calibration.threshold,
    };
    this.lastScoreDrift = { drift, samples: buffer.count };
    const retrain = this.decide(w, buffer, [
      { detector: 'ks:score', feature: null, statistic: 'ks', value: grouped, threshold: calibration.threshold },
    ]);
    if (!retrain) return null;
    const report: DriftReport = {
      ...(this.current ?? {
        report_id: randomUUID(),
        model_name: this.options.modelName,
        model_version: w.version,
        features: [],
        quality: this.quality(),
      }),
      report_id: randomUUID(),
      window: { start: buffer.start, end: buffer.end, samples: buffer.count },
      score: drift,
      emitted_at: Date.now(),
    };
    this.current = report;
    return { report, retrain };
  }

  /** The newest complete score window's drift, else the current partial one's (reported, never triggering). */
  private scoreDrift(w: WatchedVersion): ScoreDrift {
    if (this.lastScoreDrift) return this.lastScoreDrift.drift;
    const partial = this.scoreWindow;
    if (!partial || partial.count === 0) return { psi: 0, ks_statistic: 0, ks_p_value: null, drifted: false };
    const scores = partial.values[0].subarray(0, partial.count);
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
    const scores = this.labelled.map((x) => x.score);
    const labels = this.labelled.map((x) => x.label);
    const threshold = this.labelled[n - 1].threshold;
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

  private decide(w: WatchedVersion, buffer: WindowBuffer, readings: DetectorReading[]): RetrainRequested | null {
    const decision = this.trigger.observe({ start: buffer.start, end: buffer.end, samples: buffer.count, readings });
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
    return {
      request_id: randomUUID(),
      model_name: this.options.modelName,
      model_version: w.version,
      requested_at: Date.now(),
      requested_by: 'monitor',
      reason: 'DRIFT',
      evidence,
    };
  }

  private addLabelled(score: number, label: boolean, threshold: number): void {
    this.counters.labelsJoined++;
    this.labelled.push({ score, label, threshold });
    if (this.labelled.length > this.options.qualityWindow)
      this.labelled.splice(0, this.labelled.length - this.options.qualityWindow);
  }

  private remember<V extends { eventTime: number }>(map: Map<string, V>, key: string, value: V): void {
    map.set(key, value);
    while (map.size > this.options.maxPendingJoins) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
      this.counters.joinsExpired++;
    }
  }

  /** Drops joins older than the horizon (maps iterate in insertion order, roughly event-time order). */
  private expire(): void {
    const limit = this.newestEventTime - this.options.labelHorizonMs;
    for (const map of [this.predictions, this.pendingLabels] as Map<string, { eventTime: number }>[]) {
      for (const [key, value] of map) {
        if (value.eventTime >= limit) break;
        map.delete(key);
        this.counters.joinsExpired++;
      }
    }
  }

  private observeTime(t: number): void {
    if (t > this.newestEventTime) this.newestEventTime = t;
  }

  private newBuffer(columns: number, t: number): WindowBuffer {
    return {
      values: Array.from({ length: columns }, () => new Float64Array(this.options.windowSize)),
      count: 0,
      start: t,
      end: t,
    };
  }

  private newTrigger(): DriftTrigger {
    return new DriftTrigger({
      consecutive: this.options.consecutive,
      minSamples: this.options.minSamples,
      cooldownMs: this.options.cooldownMs,
    });
  }
}
