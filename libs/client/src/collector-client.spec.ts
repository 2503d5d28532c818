import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorClient } from './collector-client';
import { CollectorRequestError } from './errors';
import { EventBatcher } from './event-batcher';
import type { TransactionInput } from './events';
import { retryAfterMs } from './retry-after';

/** A local HTTP server standing in for the collector: each request is answered by the next scripted reply. */
type Reply = (events: Array<Record<string, unknown>>, res: ServerResponse) => void;

const accept: Reply = (events, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      accepted: events.length,
      rejected: 0,
      results: events.map((e, index) => ({ index, event_id: e.event_id ?? null, status: 'accepted' })),
    }),
  );
};
const status =
  (code: number, headers: Record<string, string> = {}): Reply =>
  (_events, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: 'x', message: `scripted ${code}` }));
  };

let server: Server | undefined;
const bodies: Array<Array<Record<string, unknown>>> = [];
const authorizations: string[] = [];

async function fakeCollector(replies: Reply[], fallback: Reply = accept): Promise<string> {
  bodies.length = 0;
  authorizations.length = 0;
  const listening = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    req.on('end', () => {
      const events = JSON.parse(text) as Array<Record<string, unknown>>;
      bodies.push(events);
      authorizations.push(req.headers.authorization ?? '');
      (replies.shift() ?? fallback)(events, res);
    });
  });
  server = listening;
  await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function transaction(i: number, withId = false): TransactionInput {
  return {
    type: 'transaction',
    ...(withId ? { event_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` } : {}),
    event_time: 1_767_261_600_000 + i,
    account_id: `a-${i}`,
    merchant_id: 'm',
    amount: i,
    currency: 'EUR',
    channel: 'pos',
    card_present: true,
  };
}

describe('CollectorClient', () => {
  it('splits into batches, sends the key, and returns one result per event with the caller’s indices', async () => {
    const url = await fakeCollector([]);
    const client = new CollectorClient({ url, apiKey: 'fw_key', maxBatchEvents: 3 });
    const events = Array.from({ length: 7 }, (_, i) => transaction(i, i % 2 === 0));
    const result = await client.send(events);
    expect(bodies.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(authorizations.every((a) => a === 'Bearer fw_key')).toBe(true);
    expect(result.accepted).toBe(7);
    expect(result.results.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // ids kept where given, assigned (a UUID) where not; the caller's objects are not modified
    const sentIds = bodies.flat().map((e) => e.event_id as string);
    expect(result.results.map((r) => r.event_id)).toEqual(sentIds);
    expect(sentIds[0]).toBe(events[0].event_id);
    expect(sentIds[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(events[1].event_id).toBeUndefined();
  });

  it('keeps batches under the byte limit too', async () => {
    const url = await fakeCollector([]);
    const client = new CollectorClient({ url, apiKey: 'k', maxBatchEvents: 1000, maxBatchBytes: 1000 });
    await client.send(Array.from({ length: 20 }, (_, i) => transaction(i, true)));
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(1000);
    expect(bodies.flat()).toHaveLength(20);
  });

  it('retries 503 and 429 as Retry-After says, resending the same events (same ids)', async () => {
    const url = await fakeCollector([status(503, { 'retry-after': '1' }), status(429, { 'retry-after': '0' })]);
    const retries: Array<{ status: number | undefined; delayMs: number }> = [];
    const client = new CollectorClient({
      url,
      apiKey: 'k',
      onRetry: ({ status: s, delayMs }) => retries.push({ status: s, delayMs }),
    });
    const result = await client.send([transaction(1), transaction(2)]);
    expect(retries).toEqual([
      { status: 503, delayMs: 1000 },
      { status: 429, delayMs: 0 },
    ]);
    expect(bodies).toHaveLength(3);
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
    expect(result.accepted).toBe(2);
  });

  it('gives up on a collector that stays unavailable: a retriable error', async () => {
    const url = await fakeCollector([], status(503, { 'retry-after': '0' }));
    const client = new CollectorClient({ url, apiKey: 'k', maxRetries: 2 });
    const error = await client.send([transaction(1)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CollectorRequestError);
    expect(error).toMatchObject({ status: 503, retriable: true });
    expect(bodies).toHaveLength(3);
  });

  it('does not retry a refused key; the batches answered before are in `partial`', async () => {
    const url = await fakeCollector([accept, status(403)]);
    const client = new CollectorClient({ url, apiKey: 'k', maxBatchEvents: 2 });
    const error = (await client
      .send([1, 2, 3, 4, 5].map((i) => transaction(i)))
      .catch((e: unknown) => e)) as CollectorRequestError;
    expect(error).toMatchObject({ status: 403, retriable: false });
    expect(error.message).toContain('HTTP 403 scripted 403');
    expect(error.partial?.accepted).toBe(2);
    expect(bodies).toHaveLength(2);
  });

  it('passes per-event rejections through (422 = all of a batch rejected)', async () => {
    const url = await fakeCollector([
      (events, res) => {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            accepted: 0,
            rejected: events.length,
            results: events.map((_, index) => ({
              index,
              event_id: null,
              status: 'rejected',
              reason: 'schema-violation: expected double',
              field: 'amount',
            })),
          }),
        );
      },
    ]);
    const result = await new CollectorClient({ url, apiKey: 'k', maxBatchEvents: 1 }).send([
      transaction(1),
      transaction(2),
    ]);
    expect(result).toMatchObject({ accepted: 1, rejected: 1 });
    expect(result.results[0]).toMatchObject({ index: 0, status: 'rejected', field: 'amount' });
    expect(result.results[1]).toMatchObject({ index: 1, status: 'accepted' });
  });

  it('retries when nothing answers, then reports it unreachable', async () => {
    const url = await fakeCollector([]);
    await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
    const client = new CollectorClient({ url, apiKey: 'k', maxRetries: 1, maxRetryDelayMs: 10 });
    const error = await client.send([transaction(1)]).catch((e: unknown) => e);
    expect(error).toMatchObject({ status: undefined, retriable: true });
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});

describe('EventBatcher', () => {
  it('collects single events into batches and resolves each with its own result', async () => {
    const url = await fakeCollector([]);
    const batcher = new EventBatcher(new CollectorClient({ url, apiKey: 'k' }), { maxEvents: 2, lingerMs: 20 });
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => batcher.add(transaction(i, true))));
    expect(bodies.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(results.map((r) => r.event_id)).toEqual([1, 2, 3, 4, 5].map((i) => transaction(i, true).event_id));
    expect(results.every((r) => r.status === 'accepted')).toBe(true);
  });
});

describe('retryAfterMs', () => {
  it('reads delta-seconds and HTTP dates, and nothing else', () => {
    expect(retryAfterMs('5')).toBe(5000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('2015-10-21T07:28:00Z'))).toBe(10_000);
    expect(retryAfterMs('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('2015-10-21T07:29:00Z'))).toBe(0);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});
