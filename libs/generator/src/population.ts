import { CATEGORIES, type Category, CURRENCY_OF, HOME_COUNTRIES, MERCHANT_COUNTRIES, RATES_TO_EUR } from './catalog';
import { deriveSeed, Random } from './random';

const DAY_MS = 86_400_000;

export interface Account {
  account_id: string;
  home_country: string;
  opened_at: number;
  segment: string;
  /** Opened in the last few weeks (the customers a campaign brings in; the drift scenario is about them). */
  recent: boolean;
  /** The card holder's own device, used for their online payments. */
  device_id: string;
}

export interface Merchant {
  merchant_id: string;
  mcc: string;
  category: string;
  risk_tier: Category['riskTier'];
  country: string;
  currency: string;
}

export interface PopulationOptions {
  accounts: number;
  merchants: number;
  seed: number;
  /** Share of accounts opened within `recentDays` (default 0.15). */
  recentShare?: number;
  recentDays?: number;
  /** Account ages are counted back from this instant (default: start of the current UTC day, stable all day). */
  referenceTime?: number;
}

/**
 * The card holders and merchants the traffic runs over. Fully determined by its options, so the reference
 * data loaded into enrichment-api and the events the generator sends always describe the same world.
 */
export class Population {
  readonly accounts: Account[];
  readonly recentAccounts: Account[];
  readonly establishedAccounts: Account[];
  readonly merchants: Merchant[];
  private readonly byCategory = new Map<string, Merchant[]>();
  private readonly byCategoryAndCountry = new Map<string, Merchant[]>();

  constructor(readonly options: PopulationOptions) {
    if (!(options.accounts >= 1) || !(options.merchants >= 1)) {
      throw new Error('a population needs at least one account and one merchant');
    }
    const random = new Random(deriveSeed(options.seed, 'population'));
    const reference = options.referenceTime ?? Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const recentShare = options.recentShare ?? 0.15;
    const recentDays = options.recentDays ?? 45;
    const width = String(options.accounts).length;
    this.accounts = Array.from({ length: options.accounts }, (_, i) => {
      const recent = random.chance(recentShare);
      const ageDays = recent ? random.int(0, recentDays) : random.int(90, 3650);
      const id = `acct-${String(i + 1).padStart(width, '0')}`;
      return {
        account_id: id,
        home_country: random.weighted(HOME_COUNTRIES),
        opened_at: reference - ageDays * DAY_MS,
        segment: random.weighted([
          ['retail', 85],
          ['premium', 10],
          ['business', 5],
        ] as const),
        recent,
        device_id: `dev-${id}`,
      };
    });
    this.recentAccounts = this.accounts.filter((a) => a.recent);
    this.establishedAccounts = this.accounts.filter((a) => !a.recent);
    // A tiny population may draw no recent account (or only recent ones): both pools must exist.
    if (this.recentAccounts.length === 0) this.recentAccounts.push(this.accounts[0]);
    if (this.establishedAccounts.length === 0) this.establishedAccounts.push(this.accounts[0]);

    const mwidth = String(options.merchants).length;
    this.merchants = Array.from({ length: options.merchants }, (_, i) => {
      // The first merchants cover every category once, so each category can always be paid at.
      const cat =
        i < CATEGORIES.length ? CATEGORIES[i] : random.weighted(CATEGORIES.map((c) => [c, c.weight] as const));
      const country = i < CATEGORIES.length ? 'DE' : random.weighted(MERCHANT_COUNTRIES);
      return {
        merchant_id: `merch-${String(i + 1).padStart(mwidth, '0')}`,
        mcc: cat.mcc,
        category: cat.name,
        risk_tier: cat.riskTier,
        country,
        currency: CURRENCY_OF[country] ?? 'EUR',
      };
    });
    for (const m of this.merchants) {
      push(this.byCategory, m.category, m);
      push(this.byCategoryAndCountry, `${m.category}/${m.country}`, m);
    }
  }

  /** A merchant of the category: in `country` when there is one there (and `domestic`), else anywhere. */
  merchant(random: Random, categoryName: string, country: string | null): Merchant {
    const local = country ? this.byCategoryAndCountry.get(`${categoryName}/${country}`) : undefined;
    const pool = local ?? this.byCategory.get(categoryName);
    if (!pool) throw new Error(`no merchant of category ${categoryName}`);
    return random.pick(pool);
  }

  /** Reference rows in the shapes enrichment-api's bulk load takes (NDJSON lines). */
  referenceRows(): { accounts: object[]; merchants: object[]; rates: object[] } {
    return {
      accounts: this.accounts.map(({ account_id, home_country, opened_at, segment }) => ({
        account_id,
        home_country,
        opened_at,
        segment,
      })),
      merchants: this.merchants.map(({ merchant_id, mcc, category, risk_tier, country }) => ({
        merchant_id,
        mcc,
        category,
        risk_tier,
        country,
      })),
      rates: Object.entries(RATES_TO_EUR)
        .filter(([currency]) => currency !== 'EUR')
        .map(([currency, rate_to_base]) => ({ currency, rate_to_base, valid_from: 0 })),
    };
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
