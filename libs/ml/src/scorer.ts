import type { Decision } from '@flywheel/contracts';
import * as tf from '@tensorflow/tfjs';
import type { LoadedBundle } from './bundle';
import { type FeatureSpec, vectorizeBatch } from './features';

/**
 * The one place scores are computed, for stream and request-response alike: rows → one standardised
 * [n, k] tensor → predict → Float32Array, with every intermediate tensor disposed (tf.tidy).
 */
export class Scorer {
  constructor(
    readonly model: tf.LayersModel,
    readonly spec: FeatureSpec,
  ) {}

  static fromBundle(bundle: LoadedBundle): Scorer {
    return new Scorer(bundle.model, bundle.spec);
  }

  /** Scores rows in one tensor (one micro-batch). Throws FeatureVectorError when a row is unusable. */
  score(rows: readonly Record<string, number>[]): Float32Array {
    if (rows.length === 0) return new Float32Array(0);
    return this.scoreMatrix(vectorizeBatch(rows, this.spec), rows.length);
  }

  /** Scores an already vectorised row-major [n, k] matrix. */
  scoreMatrix(matrix: Float32Array, n: number): Float32Array {
    const k = this.spec.feature_names.length;
    return tf.tidy(() => {
      // batchSize n: LayersModel.predict otherwise slices the input into 32-row batches and concatenates,
      // which costs 4x at 256 rows and 13x at 1,024 on the wasm backend (measured): one pass per micro-batch.
      const output = this.model.predict(tf.tensor2d(matrix, [n, k], 'float32'), { batchSize: n }) as tf.Tensor;
      // copy: the backend may hand out a view of memory it reuses
      return Float32Array.from(output.dataSync() as Float32Array);
    });
  }

  /** One predict on zeros, so the first real batch does not pay for kernel compilation and allocation. */
  warmUp(): void {
    this.scoreMatrix(new Float32Array(this.spec.feature_names.length), 1);
  }

  dispose(): void {
    this.model.dispose();
  }
}

export interface Thresholds {
  threshold: number;
  review_threshold?: number | null;
}

/** DECLINE at or above threshold, REVIEW at or above review_threshold (when set), else APPROVE. */
export function decide(score: number, thresholds: Thresholds): Decision {
  if (score >= thresholds.threshold) return 'DECLINE';
  const review = thresholds.review_threshold;
  if (review !== undefined && review !== null && score >= review) return 'REVIEW';
  return 'APPROVE';
}
