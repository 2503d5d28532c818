import { randomUUID } from 'node:crypto';
import { CATEGORIES, type Category, category, FRAUD_IP_COUNTRIES, MERCHANT_COUNTRIES, RATES_TO_EUR } from './catalog';
import type { Account, Population } from './population';
import { deriveSeed, Random } from './random';

/** A card payment as a producer sends it to the collector (`type: 'transaction'`, libs/contracts RawEvent). */
export interface Transaction {
  event_id: string;
  event_time: number;
  account_id: string;
  merchant_id: string;
  /** In `currency` (the merchant's). */
  amount: number;
  currency: string;
  channel: 'pos' | 'ecom' | 'atm';
  card_present: boolean;
  device_id: string | null;
  ip_country: string | null;
}

/**
 * account-takeover: a stolen card is used online in a burst (new device, foreign IP, risky merchants, large
 * amounts). bust-out: after the drift, freshly opened accounts max out in shops and at ATMs at home — it looks
 * like normal card-present spending except for the account's age, which is what a retrained model must learn.
 */
export type FraudKind = 'account-takeover' | 'bust-out';
export type Phase = 'before-drift' | 'after-drift';

export interface GeneratedTransaction {
  transaction: Transaction;
  fraud: FraudKind | null;
  phase: Phase;
}

/** When the behaviour changes: after this many transactions, or at this event time. */
export type DriftPoint = { transactions: number } | { eventTime: number };

export interface TrafficOptions {
  /** Transactions per second of event time. */
  rate: number;
  /** Event time of the first transaction. */
  startTime: number;
  /** Share of account-takeover fraud before the drift (e.g. 0.04). */
  fraudRate: number;
  drift?: DriftPoint | null;
  seed: number;
}

// Account takeover: a burst of 2 + Geometric(mean 2) payments, ~8 s apart.
const BURST_EXTRA_MEAN = 2;
const BURST_MEAN_LENGTH = 2 + BURST_EXTRA_MEAN;
const BURST_GAP_MS = 8_000;
// After the drift a campaign's new customers make most of the traffic, and a fraud ring among them busts out.
const RECENT_SHARE_AFTER_DRIFT = 0.65;
const BUST_OUT_PROBABILITY = 0.15;

interface Scheduled {
  time: number;
  account: Account;
  burst: number;
}

/**
 * Card traffic in event-time order: Poisson arrivals over the population's accounts, genuine spending by
 * category, account-takeover bursts on top, and after the drift point a shifted customer mix with a new
 * fraud pattern. Pure and seeded (except the event ids), so tests can check the pattern it promises.
 */
export class TrafficModel {
  private readonly random: Random;
  private readonly genuineIntervalMs: number;
  private readonly burstStartProbability: number;
  private nextGenuineTime: number;
  private readonly scheduled: Scheduled[] = [];
  private bursts = 0;
  private emitted = 0;
  private drifted = false;

  constructor(
    private readonly population: Population,
    private readonly options: TrafficOptions,
  ) {
    if (!(options.rate > 0)) throw new Error('rate must be > 0');
    if (!(options.fraudRate >= 0 && options.fraudRate < 0.5)) throw new Error('fraudRate must be in [0, 0.5)');
    this.random = new Random(deriveSeed(options.seed, 'traffic'));
    // Genuine arrivals plus bursts add up to `rate`: bursts bring fraudRate of the traffic.
    this.genuineIntervalMs = 1000 / (options.rate * (1 - options.fraudRate));
    this.burstStartProbability = options.fraudRate / ((1 - options.fraudRate) * BURST_MEAN_LENGTH);
    this.nextGenuineTime = options.startTime;
  }

  get count(): number {
    return this.emitted;
  }

  get phase(): Phase {
    return this.drifted ? 'after-drift' : 'before-drift';
  }

  /** Event time of the transaction `next()` returns. */
  peekTime(): number {
    const burst = this.scheduled[0]?.time ?? Number.POSITIVE_INFINITY;
    return Math.floor(Math.min(burst, this.nextGenuineTime));
  }

  next(): GeneratedTransaction {
    const time = this.peekTime();
    this.updatePhase(time);
    let generated: GeneratedTransaction;
    if (this.scheduled.length > 0 && this.scheduled[0].time <= this.nextGenuineTime) {
      const due = this.scheduled.shift() as Scheduled;
      generated = this.takeover(due, time);
    } else {
      this.nextGenuineTime += this.random.exponential(this.genuineIntervalMs);
      generated = this.arrival(time);
    }
    this.emitted++;
    return generated;
  }

  private updatePhase(time: number): void {
    const drift = this.options.drift;
    if (this.drifted || !drift) return;
    this.drifted = 'transactions' in drift ? this.emitted >= drift.transactions : time >= drift.eventTime;
  }

  /** A new arrival: genuine spending, or a bust-out after the drift; it may also start a takeover burst. */
  private arrival(time: number): GeneratedTransaction {
    const startP = this.drifted ? this.burstStartProbability / 2 : this.burstStartProbability;
    if (this.random.chance(startP)) this.startBurst(time);
    const account = this.drifted
      ? this.random.chance(RECENT_SHARE_AFTER_DRIFT)
        ? this.random.pick(this.population.recentAccounts)
        : this.random.pick(this.population.establishedAccounts)
      : this.random.pick(this.population.accounts);
    if (this.drifted && account.recent && this.random.chance(BUST_OUT_PROBABILITY)) {
      return { transaction: this.bustOut(account, time), fraud: 'bust-out', phase: this.phase };
    }
    return { transaction: this.genuine(account, time), fraud: null, phase: this.phase };
  }

  private startBurst(time: number): void {
    const account = this.random.pick(this.population.establishedAccounts);
    const burst = ++this.bursts;
    let length = 2;
    while (this.random.chance(BURST_EXTRA_MEAN / (BURST_EXTRA_MEAN + 1))) length++;
    let at = time + this.random.exponential(2_000);
    for (let i = 0; i < length; i++) {
      this.schedule({ time: at, account, burst });
      at += this.random.exponential(BURST_GAP_MS);
    }
  }

  private schedule(item: Scheduled): void {
    let lo = 0;
    let hi = this.scheduled.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.scheduled[mid].time <= item.time) lo = mid + 1;
      else hi = mid;
    }
    this.scheduled.splice(lo, 0, item);
  }

  private genuine(account: Account, time: number): Transaction {
    const r = this.random;
    const cat = r.weighted(CATEGORIES.map((c) => [c, c.weight] as const));
    const channel = cat.atm ? 'atm' : r.chance(cat.ecomShare) ? 'ecom' : 'pos';
    // Mostly at home; sometimes abroad (travel, cross-border shops).
    const country = r.chance(channel === 'ecom' ? 0.8 : 0.92) ? account.home_country : r.weighted(MERCHANT_COUNTRIES);
    const online = channel === 'ecom';
    return this.payment({
      account,
      time,
      cat,
      country,
      channel,
      amountEur: this.amount(cat, 0),
      device_id: online ? (r.chance(0.97) ? account.device_id : `${account.device_id}-new`) : null,
      ip_country: online ? (r.chance(0.95) ? account.home_country : r.weighted(MERCHANT_COUNTRIES)) : null,
    });
  }

  private takeover(due: Scheduled, time: number): GeneratedTransaction {
    const r = this.random;
    const cat = category(
      r.weighted([
        ['digital-goods', 35],
        ['money-transfer', 25],
        ['electronics', 25],
        ['jewelry', 15],
      ] as const),
    );
    const channel = r.chance(0.9) ? 'ecom' : 'pos';
    const online = channel === 'ecom';
    const transaction = this.payment({
      account: due.account,
      time,
      cat,
      country: r.chance(0.6) ? r.weighted(MERCHANT_COUNTRIES) : due.account.home_country,
      channel,
      amountEur: this.amount(cat, 0.6),
      device_id: online ? `dev-ato-${due.burst}` : null,
      ip_country: online ? (r.chance(0.75) ? r.pick(FRAUD_IP_COUNTRIES) : due.account.home_country) : null,
    });
    return { transaction, fraud: 'account-takeover', phase: this.phase };
  }

  private bustOut(account: Account, time: number): Transaction {
    const r = this.random;
    const cat = category(
      r.weighted([
        ['electronics', 45],
        ['atm', 35],
        ['jewelry', 20],
      ] as const),
    );
    const amountEur = cat.atm ? r.int(30, 50) * 10 : r.logNormal(cat.name === 'jewelry' ? 6.2 : 6.0, 0.35);
    return this.payment({
      account,
      time,
      cat,
      country: account.home_country,
      channel: cat.atm ? 'atm' : 'pos',
      amountEur,
      device_id: null,
      ip_country: null,
    });
  }

  private amount(cat: Category, boost: number): number {
    const eur = this.random.logNormal(cat.amount.mu + boost, cat.amount.sigma);
    // Cash comes in notes.
    return cat.atm ? Math.max(20, Math.round(eur / 10) * 10) : eur;
  }

  private payment(p: {
    account: Account;
    time: number;
    cat: Category;
    country: string;
    channel: Transaction['channel'];
    amountEur: number;
    device_id: string | null;
    ip_country: string | null;
  }): Transaction {
    const merchant = this.population.merchant(this.random, p.cat.name, p.country);
    const rate = RATES_TO_EUR[merchant.currency] ?? 1;
    return {
      event_id: randomUUID(),
      event_time: p.time,
      account_id: p.account.account_id,
      merchant_id: merchant.merchant_id,
      amount: Math.max(0.01, Math.round((p.amountEur / rate) * 100) / 100),
      currency: merchant.currency,
      channel: p.channel,
      card_present: p.channel !== 'ecom',
      device_id: p.device_id,
      ip_country: p.ip_country,
    };
  }
}
