import { describe, expect, it } from 'vitest';
import { decidePromotion, type PromotionSettings } from './promotion-policy';

const automatic: PromotionSettings = { policy: 'automatic', metric: 'auc', goal: 'max', margin: 0.01 };
const production = { version: 1, feature_set_version: 'fs-1', metrics: { auc: 0.8 } };
const candidate = (auc: number, fs = 'fs-1') => ({ version: 2, feature_set_version: fs, metrics: { auc } });

describe('decidePromotion', () => {
  it('never promotes under the manual policy', () => {
    expect(decidePromotion({ ...automatic, policy: 'manual' }, candidate(0.99), null).promote).toBe(false);
  });

  it('promotes the first version when nothing is in Production', () => {
    expect(decidePromotion(automatic, candidate(0.5), null)).toEqual({
      promote: true,
      reason: 'automatic: no version in Production',
    });
  });

  it('promotes a candidate that beats the stored Production metric by the margin, not one within it', () => {
    expect(decidePromotion(automatic, candidate(0.81), production).promote).toBe(true);
    const refused = decidePromotion(automatic, candidate(0.805), production);
    expect(refused.promote).toBe(false);
    expect(refused.reason).toBe('automatic promotion refused: auc 0.805 < 0.8 + 0.01 (Production v1, stored)');
  });

  it('prefers Production metrics on the same holdout, when they are about the version in Production', () => {
    const onHoldout = { version: 1, metrics: { auc: 0.9 } };
    expect(decidePromotion(automatic, candidate(0.85), production, onHoldout).promote).toBe(false);
    // Metrics of a version no longer in Production do not count: fall back to the stored ones.
    expect(decidePromotion(automatic, candidate(0.85), production, { version: 7, metrics: { auc: 0.9 } }).promote).toBe(
      true,
    );
  });

  it('never promotes across feature-set versions, however good', () => {
    const decision = decidePromotion(automatic, candidate(0.99, 'fs-2'), production);
    expect(decision.promote).toBe(false);
    expect(decision.reason).toContain('feature_set_version fs-2 differs');
  });

  it('refuses when the metric is missing on either side', () => {
    expect(decidePromotion(automatic, { ...candidate(0.9), metrics: {} }, production).promote).toBe(false);
    expect(decidePromotion(automatic, candidate(0.9), { ...production, metrics: {} }).promote).toBe(false);
  });

  it('treats lower as better for a min metric', () => {
    const logLoss: PromotionSettings = { ...automatic, metric: 'log_loss', goal: 'min', margin: 0.01 };
    const prod = { ...production, metrics: { log_loss: 0.3 } };
    expect(decidePromotion(logLoss, { ...candidate(0), metrics: { log_loss: 0.28 } }, prod).promote).toBe(true);
    expect(decidePromotion(logLoss, { ...candidate(0), metrics: { log_loss: 0.295 } }, prod).promote).toBe(false);
  });
});
