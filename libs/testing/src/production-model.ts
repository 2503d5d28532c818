import { randomUUID } from 'node:crypto';
import { paymentsFraud } from '@flywheel/features';
import { initBackend, quantileHistogram, serializeBundle, trainFraudModel } from '@flywheel/ml';

export interface ProductionModelOptions {
  registryUrl: string;
  adminToken: string;
  /** Recorded by the registry as who registered and promoted it (x-registry-actor). */
  actor: string;
  modelName: string;
  /** Features of the served vectors the model reads (names of libs/features' payments-fraud set). */
  featureNames: string[];
  rows: Record<string, number>[];
  labels: number[];
  /** Scores the baseline's score histogram is built from (a stand-in for the model's own on a holdout). */
  baselineScores: number[];
  seed: number;
  epochs: number;
  threshold: number;
  reviewThreshold: number;
  auc: number;
}

/**
 * Trains a small fraud model on the given rows (a second or two on the wasm backend), uploads it to the
 * registry with feature and score baselines, and promotes it to Production, so stream-inference has something
 * to serve and the monitor something to compare with. Returns the version.
 */
export async function registerTrainedModel(options: ProductionModelOptions): Promise<number> {
  await initBackend('auto');
  const { rows, labels, featureNames, modelName } = options;
  const trained = await trainFraudModel({ rows, labels }, { featureNames, seed: options.seed, epochs: options.epochs });
  const bundle = await serializeBundle(trained.model, trained.spec, {
    feature_set_version: paymentsFraud.version,
    threshold: options.threshold,
    review_threshold: options.reviewThreshold,
    model_name: modelName,
  });
  const call = async (method: string, path: string, body: Buffer | object) => {
    const binary = Buffer.isBuffer(body);
    const response = await fetch(`${options.registryUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${options.adminToken}`,
        'x-registry-actor': options.actor,
        'content-type': binary ? 'application/octet-stream' : 'application/json',
      },
      body: binary ? new Uint8Array(body) : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`registry ${method} ${path} answered ${response.status}: ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  await call('PUT', `/v1/artifacts/${bundle.sha256}`, bundle.bytes);
  const version = await call('POST', `/v1/models/${modelName}/versions`, {
    artifact_sha256: bundle.sha256,
    feature_set_version: paymentsFraud.version,
    feature_names: trained.spec.feature_names,
    metrics: { auc: options.auc },
    baseline: {
      features: featureNames.map((name) =>
        quantileHistogram(
          name,
          rows.map((r) => r[name]),
          10,
        ),
      ),
      score: quantileHistogram('score', options.baselineScores, 10),
    },
    training_window_start: Date.now() - 86_400_000,
    training_window_end: Date.now(),
    run_id: randomUUID(),
  });
  await call('POST', `/v1/models/${modelName}/versions/${version.version}/stage`, { stage: 'Production' });
  return Number(version.version);
}
