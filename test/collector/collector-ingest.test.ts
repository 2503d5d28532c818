import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { type DeadLetter, failureKinds, type Label, type RawEvent, topics } from '@flywheel/contracts';
import { type ServiceProcess, testPrefix, waitUntil } from '@flywheel/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  apiKeys,
  createKey,
  createTopics,
  dlqOf,
  post,
  startCollector,
  TopicReader,
  transaction,
} from './collector-harness';

const env = testEnv();
const prefix = testPrefix('collector');
let kafka: Kafka;
let collector: ServiceProcess;
let key: { id: string; key: string };
let raw: TopicReader<RawEvent>;
let labels: TopicReader<Label>;
let dlq: TopicReader<DeadLetter>;
const json = () => ({ 'content-type': 'application/json', authorization: `Bearer ${key.key}` });
const ndjson = () => ({ 'content-type': 'application/x-ndjson', 'x-api-key': key.key });

beforeAll(async () => {
  kafka = await createTopics(env.kafkaBrokers, prefix);
  key = await createKey(env.databaseUrl, 'pos-gateway');
  collector = await startCollector({
    KAFKA_BROKERS: env.kafkaBrokers,
    SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
    DATABASE_URL: env.databaseUrl,
    TOPIC_PREFIX: prefix,
    INSTANCE_ID: 'collector-t1',
    COLLECTOR_MAX_BODY_BYTES: '200000',
    COLLECTOR_MAX_EVENT_BYTES: '4096',
    COLLECTOR_MAX_EVENTS_PER_BATCH: '500',
  });
  raw = await TopicReader.start(kafka, env.schemaRegistryUrl, prefix, topics.eventsRaw);
  labels = await TopicReader.start(kafka, env.schemaRegistryUrl, prefix, topics.labels);
  dlq = await TopicReader.start(kafka, env.schemaRegistryUrl, prefix, dlqOf(topics.eventsRaw));
});

afterAll(async () => {
  await Promise.all([raw?.stop(), labels?.stop(), dlq?.stop()]);
  await collector?.stop();
});

const rawById = (id: string) => raw.records.find((r) => r.value.event_id === id);
const dlqBy = (predicate: (d: DeadLetter) => boolean) => dlq.records.find((r) => predicate(r.value));

describe('collector: accepted events', () => {
  it('takes a JSON array: transactions to events.raw.v1 and labels to labels.v1, decoded equal, keyed by account', async () => {
    const events = Array.from({ length: 10 }, (_, i) => transaction(i, { device_id: i === 0 ? 'dev-1' : null }));
    const givenId = randomUUID();
    events[3] = transaction(3, {
      event_id: givenId,
      event_time: '2024-05-06T07:08:09.010Z',
      attributes: { tier: 'gold' },
    });
    const label = {
      type: 'label',
      event_id: givenId,
      account_id: 'acct-3',
      is_fraud: true,
      label_time: 1_700_000_100_000,
    };
    const res = await post(collector.url, JSON.stringify([...events, label]), json());
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: 11, rejected: 0 });
    const results = res.json.results as { index: number; event_id: string; status: string }[];
    expect(results.map((r) => r.index)).toEqual([...Array(11).keys()]);
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
    expect(results[3].event_id).toBe(givenId);

    await waitUntil(() => results.slice(0, 10).every((r) => rawById(r.event_id)), { timeoutMs: 20_000 });
    for (const [i, sent] of events.entries()) {
      const got = rawById(results[i].event_id)!;
      const { type: _, ...fields } = sent;
      expect(got.key).toBe(sent.account_id);
      expect(got.headers).toMatchObject({ event_id: results[i].event_id, api_key_id: key.id });
      expect(got.value).toEqual({
        ip_country: null,
        device_id: null,
        attributes: null,
        ...fields,
        event_time: i === 3 ? Date.parse('2024-05-06T07:08:09.010Z') : sent.event_time,
        event_id: results[i].event_id,
        event_type: 'transaction',
        source: 'pos-gateway@collector-t1',
        api_key_id: key.id,
        received_time: expect.any(Number),
      });
      expect(Math.abs(got.value.received_time - Date.now())).toBeLessThan(60_000);
    }
    await waitUntil(() => labels.records.find((r) => r.value.event_id === givenId), { timeoutMs: 20_000 });
    const gotLabel = labels.records.find((r) => r.value.event_id === givenId)!;
    expect(gotLabel.key).toBe('acct-3');
    const { type: _type, ...labelFields } = label;
    expect(gotLabel.value).toEqual({ ...labelFields, source: 'pos-gateway', reason: null });
  });

  it('takes NDJSON, plain and gzip-compressed', async () => {
    const events = Array.from({ length: 20 }, (_, i) => transaction(100 + i));
    const body = `${events.map((e) => JSON.stringify(e)).join('\n')}\n`;
    const plain = await post(collector.url, body, ndjson());
    const zipped = await post(collector.url, gzipSync(body), { ...ndjson(), 'content-encoding': 'gzip' });
    const zippedJson = await post(collector.url, gzipSync(JSON.stringify(events)), {
      ...json(),
      'content-encoding': 'gzip',
    });
    for (const res of [plain, zipped, zippedJson]) expect(res.json).toMatchObject({ accepted: 20, rejected: 0 });
    const ids = [plain, zipped, zippedJson].flatMap((res) =>
      res.json.results.map((r: { event_id: string }) => r.event_id),
    );
    expect(new Set(ids).size).toBe(60);
    await waitUntil(() => ids.every((id) => rawById(id)), { timeoutMs: 20_000 });
    expect(rawById(ids[5])!.value).toMatchObject({ account_id: events[5].account_id, amount: events[5].amount });
  });
});

describe('collector: bad input', () => {
  it('malformed JSON → 400, one payload-format dead letter with the raw body', async () => {
    const body = `[{"type":"transaction", "amount": ${randomUUID()}`;
    const res = await post(collector.url, body, json());
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: 'malformed-body', message: expect.stringMatching(/not valid JSON/) });
    const letter = await waitUntil(() => dlqBy((d) => d.original_value?.toString() === body), { timeoutMs: 20_000 });
    expect(letter.value).toMatchObject({
      failure_kind: failureKinds.payloadFormat,
      stage: 'collector',
      original_partition: null,
      original_offset: null,
      original_topic: `${prefix}${topics.eventsRaw}`,
    });
  });

  it('wrong types → rejected per event with the field; DLQ has the item; the valid neighbour is accepted (200)', async () => {
    const marker = randomUUID();
    const bad = transaction(1, { amount: '12.50', device_id: marker });
    const res = await post(collector.url, JSON.stringify([transaction(2), bad]), json());
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ accepted: 1, rejected: 1 });
    expect(res.json.results[1]).toMatchObject({
      index: 1,
      status: 'rejected',
      field: 'amount',
      reason: expect.stringMatching(/schema-violation: expected double, got string/),
    });
    const letter = await waitUntil(() => dlqBy((d) => d.original_value?.toString().includes(marker) ?? false), {
      timeoutMs: 20_000,
    });
    expect(JSON.parse(letter.value.original_value!.toString())).toEqual(bad);
    expect(letter.value).toMatchObject({
      failure_kind: 'schema-violation',
      error_message: expect.stringMatching(/^amount: /),
    });
    expect(letter.key).toBe(bad.account_id);
  });

  it('missing required fields → 422 when nothing in the batch is valid', async () => {
    const { merchant_id: _, ...noMerchant } = transaction(1);
    const { account_id: __, ...noAccount } = transaction(2);
    const res = await post(collector.url, JSON.stringify([noMerchant, noAccount]), json());
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ accepted: 0, rejected: 2 });
    expect(res.json.results.map((r: { field: string }) => r.field)).toEqual(['merchant_id', 'account_id']);
    expect(res.json.results[0].reason).toMatch(/missing required field/);
  });

  it('unknown event type → rejected naming `type`', async () => {
    const res = await post(collector.url, JSON.stringify([{ ...transaction(1), type: 'pageview' }]), json());
    expect(res.status).toBe(422);
    expect(res.json.results[0]).toMatchObject({
      field: 'type',
      reason: expect.stringMatching(/unknown event type 'pageview'/),
    });
  });

  it('oversized body → 413 (on the wire, and inflated from gzip), too many events → 413', async () => {
    const huge = JSON.stringify(Array.from({ length: 1_500 }, (_, i) => transaction(i)));
    expect(huge.length).toBeGreaterThan(200_000);
    expect((await post(collector.url, huge, json())).status).toBe(413);
    const bomb = gzipSync(Buffer.alloc(50_000_000, 32));
    const inflated = await post(collector.url, bomb, { ...json(), 'content-encoding': 'gzip' });
    expect(inflated.status).toBe(413);
    expect(inflated.json.message).toMatch(/inflates/);
    const many = JSON.stringify(Array.from({ length: 501 }, () => ({})));
    expect((await post(collector.url, many, json())).json).toMatchObject({ error: 'too-many-events' });
    // still serving
    expect((await post(collector.url, JSON.stringify([transaction(9)]), json())).status).toBe(200);
  });

  it('oversized single event → that event rejected with kind size, the rest accepted', async () => {
    const big = transaction(1, { attributes: { pad: 'x'.repeat(5_000) } });
    const res = await post(collector.url, JSON.stringify([big, transaction(2)]), json());
    expect(res.status).toBe(200);
    expect(res.json.results[0]).toMatchObject({
      status: 'rejected',
      reason: expect.stringMatching(/^size: event is \d+ bytes; the limit is 4096/),
    });
    await waitUntil(() => dlqBy((d) => d.failure_kind === failureKinds.size), { timeoutMs: 20_000 });
  });

  it('invalid UTF-8 → 400', async () => {
    const body = Buffer.concat([
      Buffer.from('[{"type":"transaction","account_id":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('"}]'),
    ]);
    const res = await post(collector.url, body, json());
    expect(res.status).toBe(400);
    expect(res.json.message).toMatch(/UTF-8/);
  });

  it('unsupported content type → 415', async () => {
    const res = await post(collector.url, 'a=b', { ...json(), 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
  });

  it('duplicate event_id inside one batch → the second is rejected', async () => {
    const id = randomUUID();
    const res = await post(
      collector.url,
      JSON.stringify([transaction(1, { event_id: id }), transaction(2, { event_id: id })]),
      json(),
    );
    expect(res.json.results.map((r: { status: string }) => r.status)).toEqual(['accepted', 'rejected']);
    expect(res.json.results[1].reason).toMatch(/duplicate event_id/);
  });

  it('fuzz: 10,000 random byte bodies get a clear 4xx each and the process keeps serving', async () => {
    let seed = 0x5eed_f00d;
    const rand = () => {
      // mulberry32
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const alphabet = Buffer.from('[]{}",:0123456789.-eE truefalsn\n\\abc\u00e9');
    const body = (): { body: Buffer; headers: Record<string, string> } => {
      const length = Math.floor(rand() * 600);
      const bytes = Buffer.alloc(length);
      const jsonish = rand() < 0.5;
      for (let i = 0; i < length; i++)
        bytes[i] = jsonish ? alphabet[Math.floor(rand() * alphabet.length)] : Math.floor(rand() * 256);
      const pick = rand();
      if (pick < 0.45) return { body: bytes, headers: json() };
      if (pick < 0.9) return { body: bytes, headers: ndjson() };
      return { body: gzipSync(bytes), headers: { ...json(), 'content-encoding': 'gzip' } };
    };
    const statuses = new Map<number, number>();
    const started = Date.now();
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        next++;
        const { body: b, headers } = body();
        const res = await post(collector.url, b, headers);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect(res.status, `body ${b.toString('hex').slice(0, 80)}`).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(
          typeof res.json === 'object' && res.json !== null && ('error' in res.json || 'results' in res.json),
        ).toBe(true);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    const elapsed = Date.now() - started;
    console.log(`[fuzz] 10,000 bodies in ${elapsed} ms: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(10_000);
    expect(elapsed).toBeLessThan(150_000);
    expect((await fetch(`${collector.url}/health/ready`)).status).toBe(200);
    const ok = await post(collector.url, JSON.stringify([transaction(77)]), json());
    expect(ok.status).toBe(200);
  });
});

describe('collector: API keys', () => {
  it('no key → 401, wrong key → 401, revoked key → 403 within seconds of `api-keys revoke`', async () => {
    const body = JSON.stringify([transaction(1)]);
    const none = await post(collector.url, body, { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect(none.json.message).toMatch(/missing API key/);
    const forged = `fw_${key.id}_${'A'.repeat(43)}`;
    expect(
      (await post(collector.url, body, { 'content-type': 'application/json', authorization: `Bearer ${forged}` }))
        .status,
    ).toBe(401);
    expect(
      (await post(collector.url, body, { 'content-type': 'application/json', 'x-api-key': 'garbage' })).status,
    ).toBe(401);

    const victim = await createKey(env.databaseUrl, 'short-lived');
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${victim.key}` };
    expect((await post(collector.url, body, headers)).status).toBe(200);
    expect(await apiKeys(env.databaseUrl, 'revoke', victim.id)).toMatch(/revoked/);
    const listed = JSON.parse(await apiKeys(env.databaseUrl, 'list', '--json')) as {
      id: string;
      revokedAt: string | null;
    }[];
    expect(listed.find((k) => k.id === victim.id)?.revokedAt).toBeTruthy();
    // the secret is everything after `fw_<id>_` (it may itself contain '_')
    expect(JSON.stringify(listed)).not.toContain(victim.key.slice(`fw_${victim.id}_`.length));
    const started = Date.now();
    const refused = await waitUntil(
      async () => {
        const res = await post(collector.url, body, headers);
        return res.status === 403 ? res : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 250 },
    );
    expect(refused.json.message).toMatch(/revoked/);
    // The key cache TTL is 5 s; the rest is slack for requests on a loaded 2-core machine (it failed once at 7 s).
    expect(Date.now() - started).toBeLessThan(10_000);
    await waitUntil(() => dlqBy((d) => d.failure_kind === failureKinds.auth), { timeoutMs: 60_000 });
  });

  it('exports request and event metrics', async () => {
    const text = await (await fetch(`${collector.url}/metrics`)).text();
    expect(text).toMatch(/flywheel_collector_requests_total\{status="200"[^}]*\} \d+/);
    expect(text).toMatch(
      /flywheel_collector_events_total\{type="transaction",outcome="rejected",reason="schema-violation"/,
    );
    expect(text).toContain('flywheel_collector_produce_duration_seconds_bucket');
    expect(text).toContain('flywheel_collector_batch_size_events_bucket');
  });
});

describe('collector: rate limit', () => {
  it('answers 429 with Retry-After once a key exceeds its events/s', async () => {
    const limited = await startCollector({
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      DATABASE_URL: env.databaseUrl,
      TOPIC_PREFIX: prefix,
      COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND: '10',
      COLLECTOR_RATE_LIMIT_BURST: '50',
      COLLECTOR_MAX_EVENTS_PER_BATCH: '50',
    });
    try {
      const batch = JSON.stringify(Array.from({ length: 50 }, (_, i) => transaction(i)));
      expect((await post(limited.url, batch, json())).status).toBe(200);
      const refused = await post(limited.url, batch, json());
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.stop();
    }
  });
});
