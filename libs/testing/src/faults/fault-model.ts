import { randomUUID } from 'node:crypto';
import { paymentsFraud } from '@flywheel/features';
import { initBackend, quantileHistogram, serializeBundle, trainFraudModel } from '@flywheel/ml';

export const FAULT_MODEL_NAME = 'payments-fraud';
/** Features of the served vectors the demo model reads (names of libs/features' payments-fraud set). */
const FEATURES = ['amount_base', 'amount_count_1h', 'amount_sum_1h', 'hour_of_day'];

/** A small deterministic pseudo-random source, so the model (and its sha256) is the same every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Trains a tiny fraud model on synthetic rows (a second or two on the wasm backend), uploads it to the registry
 * and promotes it to Production, so stream-inference has something to serve. The fault suite counts predictions,
 * not their quality: what matters is that the model reads features the mesh's vectors carry.
 */
export async function registerProductionModel(registryUrl: string, adminToken: string): Promise<number> {
  await initBackend('auto');
  const random = mulberry32(11);
  const rows = Array.from({ length: 600 }, () => {
    const count = Math.floor(random() * 20);
    const amount = Math.floor(random() * 2000) / 4;
    return { amount_base: amount, amount_count_1h: count, amount_sum_1h: count * amount, hour_of_day: random() * 24 };
  });
  const labels = rows.map((r) => (r.amount_base > 400 && random() < 0.8 ? 1 : 0));
  const trained = await trainFraudModel({ rows, labels }, { featureNames: FEATURES, seed: 11, epochs: 2 });
  const bundle = await serializeBundle(trained.model, trained.spec, {
    feature_set_version: paymentsFraud.version,
    threshold: 0.7,
    review_threshold: 0.35,
    model_name: FAULT_MODEL_NAME,
  });
  const call = async (method: string, path: string, body: Buffer | object) => {
    const binary = Buffer.isBuffer(body);
    const response = await fetch(`${registryUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        'x-registry-actor': 'fault-suite',
        'content-type': binary ? 'application/octet-stream' : 'application/json',
      },
      body: binary ? new Uint8Array(body) : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`registry ${method} ${path} answered ${response.status}: ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };
  await call('PUT', `/v1/artifacts/${bundle.sha256}`, bundle.bytes);
  const version = await call('POST', `/v1/models/${FAULT_MODEL_NAME}/versions`, {
    artifact_sha256: bundle.sha256,
    feature_set_version: paymentsFraud.version,
    feature_names: trained.spec.feature_names,
    metrics: { auc: 0.5 },
    baseline: {
      features: FEATURES.map((name) =>
        quantileHistogram(
          name,
          rows.map((r) => r[name as keyof typeof r]),
          10,
        ),
      ),
      score: quantileHistogram(
        'score',
        labels.map((l) => l * 0.8 + 0.1),
        10,
      ),
    },
    training_window_start: Date.now() - 86_400_000,
    training_window_end: Date.now(),
    run_id: randomUUID(),
  });
  await call('POST', `/v1/models/${FAULT_MODEL_NAME}/versions/${version.version}/stage`, { stage: 'Production' });
  return Number(version.version);
}
