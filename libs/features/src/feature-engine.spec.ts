import type { EnrichedEvent } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { emptyEntityState, entityFeaturesAt, upperBound } from './entity-state';
import { applyEvent, invalidReason, onlineFeatures } from './feature-engine';
import { defineFeatureSet, paymentsFraud, paymentsFraudDefinition } from './feature-set';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
let seq = 0;

function event(t: number, amount: number, merchant = 'm-1', over: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return {
    event_id: `e-${++seq}`,
    event_type: 'transaction',
    event_time: t,
    received_time: t,
    source: 'spec',
    api_key_id: null,
    account_id: 'a-1',
    merchant_id: merchant,
    amount,
    currency: 'EUR',
    channel: 'ecom',
    card_present: false,
    device_id: null,
    ip_country: null,
    attributes: null,
    enriched_time: t,
    account_known: true,
    account_home_country: 'DE',
    account_opened_at: 0,
    account_segment: 'retail',
    merchant_known: true,
    merchant_mcc: '5411',
    merchant_category: 'grocery',
    merchant_risk_tier: 'HIGH',
    merchant_country: 'FR',
    base_currency: 'EUR',
    amount_base: amount,
    is_foreign: true,
    hour_of_day: 0,
    account_age_days: null,
    ...over,
  };
}

function vectorOf(outcome: ReturnType<typeof applyEvent>) {
  if (outcome.kind !== 'vector') throw new Error(`expected a vector, got ${outcome.kind}`);
  return outcome.vector.features;
}

describe('feature set definition', () => {
  it('has 4 windows × (6 numeric aggregates + distinct) + last + seconds-since + pass-through', () => {
    expect(paymentsFraud.entityFeatureNames).toHaveLength(4 * 7 + 2);
    expect(paymentsFraud.featureNames).toContain('amount_stddev_7d');
    expect(paymentsFraud.featureNames).toContain('merchants_distinct_10m');
    expect(paymentsFraud.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('changing any definition changes the version; key order does not', () => {
    const reordered = defineFeatureSet({ ...paymentsFraudDefinition, name: paymentsFraudDefinition.name });
    expect(reordered.version).toBe(paymentsFraud.version);
    const shorter = defineFeatureSet({
      ...paymentsFraudDefinition,
      windows: paymentsFraudDefinition.windows.slice(0, 3),
    });
    expect(shorter.version).not.toBe(paymentsFraud.version);
    const lateness = defineFeatureSet({ ...paymentsFraudDefinition, allowedLatenessMs: 1 });
    expect(lateness.version).not.toBe(paymentsFraud.version);
  });
});

describe('applyEvent', () => {
  it('computes a vector from the state BEFORE the event, over (t − w, t]', () => {
    const state = emptyEntityState(paymentsFraud, 'a-1');
    const first = vectorOf(applyEvent(paymentsFraud, state, event(T0, 10, 'm-1')));
    expect(first.amount_count_7d).toBe(0);
    expect(first.last_amount).toBe(-1);
    expect(first.seconds_since_last_event).toBe(-1);
    expect(first.amount_base).toBe(10);
    expect(first.is_foreign).toBe(1);
    expect(first.merchant_risk_tier).toBe(2);
    expect(first.account_age_days).toBe(-1);
    expect(first.channel).toBe(1);

    applyEvent(paymentsFraud, state, event(T0 + 5 * MIN, 20, 'm-2'));
    const third = vectorOf(applyEvent(paymentsFraud, state, event(T0 + 12 * MIN, 40, 'm-2')));
    // 10 min window (t-10m, t] = (T0+2m, T0+12m]: only the 20.
    expect(third.amount_count_10m).toBe(1);
    expect(third.amount_sum_10m).toBe(20);
    expect(third.amount_count_1h).toBe(2);
    expect(third.amount_sum_1h).toBe(30);
    expect(third.amount_mean_1h).toBe(15);
    expect(third.amount_min_1h).toBe(10);
    expect(third.amount_max_1h).toBe(20);
    expect(third.amount_stddev_1h).toBe(5);
    expect(third.merchants_distinct_1h).toBe(2);
    expect(third.last_amount).toBe(20);
    expect(third.seconds_since_last_event).toBe(7 * 60);
  });

  it('an out-of-order event within the lateness sees only earlier-timed events; later ones are not rewritten', () => {
    const state = emptyEntityState(paymentsFraud, 'a-1');
    applyEvent(paymentsFraud, state, event(T0, 1));
    applyEvent(paymentsFraud, state, event(T0 + 30 * MIN, 2));
    const late = vectorOf(applyEvent(paymentsFraud, state, event(T0 + 10 * MIN, 4)));
    expect(late.amount_count_1h).toBe(1);
    expect(late.last_amount).toBe(1);
    const after = vectorOf(applyEvent(paymentsFraud, state, event(T0 + 31 * MIN, 8)));
    expect(after.amount_count_1h).toBe(3);
    expect(after.amount_sum_1h).toBe(7);
    expect(after.last_amount).toBe(2);
  });

  it('dead-letters events older than the allowed lateness and ignores a repeated event_id', () => {
    const state = emptyEntityState(paymentsFraud, 'a-1');
    const e = event(T0 + 3 * 60 * MIN, 1);
    applyEvent(paymentsFraud, state, e);
    expect(applyEvent(paymentsFraud, state, event(T0 + 60 * MIN, 1)).kind).toBe('late');
    expect(applyEvent(paymentsFraud, state, event(T0 + 2 * 60 * MIN, 1)).kind).toBe('vector'); // exactly at the edge
    expect(applyEvent(paymentsFraud, state, { ...e }).kind).toBe('duplicate');
    expect(state.times).toHaveLength(2);
  });

  it('rejects a missing entity key, a key mismatch and a NaN amount with the reason', () => {
    expect(invalidReason(paymentsFraud, event(T0, 1, 'm', { account_id: '' }))).toBe('missing entity key account_id');
    expect(invalidReason(paymentsFraud, event(T0, Number.NaN))).toContain('amount_base is NaN');
    expect(invalidReason(paymentsFraud, event(T0, 1), 'a-2')).toContain('differs');
    expect(invalidReason(paymentsFraud, event(T0, 1), 'a-1')).toBeNull();
  });

  it('evicts history beyond 7 d + lateness yet stays exact against a brute force on random streams', () => {
    let r = 12345;
    const random = () => {
      r = (r * 1103515245 + 12345) % 2 ** 31;
      return r / 2 ** 31;
    };
    const state = emptyEntityState(paymentsFraud, 'a-1');
    const accepted: { t: number; a: number }[] = [];
    let clock = T0;
    for (let i = 0; i < 600; i++) {
      clock += Math.floor(random() * 6 * 60 * MIN);
      const t = clock - (random() < 0.2 ? Math.floor(random() * 90 * MIN) : 0);
      const amount = Math.floor(random() * 400) / 4;
      const outcome = applyEvent(paymentsFraud, state, event(t, amount));
      if (outcome.kind !== 'vector') continue;
      const inWeek = accepted.filter((x) => x.t > t - 7 * 24 * 60 * MIN && x.t <= t);
      expect(outcome.vector.features.amount_count_7d).toBe(inWeek.length);
      expect(outcome.vector.features.amount_sum_7d).toBe(inWeek.reduce((s, x) => s + x.a, 0));
      accepted.push({ t, a: amount });
    }
    expect(state.times.length).toBeLessThan(accepted.length);
    const online = onlineFeatures(paymentsFraud, state);
    expect(online?.seconds_since_last_event).toBe(0);
  });

  it('upperBound places equal times after existing ones', () => {
    expect(upperBound([1, 2, 2, 3], 2)).toBe(3);
    expect(upperBound([], 5)).toBe(0);
    expect(entityFeaturesAt(paymentsFraud, emptyEntityState(paymentsFraud, 'x'), T0).amount_count_7d).toBe(0);
  });
});

describe('compiled feature plan', () => {
  it('vectors carry exactly the feature names, in order, and online features the entity names', () => {
    const state = emptyEntityState(paymentsFraud, 'acct-1');
    applyEvent(paymentsFraud, state, event(T0, 10, 'm-1'));
    const features = vectorOf(applyEvent(paymentsFraud, state, event(T0 + 5 * MIN, 30, 'm-2')));
    expect(Object.keys(features)).toEqual(paymentsFraud.featureNames);
    expect(Object.keys(onlineFeatures(paymentsFraud, state) ?? {})).toEqual(paymentsFraud.entityFeatureNames);
    expect(features.amount_mean_10m).toBe(10);
    expect(features.merchants_distinct_10m).toBe(1);
    // The reused buffers do not leak values between calls: an empty entity sees empty windows.
    const fresh = entityFeaturesAt(paymentsFraud, emptyEntityState(paymentsFraud, 'x'), T0);
    expect(fresh.amount_sum_7d).toBe(0);
    expect(fresh.merchants_distinct_7d).toBe(0);
    expect(fresh.last_amount).toBe(-1);
  });
});
