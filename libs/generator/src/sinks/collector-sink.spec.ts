import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CollectorSink } from './collector-sink';
import { SinkRefusedError } from './event-sink';

/** A stand-in collector answering with the given statuses in turn (the last one repeats). */
async function collector(statuses: number[]): Promise<{ url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  let call = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push({ auth: req.headers.authorization, events: JSON.parse(body) });
      const status = statuses[Math.min(call++, statuses.length - 1)];
      const events = JSON.parse(body) as unknown[];
      res.writeHead(status, status === 429 ? { 'retry-after': '0' } : {});
      res.end(status === 200 ? JSON.stringify({ accepted: events.length, rejected: 0, results: [] }) : '{"error":"x"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

const batch = {
  transactions: [
    {
      event_id: '00000000-0000-4000-8000-000000000001',
      event_time: 1,
      account_id: 'a',
      merchant_id: 'm',
      amount: 1,
      currency: 'EUR',
      channel: 'pos' as const,
      card_present: true,
      device_id: null,
      ip_country: null,
    },
  ],
  labels: [
    {
      event_id: '00000000-0000-4000-8000-000000000001',
      account_id: 'a',
      is_fraud: false,
      label_time: 2,
      source: 'settlement',
      reason: null,
    },
  ],
};

describe('CollectorSink', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('posts transactions and labels as one typed JSON batch with the key, retrying 429/5xx with the same body', async () => {
    const fake = await collector([500, 429, 503, 200]);
    server = fake.server;
    const sink = new CollectorSink(fake.url, 'fw_key');
    const result = await sink.send(batch, new AbortController().signal);
    expect(result).toMatchObject({ accepted: 2, rejected: 0, retries: 3 });
    expect(sink.problem).toBeNull();
    expect(fake.bodies).toHaveLength(4);
    expect(new Set(fake.bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(fake.bodies[0]).toMatchObject({
      auth: 'Bearer fw_key',
      events: [
        { type: 'transaction', event_id: batch.transactions[0].event_id },
        { type: 'label', event_id: batch.labels[0].event_id },
      ],
    });
  }, 20_000);

  it('gives up on an answer no retry can fix (a revoked key)', async () => {
    const fake = await collector([403]);
    server = fake.server;
    await expect(new CollectorSink(fake.url, 'fw_key').send(batch, new AbortController().signal)).rejects.toThrow(
      SinkRefusedError,
    );
    expect(fake.bodies).toHaveLength(1);
  });

  it('says why it is waiting while the collector cannot be reached, and stops when told', async () => {
    const fake = await collector([200]);
    const url = fake.url;
    fake.server.close();
    const sink = new CollectorSink(url, 'fw_key');
    const stop = new AbortController();
    const sending = sink.send(batch, stop.signal);
    await vi.waitFor(() => expect(sink.problem).toMatch(/collector unreachable \(ECONNREFUSED\), retrying/), {
      timeout: 5_000,
      interval: 20,
    });
    stop.abort(new Error('stopped'));
    await expect(sending).rejects.toThrow('stopped');
  });
});
