import pino from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EnrichmentConfig } from '../config';
import { EnrichmentMetrics } from '../enrichment/enrichment.metrics';
import type { AccountRef } from '../enrichment/enrichment.model';
import type { ReferenceStore } from './reference.store';
import { ReferenceCache } from './reference-cache';

const TTL = 30_000;

/** A store whose account rows the test edits; counts the ids each query asked for. */
function fakeStore() {
  const accounts = new Map<string, AccountRef>();
  const queries: string[][] = [];
  let gate: Promise<void> | undefined;
  const store = {
    findAccounts: async (ids: string[]) => {
      queries.push(ids);
      const snapshot = new Map(ids.flatMap((id) => (accounts.has(id) ? [[id, accounts.get(id) as AccountRef]] : [])));
      await gate;
      return snapshot;
    },
    findMerchants: async () => new Map(),
    findRates: async () => new Map(),
  };
  return {
    store: store as unknown as ReferenceStore,
    accounts,
    queries,
    hold: () => {
      let release: () => void = () => undefined;
      gate = new Promise((resolve) => {
        release = resolve;
      });
      return () => {
        gate = undefined;
        release();
      };
    },
  };
}

function account(id: string, segment: string): AccountRef {
  return { account_id: id, home_country: 'DE', opened_at: 0, segment } as unknown as AccountRef;
}

const event = (accountId: string) => ({ account_id: accountId, merchant_id: 'm-1', currency: 'EUR' });

describe('ReferenceCache refresh-ahead', () => {
  let fake: ReturnType<typeof fakeStore>;
  let cache: ReferenceCache;
  let registry: Registry;

  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    fake = fakeStore();
    registry = new Registry();
    const config = { CACHE_MAX_ENTRIES: 100, CACHE_TTL_MS: TTL, BASE_CURRENCY: 'EUR' } as EnrichmentConfig;
    cache = new ReferenceCache(fake.store, new EnrichmentMetrics(registry), config, pino({ level: 'silent' }));
    cache.setListening(true);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('reloads an entry in use before it expires, so the event path never waits for Postgres', async () => {
    fake.accounts.set('a-1', account('a-1', 'retail'));
    await cache.lookupBatch([event('a-1')]); // miss: loaded
    await cache.lookupBatch([event('a-1')]); // hit: in use
    fake.accounts.set('a-1', account('a-1', 'premium'));
    vi.advanceTimersByTime(0.6 * TTL); // expires within the next half TTL

    // The account and the merchant (cached as unknown: absence is cached too) were both read.
    expect(await cache.refreshAhead(TTL / 2)).toBe(2);
    expect(fake.queries).toEqual([['a-1'], ['a-1']]);

    vi.advanceTimersByTime(0.6 * TTL); // past the first load's expiry
    const [lookup] = await cache.lookupBatch([event('a-1')]);
    expect(lookup.account?.segment).toBe('premium');
    expect(fake.queries).toHaveLength(2); // answered from the renewed entry
    const refreshed = await registry.getSingleMetricAsString('flywheel_enrichment_api_cache_refreshed_total');
    expect(refreshed).toContain('kind="account"} 1');
  });

  it('lets an entry nobody read since its load expire', async () => {
    fake.accounts.set('a-1', account('a-1', 'retail'));
    await cache.lookupBatch([event('a-1')]);
    vi.advanceTimersByTime(0.6 * TTL);
    expect(await cache.refreshAhead(TTL / 2)).toBe(0);
    expect(fake.queries).toHaveLength(1);
  });

  it('does not renew from a load that raced with an invalidation', async () => {
    fake.accounts.set('a-1', account('a-1', 'retail'));
    await cache.lookupBatch([event('a-1')]);
    await cache.lookupBatch([event('a-1')]);
    vi.advanceTimersByTime(0.6 * TTL);
    const release = fake.hold();
    const refresh = cache.refreshAhead(TTL / 2); // reads 'retail', then waits
    await Promise.resolve();
    fake.accounts.set('a-1', account('a-1', 'premium'));
    cache.invalidate('accounts', 'a-1'); // the NOTIFY of that change
    release();
    expect(await refresh).toBe(1); // the merchant's entry only

    const [lookup] = await cache.lookupBatch([event('a-1')]);
    expect(lookup.account?.segment).toBe('premium');
  });

  it('does nothing while the caches are bypassed (LISTEN connection down)', async () => {
    fake.accounts.set('a-1', account('a-1', 'retail'));
    await cache.lookupBatch([event('a-1')]);
    await cache.lookupBatch([event('a-1')]);
    cache.setListening(false);
    vi.advanceTimersByTime(0.6 * TTL);
    expect(await cache.refreshAhead(TTL / 2)).toBe(0);
  });
});
