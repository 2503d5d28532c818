import { mulberry32 } from './model';

/** Feature names of the synthetic payments-fraud data set (demo, tests, benchmarks). */
export const SYNTHETIC_FEATURES = [
  'amount_base',
  'amount_zscore_24h',
  'txn_count_1h',
  'txn_count_24h',
  'distinct_merchants_24h',
  'is_foreign',
  'card_present',
  'account_age_days',
] as const;

export interface SyntheticRow {
  features: Record<string, number>;
  label: number;
}

/**
 * A seeded synthetic fraud data set: fraud is more likely for large, foreign, card-not-present payments
 * in bursts on young accounts. `shift` moves the feature distributions (to demonstrate drift).
 */
export function syntheticFraudData(count: number, seed = 7, shift = 0): SyntheticRow[] {
  const random = mulberry32(seed);
  const normal = () => {
    const u = Math.max(random(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
  const rows: SyntheticRow[] = [];
  for (let i = 0; i < count; i++) {
    const amount = Math.exp(3.5 + shift * 0.5 + normal());
    const zscore = normal() + shift;
    const count1h = Math.floor(random() * 4 + (random() < 0.1 ? 6 : 0));
    const count24h = count1h + Math.floor(random() * 12);
    const merchants = Math.min(count24h, Math.floor(random() * 6));
    const foreign = random() < 0.15 ? 1 : 0;
    const present = random() < 0.6 ? 1 : 0;
    const age = Math.floor(random() * 2000);
    const logit =
      -4 + 0.8 * zscore + 0.35 * count1h + 1.2 * foreign - 1.0 * present + (age < 60 ? 1.2 : 0) + 0.002 * amount;
    const label = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    rows.push({
      features: {
        amount_base: amount,
        amount_zscore_24h: zscore,
        txn_count_1h: count1h,
        txn_count_24h: count24h,
        distinct_merchants_24h: merchants,
        is_foreign: foreign,
        card_present: present,
        account_age_days: age,
      },
      label,
    });
  }
  return rows;
}
