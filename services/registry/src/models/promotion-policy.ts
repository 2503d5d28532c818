export interface PromotionSettings {
  policy: 'manual' | 'automatic';
  metric: string;
  goal: 'max' | 'min';
  margin: number;
}

export interface Candidate {
  version: number;
  feature_set_version: string;
  metrics: Record<string, number>;
}

export interface ProductionModel {
  version: number;
  feature_set_version: string;
  /** Metrics stored with the Production version (from its own training run's holdout). */
  metrics: Record<string, number>;
}

export interface PromotionDecision {
  promote: boolean;
  /** Recorded in the history and the lifecycle event. */
  reason: string;
}

/**
 * The automatic promotion rule: promote when nothing is in Production, or when the candidate beats Production on
 * the configured holdout metric by the margin; never when the candidate expects another feature set than the one
 * served (the inference fleet would dead-letter every vector). `productionMetricsOnHoldout` are Production's
 * metrics on the candidate's holdout (models.trained.v1 production_metrics), preferred over the stored ones because
 * they compare like with like; they count only when they are about the version actually in Production now.
 */
export function decidePromotion(
  settings: PromotionSettings,
  candidate: Candidate,
  production: ProductionModel | null,
  productionMetricsOnHoldout: { version: number | null; metrics: Record<string, number> | null } = {
    version: null,
    metrics: null,
  },
): PromotionDecision {
  if (settings.policy === 'manual') return { promote: false, reason: 'promotion policy is manual' };
  if (!production) return { promote: true, reason: 'automatic: no version in Production' };
  if (candidate.feature_set_version !== production.feature_set_version) {
    return {
      promote: false,
      reason: `automatic promotion refused: feature_set_version ${candidate.feature_set_version} differs from Production v${production.version}'s ${production.feature_set_version}`,
    };
  }
  const { metric, margin, goal } = settings;
  const candidateValue = candidate.metrics[metric];
  if (!Number.isFinite(candidateValue)) {
    return { promote: false, reason: `automatic promotion refused: candidate has no ${metric}` };
  }
  const sameHoldout =
    productionMetricsOnHoldout.version === production.version && productionMetricsOnHoldout.metrics !== null;
  const productionValue = sameHoldout ? productionMetricsOnHoldout.metrics?.[metric] : production.metrics[metric];
  const source = sameHoldout ? 'on the same holdout' : 'stored';
  if (productionValue === undefined || !Number.isFinite(productionValue)) {
    return {
      promote: false,
      reason: `automatic promotion refused: Production v${production.version} has no ${metric} (${source})`,
    };
  }
  const c = format(candidateValue);
  const p = format(productionValue);
  const m = format(margin);
  if (goal === 'max') {
    return candidateValue >= productionValue + margin
      ? {
          promote: true,
          reason: `automatic: ${metric} ${c} >= ${p} + ${m} (Production v${production.version}, ${source})`,
        }
      : {
          promote: false,
          reason: `automatic promotion refused: ${metric} ${c} < ${p} + ${m} (Production v${production.version}, ${source})`,
        };
  }
  return candidateValue <= productionValue - margin
    ? {
        promote: true,
        reason: `automatic: ${metric} ${c} <= ${p} - ${m} (Production v${production.version}, ${source})`,
      }
    : {
        promote: false,
        reason: `automatic promotion refused: ${metric} ${c} > ${p} - ${m} (Production v${production.version}, ${source})`,
      };
}

function format(value: number): string {
  return Number(value.toPrecision(6)).toString();
}
