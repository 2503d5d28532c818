import * as tf from '@tensorflow/tfjs';

/**
 * How raw features become model input: which features, in which order, and the standardisation fitted on
 * the training data. Travels inside the model bundle, so serving uses exactly what training used.
 */
export interface FeatureSpec {
  feature_names: string[];
  means: number[];
  stds: number[];
}

/** A feature vector the model cannot use: names what is missing or not a finite number. */
export class FeatureVectorError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly nonFinite: string[],
  ) {
    super(message);
    this.name = 'FeatureVectorError';
  }
}

/** Smallest std used when standardising: a constant feature is centred, not divided by zero. */
const MIN_STD = 1e-12;

/** Fits means and (population) standard deviations of each named feature over the training rows. */
export function fitFeatureSpec(rows: readonly Record<string, number>[], featureNames: readonly string[]): FeatureSpec {
  if (rows.length === 0) throw new Error('cannot fit a feature spec on zero rows');
  if (featureNames.length === 0) throw new Error('a feature spec needs at least one feature');
  const k = featureNames.length;
  const sums = new Float64Array(k);
  const squares = new Float64Array(k);
  for (const row of rows) {
    const v = checked(row, featureNames);
    for (let j = 0; j < k; j++) {
      sums[j] += v[j];
      squares[j] += v[j] * v[j];
    }
  }
  const means = Array.from(sums, (s) => s / rows.length);
  const stds = means.map((m, j) => {
    const variance = Math.max(0, squares[j] / rows.length - m * m);
    const std = Math.sqrt(variance);
    return std > MIN_STD ? std : 1;
  });
  return { feature_names: [...featureNames], means, stds };
}

/** One row of model input: the spec's features in its order, standardised. Throws FeatureVectorError. */
export function vectorize(features: Record<string, number>, spec: FeatureSpec): Float32Array {
  const out = new Float32Array(spec.feature_names.length);
  vectorizeInto(features, spec, out, 0);
  return out;
}

/** vectorize() into `out` at row `row`, so a micro-batch is one allocation. */
export function vectorizeInto(
  features: Record<string, number>,
  spec: FeatureSpec,
  out: Float32Array,
  row: number,
): void {
  const names = spec.feature_names;
  const k = names.length;
  const base = row * k;
  for (let j = 0; j < k; j++) {
    const value = features[names[j]];
    if (typeof value !== 'number' || !Number.isFinite(value)) throw vectorError(features, names);
    out[base + j] = standardized(value, spec, j);
  }
}

/**
 * vectorizeInto() for a row whose raw values already stand in the spec's feature order (a column store,
 * the batch scorer's reads): same standardisation, no object per row. Returns false, leaving the row
 * unusable, when a value is missing (NaN) or not finite.
 */
export function standardizeInto(values: ArrayLike<number>, spec: FeatureSpec, out: Float32Array, row: number): boolean {
  const k = spec.feature_names.length;
  if (values.length !== k) throw new Error(`row has ${values.length} values, the feature spec ${k}`);
  const base = row * k;
  for (let j = 0; j < k; j++) {
    const value = values[j];
    if (!Number.isFinite(value)) return false;
    out[base + j] = standardized(value, spec, j);
  }
  return true;
}

/** THE standardisation (training fits means/stds, every serving mode applies them here). */
function standardized(value: number, spec: FeatureSpec, j: number): number {
  return (value - spec.means[j]) / spec.stds[j];
}

/** Rows → one [n, k] float32 matrix (row-major), standardised. Throws FeatureVectorError on the first bad row. */
export function vectorizeBatch(rows: readonly Record<string, number>[], spec: FeatureSpec): Float32Array {
  const out = new Float32Array(rows.length * spec.feature_names.length);
  for (let i = 0; i < rows.length; i++) vectorizeInto(rows[i], spec, out, i);
  return out;
}

/** Rows → one tf.Tensor2D [n, k]. The caller owns (disposes) it, or builds it inside tf.tidy. */
export function toTensor(rows: readonly Record<string, number>[], spec: FeatureSpec): tf.Tensor2D {
  return tf.tensor2d(vectorizeBatch(rows, spec), [rows.length, spec.feature_names.length], 'float32');
}

/** Names of the spec's features that `features` lacks or holds as a non-finite value (empty when usable). */
export function invalidFeatures(features: Record<string, number>, spec: FeatureSpec): string[] {
  return spec.feature_names.filter((name) => {
    const value = features[name];
    return typeof value !== 'number' || !Number.isFinite(value);
  });
}

export function validateFeatureSpec(spec: FeatureSpec): void {
  const k = spec.feature_names.length;
  if (k === 0) throw new Error('feature spec has no features');
  if (spec.means.length !== k || spec.stds.length !== k) {
    throw new Error(`feature spec has ${k} names but ${spec.means.length} means and ${spec.stds.length} stds`);
  }
  if (new Set(spec.feature_names).size !== k) throw new Error('feature spec names a feature twice');
  if (![...spec.means, ...spec.stds].every(Number.isFinite) || spec.stds.some((s) => s <= 0)) {
    throw new Error('feature spec means/stds must be finite, stds > 0');
  }
}

function checked(row: Record<string, number>, names: readonly string[]): number[] {
  const values = names.map((n) => row[n]);
  if (values.every((v) => typeof v === 'number' && Number.isFinite(v))) return values;
  throw vectorError(row, names);
}

function vectorError(features: Record<string, number>, names: readonly string[]): FeatureVectorError {
  const missing = names.filter((n) => !(n in features) || typeof features[n] !== 'number');
  const nonFinite = names.filter((n) => typeof features[n] === 'number' && !Number.isFinite(features[n]));
  const parts = [
    missing.length > 0 ? `missing ${missing.join(', ')}` : '',
    nonFinite.length > 0 ? `not finite ${nonFinite.map((n) => `${n}=${features[n]}`).join(', ')}` : '',
  ].filter(Boolean);
  return new FeatureVectorError(`feature vector unusable: ${parts.join('; ')}`, missing, nonFinite);
}
