import type { RiskTier } from '@flywheel/contracts';

/** How people pay in one kind of shop: what the shop is, how often and how much, and through which channel. */
export interface Category {
  name: string;
  mcc: string;
  riskTier: RiskTier;
  /** Share of genuine payments (relative weight). */
  weight: number;
  /** Probability that a genuine payment here is online (card not present); `atm` categories are cash. */
  ecomShare: number;
  atm?: true;
  /** Amount in EUR ≈ exp(N(mu, sigma²)). */
  amount: { mu: number; sigma: number };
}

export const CATEGORIES: readonly Category[] = [
  { name: 'grocery', mcc: '5411', riskTier: 'LOW', weight: 30, ecomShare: 0.05, amount: { mu: 3.2, sigma: 0.6 } },
  { name: 'restaurants', mcc: '5812', riskTier: 'LOW', weight: 18, ecomShare: 0.1, amount: { mu: 3.4, sigma: 0.5 } },
  { name: 'fuel', mcc: '5541', riskTier: 'LOW', weight: 10, ecomShare: 0, amount: { mu: 3.9, sigma: 0.3 } },
  { name: 'clothing', mcc: '5651', riskTier: 'LOW', weight: 10, ecomShare: 0.4, amount: { mu: 4.1, sigma: 0.6 } },
  { name: 'atm', mcc: '6011', riskTier: 'LOW', weight: 8, ecomShare: 0, atm: true, amount: { mu: 4.6, sigma: 0.6 } },
  {
    name: 'electronics',
    mcc: '5732',
    riskTier: 'MEDIUM',
    weight: 6,
    ecomShare: 0.5,
    amount: { mu: 5.0, sigma: 0.8 },
  },
  { name: 'travel', mcc: '4722', riskTier: 'MEDIUM', weight: 4, ecomShare: 0.9, amount: { mu: 5.8, sigma: 0.7 } },
  {
    name: 'digital-goods',
    mcc: '5816',
    riskTier: 'HIGH',
    weight: 6,
    ecomShare: 1,
    amount: { mu: 2.8, sigma: 0.9 },
  },
  {
    name: 'money-transfer',
    mcc: '4829',
    riskTier: 'HIGH',
    weight: 2,
    ecomShare: 1,
    amount: { mu: 5.0, sigma: 0.8 },
  },
  { name: 'jewelry', mcc: '5944', riskTier: 'HIGH', weight: 1, ecomShare: 0.3, amount: { mu: 5.5, sigma: 0.8 } },
];

export function category(name: string): Category {
  const found = CATEGORIES.find((c) => c.name === name);
  if (!found) throw new Error(`no category ${name}`);
  return found;
}

/** Where card holders live (weights) — a European issuer. */
export const HOME_COUNTRIES: readonly (readonly [string, number])[] = [
  ['DE', 70],
  ['FR', 10],
  ['NL', 8],
  ['ES', 6],
  ['IT', 6],
];

/** Where merchants are (weights): mostly where the card holders are, some abroad. */
export const MERCHANT_COUNTRIES: readonly (readonly [string, number])[] = [
  ['DE', 60],
  ['FR', 8],
  ['NL', 6],
  ['ES', 5],
  ['IT', 5],
  ['GB', 6],
  ['US', 6],
  ['CH', 2],
  ['PL', 2],
];

/** Countries that account-takeover traffic comes from (IP geolocation of the fraudster). */
export const FRAUD_IP_COUNTRIES: readonly string[] = ['NG', 'RU', 'BR', 'CN', 'US', 'GB', 'RO', 'UA'];

/** Currency a merchant of that country charges in. */
export const CURRENCY_OF: Readonly<Record<string, string>> = {
  DE: 'EUR',
  FR: 'EUR',
  NL: 'EUR',
  ES: 'EUR',
  IT: 'EUR',
  GB: 'GBP',
  US: 'USD',
  CH: 'CHF',
  PL: 'PLN',
};

/** EUR per unit of each currency (the enrichment-api's base currency is EUR), loaded as reference data. */
export const RATES_TO_EUR: Readonly<Record<string, number>> = {
  EUR: 1,
  GBP: 1.17,
  USD: 0.92,
  CHF: 1.04,
  PLN: 0.23,
};
