import { type EnrichedEvent, EVENT_TYPE_TRANSACTION, type RawEvent } from '@flywheel/contracts';
import {
  type EnrichmentResult,
  type EnrichmentSettings,
  type RateVersion,
  type ReferenceLookup,
  RULES,
  type RuleViolation,
} from './enrichment.model';

const DAY_MS = 86_400_000;

/** The rate in force at `time`: the version with the greatest valid_from <= time; null if none. */
export function rateAt(rates: readonly RateVersion[] | null, time: number): number | null {
  let best: RateVersion | null = null;
  for (const rate of rates ?? []) {
    if (rate.valid_from <= time && (best === null || rate.valid_from > best.valid_from)) best = rate;
  }
  return best ? best.rate_to_base : null;
}

/**
 * Calendar days (UTC) from the opening day to the event's day: 0 on the opening day, as the contract says.
 * An event dated before the opening (clock or data error) counts as day 0 rather than a negative age.
 */
export function accountAgeDays(openedAt: number, eventTime: number): number {
  return Math.max(0, Math.floor(eventTime / DAY_MS) - Math.floor(openedAt / DAY_MS));
}

/**
 * is_foreign: the account's home country is known and differs from the merchant's country or from the
 * customer's IP country (ecom), whichever of those is known. Unknown account → false (nothing to compare).
 */
export function isForeign(homeCountry: string | null, merchantCountry: string | null, ipCountry: string | null) {
  if (homeCountry === null) return false;
  const other = (country: string | null) => country !== null && country.toUpperCase() !== homeCountry;
  return other(merchantCountry) || other(ipCountry);
}

/** Amount in the base currency; the base currency itself always converts at 1. */
export function amountInBase(raw: RawEvent, lookup: ReferenceLookup, settings: EnrichmentSettings): number | null {
  const rate = raw.currency === settings.baseCurrency ? 1 : rateAt(lookup.rates, raw.event_time);
  return rate === null ? null : raw.amount * rate;
}

/** The business rules, in order; the first broken one is reported. `now` is the processing time. */
export function checkRules(
  raw: RawEvent,
  amountBase: number | null,
  settings: EnrichmentSettings,
  now: number,
): RuleViolation | null {
  if (raw.event_type !== EVENT_TYPE_TRANSACTION) {
    return { rule: RULES.eventType, reason: `event_type '${raw.event_type}' is not '${EVENT_TYPE_TRANSACTION}'` };
  }
  if (!Number.isFinite(raw.amount) || raw.amount <= 0) {
    return { rule: RULES.amountPositive, reason: `amount must be > 0 (got ${raw.amount})` };
  }
  if (amountBase === null) {
    return {
      rule: RULES.currencyKnown,
      reason: `no ${raw.currency}→${settings.baseCurrency} rate in force at event_time ${raw.event_time}`,
    };
  }
  if (amountBase > settings.maxAmountBase) {
    return {
      rule: RULES.amountMax,
      reason: `amount ${raw.amount} ${raw.currency} = ${amountBase} ${settings.baseCurrency} exceeds the maximum ${settings.maxAmountBase}`,
    };
  }
  if (raw.event_time > now + settings.maxClockSkewMs) {
    return {
      rule: RULES.eventTimeNotFuture,
      reason: `event_time ${raw.event_time} is ${raw.event_time - now} ms ahead of now (max skew ${settings.maxClockSkewMs} ms)`,
    };
  }
  return null;
}

/** Pure: one raw event + what the lookups found → the enriched event, or the rule it breaks. */
export function enrichEvent(
  raw: RawEvent,
  lookup: ReferenceLookup,
  settings: EnrichmentSettings,
  now: number,
): EnrichmentResult {
  const amountBase = amountInBase(raw, lookup, settings);
  const violation = checkRules(raw, amountBase, settings, now);
  if (violation || amountBase === null) {
    return { ok: false, violation: violation ?? { rule: RULES.currencyKnown, reason: 'no rate' }, event: raw };
  }
  const { account, merchant } = lookup;
  const event: EnrichedEvent = {
    ...raw,
    enriched_time: now,
    account_known: account !== null,
    account_home_country: account?.home_country ?? null,
    account_opened_at: account?.opened_at ?? null,
    account_segment: account?.segment ?? null,
    merchant_known: merchant !== null,
    merchant_mcc: merchant?.mcc ?? null,
    merchant_category: merchant?.category ?? null,
    merchant_risk_tier: merchant?.risk_tier ?? null,
    merchant_country: merchant?.country ?? null,
    base_currency: settings.baseCurrency,
    amount_base: amountBase,
    is_foreign: isForeign(account?.home_country ?? null, merchant?.country ?? null, raw.ip_country),
    hour_of_day: new Date(raw.event_time).getUTCHours(),
    account_age_days: account ? accountAgeDays(account.opened_at, raw.event_time) : null,
  };
  return { ok: true, event };
}

/** The error message dead letters carry: the rule name first, so the DLQ can be grouped by it. */
export function violationMessage(violation: RuleViolation): string {
  return `enrichment rule '${violation.rule}' failed: ${violation.reason}`;
}
