import type { Alert } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { DeliveryOutbox, retryDelayMs } from './delivery-outbox';
import { toAlertmanager, toPlain } from './webhook-formats';

const alert = (status: 'FIRING' | 'RESOLVED', fingerprint = 'abc'): Alert => ({
  alert_id: 'id-1',
  fingerprint,
  rule: 'SV',
  status,
  severity: 'warning',
  labels: { alertname: 'SV', topic: 'events.raw.v1' },
  annotations: { summary: 's' },
  starts_at: Date.UTC(2026, 0, 1),
  ends_at: status === 'RESOLVED' ? Date.UTC(2026, 0, 1, 0, 5) : null,
  value: 3,
});

describe('webhook formats', () => {
  it('renders Alertmanager webhook v4', () => {
    const body = toAlertmanager([alert('FIRING'), alert('RESOLVED', 'def')], {
      receiver: 'r',
      externalUrl: 'http://x',
    });
    expect(body).toMatchObject({ version: '4', status: 'firing', receiver: 'r', commonLabels: { alertname: 'SV' } });
    expect(body.alerts[0]).toMatchObject({
      status: 'firing',
      startsAt: '2026-01-01T00:00:00.000Z',
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: 'abc',
    });
    expect(body.alerts[1]).toMatchObject({ status: 'resolved', endsAt: '2026-01-01T00:05:00.000Z' });
    expect(toAlertmanager([alert('RESOLVED')], { receiver: 'r', externalUrl: 'http://x' }).status).toBe('resolved');
  });

  it('renders the plain format', () => {
    expect(toPlain([alert('FIRING')]).alerts[0]).toMatchObject({ rule: 'SV', status: 'FIRING', ends_at_iso: null });
  });
});

describe('DeliveryOutbox', () => {
  it('backs off exponentially up to the maximum', () => {
    expect([1, 2, 3, 4, 10].map((a) => retryDelayMs(a, 100, 500))).toEqual([100, 200, 400, 500, 500]);
  });

  it('retries in order until the sink accepts, without blocking enqueue', async () => {
    let up = false;
    const delivered: string[] = [];
    let failures = 0;
    const outbox = new DeliveryOutbox<string>(
      { name: 't', initialBackoffMs: 5, maxBackoffMs: 20, maxBatch: 10, maxItems: 100, onFailed: () => failures++ },
      async (items) => {
        if (!up) throw new Error('503');
        delivered.push(...items);
      },
    );
    outbox.enqueue('firing');
    await until(() => failures >= 3);
    outbox.enqueue('resolved'); // returns at once although the sink is down
    expect(outbox.size).toBe(2);
    up = true;
    await until(() => delivered.length === 2);
    expect(delivered).toEqual(['firing', 'resolved']);
    expect(outbox.size).toBe(0);
    await outbox.close();
  });

  it('drops the oldest beyond maxItems', () => {
    let dropped = 0;
    const outbox = new DeliveryOutbox<number>(
      {
        name: 't',
        initialBackoffMs: 1_000,
        maxBackoffMs: 1_000,
        maxBatch: 1,
        maxItems: 2,
        onDropped: (n) => (dropped += n),
      },
      () => new Promise(() => undefined),
    );
    outbox.enqueue(1, 2, 3);
    expect(outbox.size).toBe(2);
    expect(dropped).toBe(1);
  });
});

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met');
    await new Promise((r) => setTimeout(r, 5));
  }
}
