import {
  type DeadLetter,
  dlqTopicFor,
  type EnrichedEvent,
  ensureTopics,
  type RawEvent,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import { type ServiceProcess, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  freshDatabase,
  http,
  kafkaTools,
  produceRaw,
  rawEvent,
  scrapeCounter,
  startEnrichment,
  TopicCollector,
} from './enrichment-harness';

/**
 * Two enrichment-api processes (same group, same database) on a unique topic prefix: reference API and
 * bulk load, stream enrichment with DLQ by rule, and cross-instance cache invalidation.
 */
describe('enrichment-api (two instances, real Kafka and Postgres)', () => {
  const env = testEnv();
  const prefix = testPrefix('enrich');
  const group = testGroup('enrichment');
  const tools = kafkaTools(env);
  let db: Awaited<ReturnType<typeof import('./enrichment-harness').freshDatabase>>;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let enriched: TopicCollector<EnrichedEvent>;
  let dlq: TopicCollector<DeadLetter>;

  beforeAll(async () => {
    const admin = tools.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.eventsEnriched] });
    await admin.disconnect();
    db = await freshDatabase(env);
    a = await startEnrichment(env, { prefix, db: db.url, group, clientId: 'enrichment-a' });
    b = await startEnrichment(env, { prefix, db: db.url, group, clientId: 'enrichment-b' });
    await tools.producer.connect();
    enriched = await new TopicCollector<EnrichedEvent>(
      tools.kafka,
      tools.serde,
      withPrefix(prefix, topics.eventsEnriched),
    ).start();
    dlq = await new TopicCollector<DeadLetter>(
      tools.kafka,
      tools.serde,
      dlqTopicFor(withPrefix(prefix, topics.eventsRaw)),
    ).start();
  });

  afterAll(async () => {
    await enriched?.stop();
    await dlq?.stop();
    await tools.producer.disconnect();
    await a?.stop();
    await b?.stop();
    await db?.drop();
  });

  it('refuses writes without the admin token and serves reads without it', async () => {
    const res = await fetch(`${a.url}/v1/reference/merchants/m-auth`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcc: '5411', category: 'grocery', risk_tier: 'LOW', country: 'DE' }),
    });
    expect(res.status).toBe(401);
    const wrong = await http(a.url).put(
      '/v1/reference/merchants/m-auth',
      { mcc: '5411', category: 'grocery', risk_tier: 'LOW', country: 'DE' },
      { authorization: 'Bearer not-the-token' },
    );
    expect(wrong.status).toBe(403); // a token, not the right one: libs/auth's rule, as registry and alerter
    expect((await fetch(`${a.url}/v1/reference/merchants/m-auth`)).status).toBe(404);
  });

  it('bulk-loads CSV and NDJSON: good rows load, bad rows are reported by line and field', async () => {
    const api = http(a.url);
    const csv = [
      'account_id,home_country,opened_at,segment',
      'acct-1,DE,2025-01-01T00:00:00Z,premium', // line 2 ok
      'acct-2,fr,1735689600000,retail', // line 3 ok (country upper-cased)
      'acct-bad-country,Germany,2025-01-01,retail', // line 4: home_country
      'acct-bad-date,DE,not-a-date,retail', // line 5: opened_at
      ',DE,2025-01-01,retail', // line 6: account_id
      'acct-short,DE', // line 7: field count
      'acct-3,US,2024-06-30,business', // line 8 ok
    ].join('\n');
    const accounts = await api.post('/v1/reference/accounts/bulk', csv, { 'content-type': 'text/csv' });
    expect(accounts.status).toBe(200);
    expect(accounts.body).toMatchObject({ kind: 'accounts', received: 7, loaded: 3, failed: 4 });
    expect(accounts.body.errors.map((e: { row: number; field: string | null }) => [e.row, e.field])).toEqual([
      [4, 'home_country'],
      [5, 'opened_at'],
      [6, 'account_id'],
      [7, null],
    ]);

    const ndjson = [
      JSON.stringify({ merchant_id: 'm-1', mcc: '5411', category: 'grocery', risk_tier: 'LOW', country: 'DE' }),
      JSON.stringify({ merchant_id: 'm-2', mcc: '7995', category: 'gambling', risk_tier: 'high', country: 'MT' }),
      '{ not json',
      JSON.stringify({ merchant_id: 'm-bad', mcc: '54', category: 'x', risk_tier: 'EXTREME', country: 'DE' }),
      JSON.stringify({ merchant_id: 'm-missing', mcc: '5411' }),
      JSON.stringify({
        merchant_id: 'm-risky',
        mcc: '5732',
        category: 'electronics',
        risk_tier: 'MEDIUM',
        country: 'DE',
      }),
    ].join('\n');
    const merchants = await api.post('/v1/reference/merchants/bulk', ndjson, {
      'content-type': 'application/x-ndjson',
    });
    expect(merchants.status).toBe(200);
    expect(merchants.body).toMatchObject({ kind: 'merchants', received: 6, loaded: 3, failed: 3 });
    const byRow = (row: number) =>
      merchants.body.errors
        .filter((e: { row: number }) => e.row === row)
        .map((e: { field: string | null }) => e.field)
        .sort();
    expect(byRow(3)).toEqual([null]);
    expect(byRow(4)).toEqual(['mcc', 'risk_tier']);
    expect(byRow(5)).toEqual(['category', 'country', 'risk_tier']);

    const rates = await api.post(
      '/v1/reference/rates/bulk',
      'currency,rate_to_base,valid_from\nUSD,0.5,\nUSD,0.9,2026-01-01T00:00:00Z\nGBP,-1,\nJPY,0.006,',
      { 'content-type': 'text/csv' },
    );
    expect(rates.body).toMatchObject({ loaded: 3, failed: 1, errors: [{ row: 4, field: 'rate_to_base' }] });

    expect((await api.get('/v1/reference/accounts/acct-2')).body).toMatchObject({
      account_id: 'acct-2',
      home_country: 'FR',
      opened_at: 1735689600000,
    });
    expect((await api.get('/v1/reference/merchants/m-2')).body).toMatchObject({ risk_tier: 'HIGH', country: 'MT' });
    expect((await api.get('/v1/reference/accounts/acct-bad-country')).status).toBe(404);
    expect((await api.get('/v1/reference/merchants/m-bad')).status).toBe(404);
    expect((await api.get('/v1/reference/rates/usd')).body.versions).toHaveLength(2);
    expect((await api.post('/v1/reference/accounts/bulk', '{}', { 'content-type': 'application/json' })).status).toBe(
      415,
    );
  });

  it('enriches the stream: known and unknown reference data, derived fields, rule violations to the DLQ', async () => {
    const eventTime = Date.now() - 60_000;
    const good: RawEvent[] = [
      rawEvent({ account_id: 'acct-1', merchant_id: 'm-1', amount: 100, currency: 'USD', event_time: eventTime }),
      rawEvent({ account_id: 'acct-1', merchant_id: 'm-2', amount: 20, currency: 'EUR', event_time: eventTime }),
      rawEvent({ account_id: 'acct-unknown', merchant_id: 'm-1', amount: 5, currency: 'EUR', event_time: eventTime }),
      rawEvent({
        account_id: 'acct-2',
        merchant_id: 'm-unknown',
        amount: 1000,
        currency: 'JPY',
        event_time: eventTime,
      }),
      rawEvent({
        account_id: 'acct-1',
        merchant_id: 'm-1',
        amount: 7,
        currency: 'EUR',
        channel: 'ecom',
        card_present: false,
        ip_country: 'US',
        event_time: eventTime,
      }),
    ];
    const bad: [string, RawEvent][] = [
      ['amount-positive', rawEvent({ amount: 0 })],
      ['amount-positive', rawEvent({ amount: -5 })],
      ['currency-known', rawEvent({ currency: 'XXX' })],
      ['amount-max', rawEvent({ amount: 2_000_000 })],
      ['event-time-not-future', rawEvent({ event_time: Date.now() + 3_600_000 })],
      ['event-type-supported', rawEvent({ event_type: 'label' })],
    ];
    const all = [...good, ...bad.map(([, e]) => e)];
    const ids = new Set(all.map((e) => e.event_id));
    await produceRaw(tools.producer, prefix, all);

    const mine = () => enriched.values().filter((e) => ids.has(e.event_id));
    const mineDlq = () => dlq.values().filter((d) => d.event_id !== null && ids.has(d.event_id));
    await waitUntil(() => mine().length >= good.length && mineDlq().length >= bad.length, {
      timeoutMs: 60_000,
      message: 'enriched + dead-lettered',
    });
    const byId = new Map(mine().map((e) => [e.event_id, e]));
    expect(byId.size).toBe(good.length);

    const usd = byId.get(good[0].event_id);
    expect(usd).toMatchObject({
      ...good[0],
      account_known: true,
      account_home_country: 'DE',
      account_segment: 'premium',
      account_opened_at: Date.parse('2025-01-01T00:00:00Z'),
      merchant_known: true,
      merchant_mcc: '5411',
      merchant_category: 'grocery',
      merchant_risk_tier: 'LOW',
      merchant_country: 'DE',
      base_currency: 'EUR',
      is_foreign: false,
      hour_of_day: new Date(eventTime).getUTCHours(),
      account_age_days: Math.floor(eventTime / 86_400_000) - Math.floor(Date.parse('2025-01-01') / 86_400_000),
    });
    expect(usd?.amount_base).toBeCloseTo(90, 6); // the 2026-01-01 USD rate (0.9), not the older 0.5
    expect(byId.get(good[1].event_id)).toMatchObject({
      merchant_country: 'MT',
      merchant_risk_tier: 'HIGH',
      is_foreign: true,
    });
    expect(byId.get(good[2].event_id)).toMatchObject({
      account_known: false,
      account_home_country: null,
      account_segment: null,
      account_opened_at: null,
      account_age_days: null,
      merchant_known: true,
      is_foreign: false,
    });
    const unknownMerchant = byId.get(good[3].event_id);
    expect(unknownMerchant).toMatchObject({
      account_known: true,
      merchant_known: false,
      merchant_mcc: null,
      merchant_category: null,
      merchant_risk_tier: null,
      merchant_country: null,
    });
    expect(unknownMerchant?.amount_base).toBeCloseTo(6, 6);
    expect(byId.get(good[4].event_id)).toMatchObject({ is_foreign: true, merchant_country: 'DE' });

    const letters = new Map(mineDlq().map((d) => [d.event_id, d]));
    expect(letters.size).toBe(bad.length);
    for (const [rule, event] of bad) {
      const letter = letters.get(event.event_id);
      expect(letter?.failure_kind).toBe('enrichment');
      expect(letter?.error_message).toContain(`'${rule}'`);
      expect(letter?.stage).toBe('enrichment-api');
      expect(letter?.original_topic).toBe(withPrefix(prefix, topics.eventsRaw));
      expect(byId.has(event.event_id)).toBe(false);
    }
    const rejectedMetric = async (rule: string) =>
      (await scrapeCounter(a.url, 'flywheel_enrichment_api_events_rejected_total', { rule })) +
      (await scrapeCounter(b.url, 'flywheel_enrichment_api_events_rejected_total', { rule }));
    expect(await rejectedMetric('amount-positive')).toBe(2);
    expect(await rejectedMetric('currency-known')).toBe(1);
  });

  it('online enrichment returns what the stream attaches, and rule failures as 422', async () => {
    const api = http(b.url);
    const ok = await api.post('/v1/enrich', {
      event_time: Date.now() - 1_000,
      account_id: 'acct-3',
      merchant_id: 'm-1',
      amount: 10,
      currency: 'USD',
    });
    expect(ok.status).toBe(200);
    expect(ok.body.attached).toMatchObject({ account_home_country: 'US', merchant_country: 'DE', is_foreign: true });
    expect(ok.body.attached.amount_base).toBeCloseTo(9, 6);
    expect(ok.body.attached).not.toHaveProperty('account_id');
    const rejected = await api.post('/v1/enrich', {
      event_time: Date.now(),
      account_id: 'acct-3',
      merchant_id: 'm-1',
      amount: -1,
      currency: 'EUR',
    });
    expect(rejected.status).toBe(422);
    expect(rejected.body.rule).toBe('amount-positive');
    expect((await api.post('/v1/enrich', { amount: 'ten' })).status).toBe(400);
  });

  it('a merchant updated through instance A is seen by instance B within a second', async () => {
    const apiA = http(a.url);
    const apiB = http(b.url);
    const probe = {
      event_time: Date.now() - 1_000,
      account_id: 'acct-1',
      merchant_id: 'm-cache',
      amount: 1,
      currency: 'EUR',
    };
    const tiers = ['LOW', 'MEDIUM', 'HIGH', 'LOW', 'HIGH'] as const;
    expect(
      (
        await apiA.put('/v1/reference/merchants/m-cache', {
          mcc: '5411',
          category: 'c0',
          risk_tier: 'LOW',
          country: 'DE',
        })
      ).status,
    ).toBe(200);
    const latencies: number[] = [];
    for (let round = 1; round <= tiers.length; round++) {
      const category = `c${round - 1}`;
      // Warm B's cache with the current version and prove the next lookup is a cache hit.
      await waitUntil(async () => (await apiB.post('/v1/enrich', probe)).body.attached.merchant_category === category);
      const hitsBefore = await scrapeCounter(b.url, 'flywheel_enrichment_api_cache_lookups_total', {
        kind: 'merchant',
        result: 'hit',
      });
      expect((await apiB.post('/v1/enrich', probe)).body.attached.merchant_category).toBe(category);
      expect(
        await scrapeCounter(b.url, 'flywheel_enrichment_api_cache_lookups_total', { kind: 'merchant', result: 'hit' }),
      ).toBe(hitsBefore + 1);

      const started = performance.now();
      const put = await apiA.put('/v1/reference/merchants/m-cache', {
        mcc: '5411',
        category: `c${round}`,
        risk_tier: tiers[round - 1],
        country: 'DE',
      });
      expect(put.status).toBe(200);
      await waitUntil(
        async () => (await apiB.post('/v1/enrich', probe)).body.attached.merchant_category === `c${round}`,
        { timeoutMs: 5_000, intervalMs: 5, message: `B sees update ${round}` },
      );
      latencies.push(performance.now() - started);
    }
    console.log(`[cache] update on A visible on B after ${latencies.map((l) => l.toFixed(1)).join(', ')} ms`);
    for (const latency of latencies) expect(latency).toBeLessThan(1_000);

    // A delete is an invalidation too: B reports the merchant unknown.
    expect((await apiA.del('/v1/reference/merchants/m-cache')).status).toBe(204);
    await waitUntil(async () => (await apiB.post('/v1/enrich', probe)).body.attached.merchant_known === false, {
      timeoutMs: 1_000,
      intervalMs: 5,
      message: 'B sees the delete',
    });
  });
});
