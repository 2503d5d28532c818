import { seededRandom } from '@flywheel/ml';
import { registerTrainedModel } from '../production-model';

export const FAULT_MODEL_NAME = 'payments-fraud';
/** Features of the served vectors the demo model reads (names of libs/features' payments-fraud set). */
const FEATURES = ['amount_base', 'amount_count_1h', 'amount_sum_1h', 'hour_of_day'];

/**
 * A tiny fraud model trained on synthetic rows (seeded: the same model every run), registered and promoted to
 * Production, so stream-inference has something to serve. The fault suite counts predictions, not their
 * quality: what matters is that the model reads features the mesh's vectors carry.
 */
export async function registerProductionModel(registryUrl: string, adminToken: string): Promise<number> {
  const random = seededRandom(11);
  const rows = Array.from({ length: 600 }, () => {
    const count = Math.floor(random() * 20);
    const amount = Math.floor(random() * 2000) / 4;
    return { amount_base: amount, amount_count_1h: count, amount_sum_1h: count * amount, hour_of_day: random() * 24 };
  });
  const labels = rows.map((r) => (r.amount_base > 400 && random() < 0.8 ? 1 : 0));
  return registerTrainedModel({
    registryUrl,
    adminToken,
    actor: 'fault-suite',
    modelName: FAULT_MODEL_NAME,
    featureNames: FEATURES,
    rows,
    labels,
    baselineScores: labels.map((l) => l * 0.8 + 0.1),
    seed: 11,
    epochs: 2,
    threshold: 0.7,
    reviewThreshold: 0.35,
    auc: 0.5,
  });
}
