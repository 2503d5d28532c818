import * as tf from '@tensorflow/tfjs';
import { type FeatureSpec, fitFeatureSpec, toTensor } from './features';

/** Layer widths of the fraud model: input → Dense(32, relu) → Dense(16, relu) → Dense(1, sigmoid). */
export const FRAUD_MODEL_UNITS = [32, 16] as const;

/**
 * The fraud-scoring network: a small dense classifier over standardised features whose output is the
 * probability of fraud. Initialisers are seeded so a given seed always starts from the same weights.
 */
export function buildFraudModel(inputFeatures: number, seed = 42): tf.Sequential {
  if (!Number.isInteger(inputFeatures) || inputFeatures < 1)
    throw new Error('inputFeatures must be a positive integer');
  const model = tf.sequential({ name: 'fraud_dense' });
  FRAUD_MODEL_UNITS.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        ...(i === 0 ? { inputShape: [inputFeatures] } : {}),
        units,
        activation: 'relu',
        kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }),
        biasInitializer: 'zeros',
        name: `dense_${i + 1}`,
      }),
    );
  });
  model.add(
    tf.layers.dense({
      units: 1,
      activation: 'sigmoid',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + FRAUD_MODEL_UNITS.length }),
      biasInitializer: 'zeros',
      name: 'score',
    }),
  );
  return model;
}

export interface TrainingData {
  rows: readonly Record<string, number>[];
  /** 0/1 per row (1 = fraud). */
  labels: readonly number[];
}

export interface TrainOptions {
  featureNames: readonly string[];
  seed?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Fit the standardisation here instead of on `data` (e.g. reuse a parent's). */
  featureSpec?: FeatureSpec;
}

export interface TrainedModel {
  model: tf.LayersModel;
  spec: FeatureSpec;
  /** Training loss per epoch. */
  losses: number[];
}

/**
 * Trains the fraud model deterministically: seeded initialisers, and a seeded (mulberry32) shuffle of the
 * rows each epoch instead of tfjs's Math.random shuffle. Same data + same seed + same backend → same weights.
 */
export async function trainFraudModel(data: TrainingData, options: TrainOptions): Promise<TrainedModel> {
  if (data.rows.length !== data.labels.length) throw new Error('rows and labels differ in length');
  if (data.rows.length === 0) throw new Error('no training rows');
  const seed = options.seed ?? 42;
  const epochs = options.epochs ?? 10;
  const batchSize = options.batchSize ?? 64;
  const spec = options.featureSpec ?? fitFeatureSpec(data.rows, options.featureNames);
  const model = buildFraudModel(spec.feature_names.length, seed);
  model.compile({ optimizer: tf.train.adam(options.learningRate ?? 0.01), loss: 'binaryCrossentropy' });

  const x = toTensor(data.rows, spec);
  const y = tf.tensor2d(Float32Array.from(data.labels), [data.labels.length, 1]);
  const random = mulberry32(seed);
  const losses: number[] = [];
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = tf.tensor1d(permutation(data.rows.length, random), 'int32');
      const [xs, ys] = tf.tidy(() => [x.gather(order), y.gather(order)]);
      order.dispose();
      try {
        const history = await model.fit(xs, ys, { epochs: 1, batchSize, shuffle: false, verbose: 0 });
        losses.push(Number(history.history.loss[0]));
      } finally {
        xs.dispose();
        ys.dispose();
      }
    }
  } finally {
    x.dispose();
    y.dispose();
  }
  return { model, spec, losses };
}

/** Deterministic PRNG in [0, 1) (mulberry32): seeded shuffles and synthetic data. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function permutation(n: number, random: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
