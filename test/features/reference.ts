/**
 * An independent, deliberately naive recomputation of the feature set, written from the README's rules
 * and NOT from libs/features: for every event it scans all earlier accepted events of its entity.
 *
 * Rules: per entity, in arrival order; an event is late when its time is older than the newest accepted
 * time of its entity minus the allowed lateness; a repeated event_id is ignored; a vector = pass-through
 * fields + aggregates over the accepted earlier events with time in (t − w, t]; online = the same over
 * all accepted events at the newest accepted time.
 */
import type { EnrichedEvent } from '@flywheel/contracts';

export interface ReferenceResult {
  vectors: Map<string, Record<string, number>>;
  late: Set<string>;
  online: Map<string, { asOf: number; features: Record<string, number> }>;
}

const WINDOWS: [string, number][] = [
  ['10m', 600_000],
  ['1h', 3_600_000],
  ['24h', 86_400_000],
  ['7d', 7 * 86_400_000],
];
const TIERS = ['LOW', 'MEDIUM', 'HIGH'];
const CHANNELS = ['pos', 'ecom', 'atm'];

interface Seen {
  t: number;
  amount: number;
  merchant: string;
  arrival: number;
}

function aggregates(history: Seen[], t: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, length] of WINDOWS) {
    const inWindow = history.filter((e) => e.t > t - length && e.t <= t);
    const amounts = inWindow.map((e) => e.amount);
    const n = amounts.length;
    let sum = 0;
    for (const a of amounts) sum += a;
    const mean = n === 0 ? 0 : sum / n;
    let squares = 0;
    for (const a of amounts) squares += (a - mean) * (a - mean);
    out[`amount_count_${name}`] = n;
    out[`amount_sum_${name}`] = sum;
    out[`amount_mean_${name}`] = mean;
    out[`amount_min_${name}`] = n === 0 ? 0 : Math.min(...amounts);
    out[`amount_max_${name}`] = n === 0 ? 0 : Math.max(...amounts);
    out[`amount_stddev_${name}`] = n === 0 ? 0 : Math.sqrt(squares / n);
    out[`merchants_distinct_${name}`] = new Set(inWindow.map((e) => e.merchant)).size;
  }
  const before = history.filter((e) => e.t <= t);
  let last: Seen | undefined;
  for (const e of before) if (!last || e.t > last.t || (e.t === last.t && e.arrival > last.arrival)) last = e;
  out.last_amount = last ? last.amount : -1;
  out.seconds_since_last_event = last ? (t - last.t) / 1000 : -1;
  return out;
}

function passThrough(e: EnrichedEvent): Record<string, number> {
  return {
    amount_base: e.amount_base,
    is_foreign: e.is_foreign ? 1 : 0,
    card_present: e.card_present ? 1 : 0,
    hour_of_day: e.hour_of_day,
    account_age_days: e.account_age_days ?? -1,
    account_known: e.account_known ? 1 : 0,
    merchant_known: e.merchant_known ? 1 : 0,
    merchant_risk_tier: e.merchant_risk_tier === null ? -1 : TIERS.indexOf(e.merchant_risk_tier),
    channel: CHANNELS.indexOf(e.channel),
  };
}

export function recompute(events: EnrichedEvent[], allowedLatenessMs: number): ReferenceResult {
  const histories = new Map<string, Seen[]>();
  const vectors = new Map<string, Record<string, number>>();
  const late = new Set<string>();
  let arrival = 0;
  for (const e of events) {
    const history = histories.get(e.account_id) ?? [];
    histories.set(e.account_id, history);
    const newest = history.length === 0 ? null : Math.max(...history.map((h) => h.t));
    if (newest !== null && e.event_time < newest - allowedLatenessMs) {
      late.add(e.event_id);
      continue;
    }
    if (vectors.has(e.event_id)) continue;
    vectors.set(e.event_id, { ...passThrough(e), ...aggregates(history, e.event_time) });
    history.push({ t: e.event_time, amount: e.amount_base, merchant: e.merchant_id, arrival: arrival++ });
  }
  const online = new Map<string, { asOf: number; features: Record<string, number> }>();
  for (const [entity, history] of histories) {
    if (history.length === 0) continue;
    const asOf = Math.max(...history.map((h) => h.t));
    online.set(entity, { asOf, features: aggregates(history, asOf) });
  }
  return { vectors, late, online };
}

/** Exact for counts, sums, min/max, last, distinct (the generator uses amounts in quarter units, so every sum is exact); 1e-9 relative for the rest. */
export function sameFeatures(actual: Record<string, number>, expected: Record<string, number>): string | null {
  const names = new Set([...Object.keys(actual), ...Object.keys(expected)]);
  for (const name of names) {
    const a = actual[name];
    const b = expected[name];
    if (a === undefined || b === undefined) return `${name}: ${a} vs ${b}`;
    const exact = !/_(mean|stddev)_/.test(name);
    if (exact ? a !== b : Math.abs(a - b) > 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-3)) {
      return `${name}: ${a} vs expected ${b}`;
    }
  }
  return null;
}
