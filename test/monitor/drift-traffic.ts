import type { Baseline, FeatureVector, Label, Prediction } from '@flywheel/contracts';
import { auc, quantileHistogram, seededRandom } from '@flywheel/ml';

/**
 * Synthetic monitored traffic for the drift tests and the drift benchmark: feature vectors, the scores of a
 * fixed model and delayed labels, stationary or drifting after a switch. One generator for the 100k
 * stationary run against the monitor process and for the in-process scenario simulations, so both judge the
 * same data.
 *
 * The model is known exactly: score = σ(logit(x)) and, while stationary, fraud ~ Bernoulli(score), so the
 * model is calibrated and its AUC on any stationary sample is the "holdout AUC" up to sampling error.
 */
export const DRIFT_FEATURES = ['amount_z', 'txn_count_1h', 'distance_km', 'is_foreign', 'account_age_days'] as const;
export const DRIFT_MODEL = 'payments-fraud';
export const DRIFT_FEATURE_SET_VERSION = 'drift-1';

export type Scenario = 'stationary' | 'sudden-shift' | 'gradual-shift' | 'concept-drift';

export interface ScenarioOptions {
  scenario: Scenario;
  /** Events before the switch (stationary in every scenario). */
  switchAt: number;
  /** Gradual shift: events over which the shift ramps from 0 to full. */
  rampEvents?: number;
  /** Size of the covariate shift of amount_z, in standard deviations (default 0.5). */
  shift?: number;
}

export interface TrafficRow {
  features: Record<string, number>;
  score: number;
  fraud: boolean;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** The model's logit: fraud is likelier for large, frequent, foreign payments on young accounts. */
function modelLogit(f: Record<string, number>): number {
  return (
    -4.2 +
    0.9 * f.amount_z +
    0.25 * f.txn_count_1h +
    1.0 * f.is_foreign +
    (f.account_age_days < 60 ? 1.5 : 0) +
    0.002 * f.distance_km
  );
}

/** After a concept drift fraud follows another pattern (distance and card testing), same base rate, same inputs. */
function conceptLogit(f: Record<string, number>): number {
  return -3.6 + 0.012 * f.distance_km + 0.5 * Math.max(0, 2 - f.amount_z) * (f.txn_count_1h > 3 ? 1 : 0);
}

/** A seeded row generator: `next(i)` is the i-th event's row under the scenario. */
export function trafficRows(seed: number, options: ScenarioOptions = { scenario: 'stationary', switchAt: 0 }) {
  const random = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const fullShift = options.shift ?? 0.5;
  return (i: number): TrafficRow => {
    const after = options.scenario !== 'stationary' && i >= options.switchAt;
    let shift = 0;
    if (after && options.scenario === 'sudden-shift') shift = fullShift;
    if (after && options.scenario === 'gradual-shift') {
      shift = fullShift * Math.min(1, (i - options.switchAt + 1) / (options.rampEvents ?? 20_000));
    }
    const features: Record<string, number> = {
      amount_z: normal() + shift,
      txn_count_1h: Math.floor(Math.exp(0.8 + 0.6 * normal())),
      distance_km: Math.round(Math.exp(3 + normal()) * 10) / 10,
      is_foreign: random() < 0.15 ? 1 : 0,
      account_age_days: Math.floor(random() * 3000),
    };
    const score = sigmoid(modelLogit(features));
    const truth = after && options.scenario === 'concept-drift' ? sigmoid(conceptLogit(features)) : score;
    return { features, score, fraud: random() < truth };
  };
}

/** What a trainer would have stored for the model: baseline histograms and the holdout AUC. */
export function trainedFacts(
  seed = 1,
  trainRows = 20_000,
  holdoutRows = 5_000,
): {
  baseline: Baseline;
  metrics: { auc: number };
} {
  const train = trafficRows(seed);
  const rows = Array.from({ length: trainRows }, (_, i) => train(i));
  const holdoutOf = trafficRows(seed + 1);
  const holdout = Array.from({ length: holdoutRows }, (_, i) => holdoutOf(i));
  return {
    baseline: {
      features: DRIFT_FEATURES.map((name) =>
        quantileHistogram(
          name,
          rows.map((r) => r.features[name]),
          10,
        ),
      ),
      // the contract's score baseline: the model's scores on the holdout
      score: quantileHistogram(
        'score',
        holdout.map((r) => r.score),
        10,
      ),
    },
    metrics: {
      auc: auc(
        holdout.map((r) => r.score),
        holdout.map((r) => r.fraud),
      ) as number,
    },
  };
}

/** The messages of one event: its feature vector, the model's prediction, and its label (arriving later). */
export function trafficMessages(
  row: TrafficRow,
  i: number,
  eventTime: number,
  runId: string,
): { vector: FeatureVector; prediction: Prediction; label: Label } {
  const event_id = `${runId}-${i}`;
  const entity = `acct-${i % 997}`;
  return {
    vector: {
      event_id,
      entity,
      event_time: eventTime,
      feature_set: 'payments',
      feature_set_version: DRIFT_FEATURE_SET_VERSION,
      features: row.features,
    },
    prediction: {
      event_id,
      entity,
      event_time: eventTime,
      scored_time: eventTime + 5,
      score: row.score,
      decision: row.score >= 0.5 ? 'DECLINE' : 'APPROVE',
      threshold: 0.5,
      review_threshold: null,
      model_name: DRIFT_MODEL,
      model_version: 1,
      feature_set_version: DRIFT_FEATURE_SET_VERSION,
      latency_ms: 5,
      instance: 'drift-traffic',
    },
    label: {
      event_id,
      account_id: entity,
      is_fraud: row.fraud,
      label_time: eventTime + 60_000,
      source: 'drift-traffic',
      reason: null,
    },
  };
}
