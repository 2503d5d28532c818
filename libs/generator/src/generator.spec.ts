import { describe, expect, it } from 'vitest';
import { parseGenerateArgs, UsageError } from './cli-args';
import { LabelQueue, labelFor } from './labels';
import { Population } from './population';
import { Random } from './random';
import { runGenerator } from './run-generator';
import type { EventSink, OutgoingBatch } from './sinks/event-sink';
import { type GeneratedTransaction, TrafficModel } from './traffic';

const population = new Population({ accounts: 2_000, merchants: 200, seed: 7, referenceTime: 1_700_000_000_000 });

function take(model: TrafficModel, n: number): GeneratedTransaction[] {
  return Array.from({ length: n }, () => model.next());
}

describe('Population', () => {
  it('is determined by its options (reference data and events describe the same world)', () => {
    const again = new Population({ accounts: 2_000, merchants: 200, seed: 7, referenceTime: 1_700_000_000_000 });
    expect(again.referenceRows()).toEqual(population.referenceRows());
    const other = new Population({ accounts: 2_000, merchants: 200, seed: 8, referenceTime: 1_700_000_000_000 });
    expect(other.referenceRows().accounts).not.toEqual(population.referenceRows().accounts);
  });

  it('has recently opened accounts (~15%) and merchants of every category', () => {
    const share = population.recentAccounts.length / population.accounts.length;
    expect(share).toBeGreaterThan(0.11);
    expect(share).toBeLessThan(0.19);
    const newest = Math.max(...population.establishedAccounts.map((a) => a.opened_at));
    const oldestRecent = Math.min(...population.recentAccounts.map((a) => a.opened_at));
    expect(oldestRecent).toBeGreaterThan(newest);
    expect(new Set(population.merchants.map((m) => m.category)).size).toBe(10);
    expect(
      population
        .referenceRows()
        .rates.map((r) => (r as { currency: string }).currency)
        .sort(),
    ).toEqual(['CHF', 'GBP', 'PLN', 'USD']);
  });
});

describe('TrafficModel', () => {
  const options = { rate: 100, startTime: 1_000_000, fraudRate: 0.04, seed: 1 };

  it('emits transactions in event-time order at the configured rate', () => {
    const events = take(new TrafficModel(population, options), 20_000);
    const outOfOrder = events.filter(
      (e, i) => i > 0 && e.transaction.event_time < events[i - 1].transaction.event_time,
    );
    expect(outOfOrder).toEqual([]);
    const seconds = (events[events.length - 1].transaction.event_time - options.startTime) / 1000;
    expect(20_000 / seconds).toBeGreaterThan(95);
    expect(20_000 / seconds).toBeLessThan(105);
  });

  it('before the drift: ~fraudRate account takeover, in bursts on one account, online, risky', () => {
    const events = take(new TrafficModel(population, options), 20_000);
    const fraud = events.filter((e) => e.fraud);
    expect(fraud.every((e) => e.fraud === 'account-takeover' && e.phase === 'before-drift')).toBe(true);
    expect(fraud.length / events.length).toBeGreaterThan(0.03);
    expect(fraud.length / events.length).toBeLessThan(0.05);
    // bursts: most fraudulent accounts are hit more than once
    const perAccount = new Map<string, number>();
    for (const e of fraud)
      perAccount.set(e.transaction.account_id, (perAccount.get(e.transaction.account_id) ?? 0) + 1);
    const repeated = [...perAccount.values()].filter((n) => n >= 2).length;
    expect(repeated / perAccount.size).toBeGreaterThan(0.7);
    const online = (list: GeneratedTransaction[]) =>
      list.filter((e) => e.transaction.channel === 'ecom').length / list.length;
    const genuine = events.filter((e) => !e.fraud);
    expect(online(fraud)).toBeGreaterThan(0.8);
    expect(online(genuine)).toBeLessThan(0.3);
    const foreignIp = (list: GeneratedTransaction[]) =>
      list.filter((e) => e.transaction.ip_country && !['DE', 'FR', 'NL', 'ES', 'IT'].includes(e.transaction.ip_country))
        .length / list.length;
    expect(foreignIp(fraud)).toBeGreaterThan(0.4);
    expect(foreignIp(genuine)).toBeLessThan(0.05);
  });

  it('after the drift point: new customers dominate and bust-out fraud appears on them', () => {
    const recent = new Set(population.recentAccounts.map((a) => a.account_id));
    const events = take(new TrafficModel(population, { ...options, drift: { transactions: 10_000 } }), 20_000);
    const before = events.slice(0, 10_000);
    const after = events.slice(10_000);
    expect(before.every((e) => e.phase === 'before-drift')).toBe(true);
    expect(after.every((e) => e.phase === 'after-drift')).toBe(true);
    const recentShare = (list: GeneratedTransaction[]) =>
      list.filter((e) => recent.has(e.transaction.account_id)).length / list.length;
    expect(recentShare(before)).toBeLessThan(0.2);
    expect(recentShare(after)).toBeGreaterThan(0.55);
    const bustOut = after.filter((e) => e.fraud === 'bust-out');
    expect(bustOut.length / after.length).toBeGreaterThan(0.06);
    expect(bustOut.every((e) => recent.has(e.transaction.account_id) && e.transaction.card_present)).toBe(true);
    expect(before.some((e) => e.fraud === 'bust-out')).toBe(false);
  });

  it('same seed → same traffic (but new event ids, so a rerun is not deduplicated away)', () => {
    const strip = (e: GeneratedTransaction) => ({ ...e, transaction: { ...e.transaction, event_id: '' } });
    const a = take(new TrafficModel(population, options), 500);
    const b = take(new TrafficModel(population, options), 500);
    expect(a.map(strip)).toEqual(b.map(strip));
    expect(a[0].transaction.event_id).not.toBe(b[0].transaction.event_id);
  });
});

describe('labels', () => {
  it('arrive 0.5–1.5 × the delay after their transaction, fraud from the chargeback feed', () => {
    const model = new TrafficModel(population, { rate: 100, startTime: 0, fraudRate: 0.1, seed: 3 });
    const random = new Random(1);
    const queue = new LabelQueue();
    const wrong: unknown[] = [];
    for (const generated of take(model, 2_000)) {
      const label = labelFor(generated, 10_000, random);
      const delay = label.label_time - generated.transaction.event_time;
      const fraud = generated.fraud !== null;
      const source = fraud ? 'chargeback-feed' : 'settlement';
      if (delay < 5_000 || delay > 15_000 || label.is_fraud !== fraud || label.source !== source) wrong.push(label);
      queue.push(label);
    }
    expect(wrong).toEqual([]);
    const due = queue.takeDue(10_000);
    expect(due.every((l) => l.label_time <= 10_000)).toBe(true);
    expect(due.filter((l, i) => i > 0 && l.label_time < due[i - 1].label_time)).toEqual([]);
    expect(queue.nextTime()).toBeGreaterThan(10_000);
    expect(due.length + queue.takeAll().length).toBe(2_000);
  });
});

describe('runGenerator', () => {
  it('backfills: sends every transaction and every label once, in batches, and stops at --events', async () => {
    const batches: OutgoingBatch[] = [];
    const sink: EventSink = {
      description: 'memory',
      send: async (batch) => {
        batches.push(batch);
        return { accepted: batch.transactions.length + batch.labels.length, rejected: 0, reasons: [], retries: 0 };
      },
      close: async () => {},
    };
    const stats = await runGenerator({
      sink,
      rate: 1_000,
      accounts: 500,
      merchants: 50,
      seed: 7,
      events: 3_000,
      labelDelayMs: 100,
      // three seconds of traffic that ended a second ago: all due at once
      startTime: Date.now() - 4_000,
      batchSize: 400,
    });
    const transactions = batches.flatMap((b) => b.transactions);
    const labels = batches.flatMap((b) => b.labels);
    expect(transactions).toHaveLength(3_000);
    expect(new Set(transactions.map((t) => t.event_id)).size).toBe(3_000);
    expect(new Set(labels.map((l) => l.event_id))).toEqual(new Set(transactions.map((t) => t.event_id)));
    expect(batches.every((b) => b.transactions.length <= 400 && b.labels.length <= 400)).toBe(true);
    expect(stats).toMatchObject({ transactions: 3_000, labels: 3_000, pendingLabels: 0, finished: true });
    expect(stats.fraud).toBe(labels.filter((l) => l.is_fraud).length);
  });

  it('a sink that refuses for good ends the run with its error', async () => {
    const sink: EventSink = {
      description: 'refusing',
      send: async () => {
        throw new Error('collector answered 401');
      },
      close: async () => {},
    };
    await expect(
      runGenerator({ sink, rate: 100, accounts: 10, merchants: 10, seed: 1, events: 10, startTime: 0 }),
    ).rejects.toThrow('401');
  });
});

describe('parseGenerateArgs', () => {
  it('reads the documented example', () => {
    const command = parseGenerateArgs(
      '--rate 500 --duration 60 --accounts 5000 --merchants 500 --drift-at 30000 --seed 7 --collector http://127.0.0.1:8080 --api-key fw_x'.split(
        ' ',
      ),
      {},
    );
    expect(command).toMatchObject({
      rate: 500,
      durationSeconds: 60,
      accounts: 5000,
      merchants: 500,
      drift: { transactions: 30_000 },
      seed: 7,
      sink: { kind: 'collector', url: 'http://127.0.0.1:8080', apiKey: 'fw_x' },
    });
    expect(
      parseGenerateArgs(['--kafka', 'h:1,h:2', '--schema-registry', 'http://r:8081', '--drift-at', '90s'], {}),
    ).toMatchObject({
      sink: { kind: 'kafka', brokers: ['h:1', 'h:2'] },
      drift: { seconds: 90 },
      labelDelayMs: 10_000,
    });
  });

  it('names what is wrong', () => {
    const wrong = (args: string, pattern: RegExp) =>
      expect(() => parseGenerateArgs(args.split(' '), {})).toThrow(
        expect.objectContaining({ name: UsageError.name, message: expect.stringMatching(pattern) }),
      );
    wrong('--rate 100', /--collector URL/);
    wrong('--collector http://c:1', /--api-key/);
    wrong('--collector http://c:1 --api-key k --rate 0', /--rate must be a number > 0/);
    wrong('--collector http://c:1 --api-key k --batch-size 900', /--batch-size must be a whole number in 1..500/);
    wrong('--collector http://c:1 --api-key k --label-delay soon', /--label-delay must look like/);
    wrong('--collector http://c:1 --api-key k --ratee 3', /ratee/);
    wrong('--kafka h:1', /--schema-registry/);
  });
});
