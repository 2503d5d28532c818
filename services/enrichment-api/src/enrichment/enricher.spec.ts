import type { RawEvent } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { accountAgeDays, enrichEvent, isForeign, rateAt, violationMessage } from './enricher';
import { type EnrichmentSettings, type ReferenceLookup, RULES } from './enrichment.model';

const NOW = Date.UTC(2026, 2, 10, 14, 30);
const settings: EnrichmentSettings = { baseCurrency: 'EUR', maxAmountBase: 10_000, maxClockSkewMs: 300_000 };

function raw(overrides: Partial<RawEvent> = {}): RawEvent {
  return {
    event_id: '5b0e6a8e-7a7c-4b53-9a51-5f7f0c1b2d3e',
    event_type: 'transaction',
    event_time: Date.UTC(2026, 2, 10, 9, 15),
    received_time: Date.UTC(2026, 2, 10, 9, 15, 1),
    source: 'test',
    api_key_id: null,
    account_id: 'acct-1',
    merchant_id: 'm-1',
    amount: 100,
    currency: 'USD',
    channel: 'ecom',
    card_present: false,
    device_id: null,
    ip_country: null,
    attributes: null,
    ...overrides,
  };
}

const known: ReferenceLookup = {
  account: {
    account_id: 'acct-1',
    home_country: 'DE',
    opened_at: Date.UTC(2026, 2, 1, 23, 59),
    segment: 'premium',
    updated_at: 0,
  },
  merchant: { merchant_id: 'm-1', mcc: '5411', category: 'grocery', risk_tier: 'LOW', country: 'DE', updated_at: 0 },
  rates: [
    { valid_from: 0, rate_to_base: 0.5 },
    { valid_from: Date.UTC(2026, 2, 10), rate_to_base: 0.9 },
    { valid_from: Date.UTC(2026, 2, 11), rate_to_base: 2 },
  ],
};

describe('enrichEvent', () => {
  it('joins account and merchant and derives the fields, keeping every raw field', () => {
    const input = raw();
    const result = enrichEvent(input, known, settings, NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject(input);
    expect(result.event).toMatchObject({
      enriched_time: NOW,
      account_known: true,
      account_home_country: 'DE',
      account_opened_at: known.account?.opened_at,
      account_segment: 'premium',
      merchant_known: true,
      merchant_mcc: '5411',
      merchant_category: 'grocery',
      merchant_risk_tier: 'LOW',
      merchant_country: 'DE',
      base_currency: 'EUR',
      is_foreign: false,
      hour_of_day: 9,
      account_age_days: 9, // opened Mar 1 23:59 UTC, event Mar 10: calendar days
    });
    // the rate in force on Mar 10 (0.9), not the older (0.5) nor the future one (2)
    expect(result.event.amount_base).toBeCloseTo(90, 10);
  });

  it('enriches unknown account and merchant with explicit defaults and flags', () => {
    const result = enrichEvent(
      raw({ ip_country: 'FR' }),
      { account: null, merchant: null, rates: known.rates },
      settings,
      NOW,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.event).toMatchObject({
      account_known: false,
      account_home_country: null,
      account_opened_at: null,
      account_segment: null,
      account_age_days: null,
      merchant_known: false,
      merchant_mcc: null,
      merchant_category: null,
      merchant_risk_tier: null,
      merchant_country: null,
      is_foreign: false,
    });
  });

  it('converts the base currency at 1 without a rate row', () => {
    const result = enrichEvent(raw({ currency: 'EUR', amount: 12.5 }), { ...known, rates: null }, settings, NOW);
    expect(result.ok && result.event.amount_base).toBe(12.5);
  });

  it.each([
    ['event type', raw({ event_type: 'label' }), RULES.eventType],
    ['zero amount', raw({ amount: 0 }), RULES.amountPositive],
    ['negative amount', raw({ amount: -3 }), RULES.amountPositive],
    ['NaN amount', raw({ amount: Number.NaN }), RULES.amountPositive],
    ['unknown currency', raw({ currency: 'XXX' }), RULES.currencyKnown],
    ['no rate yet at event_time', raw({ event_time: -1 }), RULES.currencyKnown],
    ['amount over the maximum in base currency', raw({ amount: 11_200 }), RULES.amountMax],
    ['event 5 min + 1 ms in the future', raw({ event_time: NOW + 300_001 }), RULES.eventTimeNotFuture],
  ])('rejects %s with the rule name', (_name, input, rule) => {
    const result = enrichEvent(
      input,
      { ...known, rates: input.currency === 'XXX' ? null : known.rates },
      settings,
      NOW,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.violation.rule).toBe(rule);
    expect(violationMessage(result.violation)).toContain(`'${rule}'`);
  });

  it('accepts an amount at the maximum and an event within the skew', () => {
    const atMax = enrichEvent(raw({ amount: 10_000, currency: 'EUR' }), known, settings, NOW);
    const skewed = enrichEvent(raw({ event_time: NOW + 300_000, currency: 'EUR' }), known, settings, NOW);
    expect(atMax.ok).toBe(true);
    expect(skewed.ok).toBe(true);
  });
});

describe('derived fields', () => {
  it('is_foreign compares home country with merchant and IP country', () => {
    expect(isForeign('DE', 'DE', null)).toBe(false);
    expect(isForeign('DE', 'FR', null)).toBe(true);
    expect(isForeign('DE', 'DE', 'us')).toBe(true);
    expect(isForeign('DE', null, 'DE')).toBe(false);
    expect(isForeign('DE', null, null)).toBe(false);
    expect(isForeign(null, 'FR', 'US')).toBe(false);
  });

  it('account age counts UTC calendar days, never negative', () => {
    const opened = Date.UTC(2026, 0, 1, 23, 0);
    expect(accountAgeDays(opened, Date.UTC(2026, 0, 1, 23, 30))).toBe(0);
    expect(accountAgeDays(opened, Date.UTC(2026, 0, 2, 0, 1))).toBe(1);
    expect(accountAgeDays(opened, Date.UTC(2025, 11, 1))).toBe(0);
  });

  it('rateAt picks the newest version not after the time', () => {
    const rates = [
      { valid_from: 100, rate_to_base: 2 },
      { valid_from: 0, rate_to_base: 1 },
    ];
    expect(rateAt(rates, 99)).toBe(1);
    expect(rateAt(rates, 100)).toBe(2);
    expect(rateAt(rates, -1)).toBeNull();
    expect(rateAt(null, 5)).toBeNull();
  });

  it('hour_of_day is the UTC hour', () => {
    const result = enrichEvent(
      raw({ event_time: Date.UTC(2026, 2, 9, 23, 59), currency: 'EUR' }),
      known,
      settings,
      NOW,
    );
    expect(result.ok && result.event.hour_of_day).toBe(23);
  });
});
