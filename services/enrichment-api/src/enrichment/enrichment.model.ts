import type { EnrichedEvent, EpochMillis, RawEvent, RiskTier } from '@flywheel/contracts';

/** Reference records as the enrichment logic sees them (decoupled from TypeORM entities). */
export interface AccountRef {
  account_id: string;
  home_country: string;
  opened_at: EpochMillis;
  segment: string;
  updated_at: EpochMillis;
}

export interface MerchantRef {
  merchant_id: string;
  mcc: string;
  category: string;
  risk_tier: RiskTier;
  country: string;
  updated_at: EpochMillis;
}

export interface RateVersion {
  valid_from: EpochMillis;
  /** Units of the base currency for one unit of the currency. */
  rate_to_base: number;
}

/** What the lookups found for one event: null = not in reference data. Rates: every version, any order. */
export interface ReferenceLookup {
  account: AccountRef | null;
  merchant: MerchantRef | null;
  rates: RateVersion[] | null;
}

export interface EnrichmentSettings {
  baseCurrency: string;
  maxAmountBase: number;
  maxClockSkewMs: number;
}

/** Names of the business rules; each appears in the DLQ error message and the rejected-events metric. */
export const RULES = {
  eventType: 'event-type-supported',
  amountPositive: 'amount-positive',
  currencyKnown: 'currency-known',
  amountMax: 'amount-max',
  eventTimeNotFuture: 'event-time-not-future',
} as const;
export type RuleName = (typeof RULES)[keyof typeof RULES];

export interface RuleViolation {
  rule: RuleName;
  reason: string;
}

export type EnrichmentResult =
  | { ok: true; event: EnrichedEvent }
  | { ok: false; violation: RuleViolation; event: RawEvent };
