import { RetriableError } from '@flywheel/kafka';
import { ROOT_LOGGER } from '@flywheel/observability';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EnrichmentConfig } from '../config';
import { type CacheKind, EnrichmentMetrics } from '../enrichment/enrichment.metrics';
import type { AccountRef, MerchantRef, RateVersion, ReferenceLookup } from '../enrichment/enrichment.model';
import { ENRICHMENT_CONFIG } from '../tokens';
import { LruCache } from './lru-cache';
import { ReferenceStore } from './reference.store';

interface LookupKeys {
  account_id: string;
  merchant_id: string;
  currency: string;
}

/** Ids per refresh-ahead query. */
const REFRESH_CHUNK = 1_000;

type Loader<V> = (keys: string[]) => Promise<Map<string, V>>;

/** One bounded LRU per reference kind. Absence is cached too (null), so unknown ids cost no query each. */
class KindCache<V> {
  readonly lru: LruCache<string, V | null>;
  /** Bumped on every invalidation: a load that raced with one must not store what it read. */
  generation = 0;

  constructor(
    readonly kind: CacheKind,
    maxEntries: number,
    ttlMs: number,
    private readonly load: Loader<V>,
  ) {
    this.lru = new LruCache(maxEntries, ttlMs);
  }

  /** Values for `keys` (occurrences, duplicates allowed): cached ones first, the rest in one query. */
  async resolve(keys: string[], useCache: boolean, metrics: EnrichmentMetrics): Promise<Map<string, V | null>> {
    const found = new Map<string, V | null>();
    const missing = new Set<string>();
    let hits = 0;
    for (const key of keys) {
      const cached = useCache && !missing.has(key) ? this.lru.get(key) : undefined;
      if (cached) {
        found.set(key, cached.value);
        hits++;
      } else {
        missing.add(key);
      }
    }
    if (hits > 0) metrics.cacheLookups.inc({ kind: this.kind, result: 'hit' }, hits);
    if (keys.length - hits > 0) metrics.cacheLookups.inc({ kind: this.kind, result: 'miss' }, keys.length - hits);
    if (missing.size === 0) return found;
    const generation = this.generation;
    let loaded: Map<string, V>;
    try {
      loaded = await this.load([...missing]);
    } catch (error) {
      // Postgres unreachable is transient: the consumer retries the batch with backoff.
      throw new RetriableError(`reference lookup (${this.kind}) failed: ${(error as Error).message}`, { cause: error });
    }
    const store = useCache && generation === this.generation;
    for (const key of missing) {
      const value = loaded.get(key) ?? null;
      found.set(key, value);
      if (store) this.lru.set(key, value);
    }
    metrics.cacheEntries.set({ kind: this.kind }, this.lru.size);
    return found;
  }

  /**
   * Reloads, off the event path, the entries still in use that expire within `withinMs`, so a busy key's
   * TTL expiry costs a background query instead of a query inside some batch. The age bound is unchanged: a
   * renewed entry holds what Postgres returned just now. A load that raced with an invalidation stores
   * nothing (the entries then expire and are read on demand).
   */
  async refreshAhead(withinMs: number, chunkSize: number): Promise<number> {
    const keys = this.lru.expiringUsedKeys(withinMs);
    let renewed = 0;
    for (let i = 0; i < keys.length; i += chunkSize) {
      const chunk = keys.slice(i, i + chunkSize);
      const generation = this.generation;
      const loaded = await this.load(chunk);
      if (generation !== this.generation) continue;
      for (const key of chunk) if (this.lru.renew(key, loaded.get(key) ?? null)) renewed++;
    }
    return renewed;
  }

  invalidate(key: string): void {
    this.generation++;
    this.lru.delete(key);
  }

  clear(): void {
    this.generation++;
    this.lru.clear();
  }
}

/**
 * Reference data for enrichment, read through LRU caches. Freshness: the reference tables' trigger
 * NOTIFYs every change and ReferenceChangeListener calls `invalidate` on every instance (well under a
 * second); CACHE_TTL_MS bounds the age of an entry should a notification ever be missed; while the
 * LISTEN connection is down the caches are bypassed entirely (every lookup reads Postgres) and they are
 * cleared when it comes back, because notifications sent meanwhile are lost.
 *
 * Refresh-ahead: every quarter TTL, entries read since their last load that would expire within the next
 * half TTL are reloaded in the background (REFRESH_CHUNK ids per query). A key in steady use then never
 * expires inside a batch, where each expiry was a Postgres round trip on the event path (with 5,000 accounts
 * and a 30 s TTL, ~170 misses a second at 1,500 events/s). Entries nobody reads still expire.
 */
@Injectable()
export class ReferenceCache implements OnApplicationBootstrap, OnModuleDestroy {
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly accounts: KindCache<AccountRef>;
  private readonly merchants: KindCache<MerchantRef>;
  private readonly rates: KindCache<RateVersion[]>;
  private listening = false;

  constructor(
    store: ReferenceStore,
    private readonly metrics: EnrichmentMetrics,
    @Inject(ENRICHMENT_CONFIG) private readonly config: EnrichmentConfig,
    @Inject(ROOT_LOGGER) private readonly logger: Logger,
  ) {
    const { CACHE_MAX_ENTRIES: max, CACHE_TTL_MS: ttl } = config;
    this.accounts = new KindCache('account', max, ttl, (ids) => store.findAccounts(ids));
    this.merchants = new KindCache('merchant', max, ttl, (ids) => store.findMerchants(ids));
    this.rates = new KindCache('rate', max, ttl, (ids) => store.findRates(ids));
  }

  onApplicationBootstrap(): void {
    const ttl = this.config.CACHE_TTL_MS;
    if (ttl <= 0) return;
    this.refreshTimer = setInterval(() => void this.refreshAhead(ttl / 2), Math.max(1_000, ttl / 4));
    this.refreshTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.refreshTimer);
  }

  /** One refresh-ahead pass over every kind (skipped while the caches are bypassed or a pass still runs). */
  async refreshAhead(withinMs: number): Promise<number> {
    if (!this.listening || this.refreshing) return 0;
    this.refreshing = true;
    let renewed = 0;
    try {
      for (const cache of [this.accounts, this.merchants, this.rates] as KindCache<unknown>[]) {
        const count = await cache.refreshAhead(withinMs, REFRESH_CHUNK);
        if (count > 0) this.metrics.cacheRefreshed.inc({ kind: cache.kind }, count);
        renewed += count;
      }
    } catch (error) {
      // Postgres unavailable: the entries expire and lookups read (and retry) on demand, as without refresh.
      this.logger.warn({ error }, 'reference cache refresh-ahead failed');
    } finally {
      this.refreshing = false;
    }
    return renewed;
  }

  get isListening(): boolean {
    return this.listening;
  }

  /** Looks up everything a batch needs with at most one query per kind. */
  async lookupBatch(events: readonly LookupKeys[]): Promise<ReferenceLookup[]> {
    const useCache = this.listening;
    const currencies = events.map((e) => e.currency).filter((c) => c !== this.config.BASE_CURRENCY);
    const [accounts, merchants, rates] = await Promise.all([
      this.accounts.resolve(
        events.map((e) => e.account_id),
        useCache,
        this.metrics,
      ),
      this.merchants.resolve(
        events.map((e) => e.merchant_id),
        useCache,
        this.metrics,
      ),
      this.rates.resolve(currencies, useCache, this.metrics),
    ]);
    return events.map((e) => ({
      account: accounts.get(e.account_id) ?? null,
      merchant: merchants.get(e.merchant_id) ?? null,
      rates: rates.get(e.currency) ?? null,
    }));
  }

  /** A NOTIFY from the trigger: `table` is the table name, `key` the row's id (currency for rates). */
  invalidate(table: string, key: string): void {
    const cache = this.cacheFor(table);
    if (!cache) return;
    cache.invalidate(key);
    this.metrics.cacheInvalidations.inc({ kind: cache.kind, reason: 'notify' });
  }

  /** Listener up: caching on (after a clear, since changes may have been missed). Down: bypass. */
  setListening(listening: boolean): void {
    this.listening = listening;
    for (const cache of [this.accounts, this.merchants, this.rates]) {
      cache.clear();
      this.metrics.cacheInvalidations.inc({ kind: cache.kind, reason: listening ? 'listen-start' : 'listen-lost' });
      this.metrics.cacheEntries.set({ kind: cache.kind }, 0);
    }
    this.metrics.cacheListening.set(listening ? 1 : 0);
  }

  private cacheFor(table: string): KindCache<unknown> | undefined {
    if (table === 'accounts') return this.accounts as KindCache<unknown>;
    if (table === 'merchants') return this.merchants as KindCache<unknown>;
    if (table === 'currency_rates') return this.rates as KindCache<unknown>;
    return undefined;
  }
}
