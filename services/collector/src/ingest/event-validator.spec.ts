import { avroTypeFor, failureKinds, topics } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import type { BatchItem } from './body-decoder';
import { type AcceptedEvent, type RejectedEvent, validateEvent } from './event-validator';

const ctx = {
  apiKeyId: 'abc123abc123',
  producer: 'pos',
  instance: 'collector-1',
  receivedTime: 1_700_000_000_123,
  maxEventBytes: 2_000,
};

const transaction = (extra: Record<string, unknown> = {}) => ({
  type: 'transaction',
  event_time: 1_700_000_000_000,
  account_id: 'acct-1',
  merchant_id: 'm-1',
  amount: 12.5,
  currency: 'EUR',
  channel: 'pos',
  card_present: true,
  ...extra,
});

const item = (value: unknown, index = 0): BatchItem => ({ index, value, text: JSON.stringify(value) });
const check = (value: unknown, seen = new Set<string>()) => validateEvent(item(value), ctx, seen);
const rejected = (value: unknown) => check(value) as RejectedEvent;

describe('validateEvent', () => {
  it('turns a transaction into a RawEvent with stamped fields and an assigned UUID', () => {
    const result = check(transaction()) as AcceptedEvent;
    expect(result.ok).toBe(true);
    expect(result.topic).toBe(topics.eventsRaw);
    expect(result.key).toBe('acct-1');
    expect(result.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(result.value).toMatchObject({
      event_type: 'transaction',
      received_time: ctx.receivedTime,
      source: 'pos@collector-1',
      api_key_id: 'abc123abc123',
      device_id: null,
      ip_country: null,
      attributes: null,
    });
    expect(avroTypeFor(topics.eventsRaw).isValid(result.value)).toBe(true);
  });

  it('keeps a given event_id (lower-cased) and converts ISO-8601 event_time', () => {
    const id = 'A0B1C2D3-0000-4000-8000-000000000001';
    const result = check(transaction({ event_id: id, event_time: '2024-01-02T03:04:05.678Z' })) as AcceptedEvent;
    expect(result.eventId).toBe(id.toLowerCase());
    expect(result.value.event_time).toBe(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
  });

  it('maps a label to labels.v1, requiring its event_id and defaulting source to the producer', () => {
    const label = {
      type: 'label',
      event_id: 'a0b1c2d3-0000-4000-8000-000000000001',
      account_id: 'a',
      is_fraud: true,
      label_time: 5,
    };
    const result = check(label) as AcceptedEvent;
    expect(result).toMatchObject({ ok: true, topic: topics.labels, value: { source: 'pos', reason: null } });
    const { event_id: _, ...withoutId } = label;
    expect(rejected(withoutId)).toMatchObject({ field: 'event_id', reason: 'missing required field' });
  });

  it.each([
    [{ amount: '12.5' }, 'amount', /expected double, got string/],
    [{ amount: Number.POSITIVE_INFINITY }, 'amount', /finite/], // what JSON.parse makes of 1e400
    [{ card_present: 'yes' }, 'card_present', /boolean/],
    [{ channel: 'fax' }, 'channel', /one of pos\|ecom\|atm/],
    [{ event_time: 1.5 }, 'event_time', /epoch millis/],
    [{ event_time: 'yesterday' }, 'event_time', /ISO-8601/],
    [{ event_id: 'not-a-uuid' }, 'event_id', /UUID/],
    [{ attributes: { a: 1 } }, 'attributes.a', /expected string, got number/],
    [{ account_id: '' }, 'account_id', /empty/],
    [{ account_id: 7 }, 'account_id', /string/],
    [{ ammount: 1 }, 'ammount', /unknown field/],
    [{ received_time: 1 }, 'received_time', /set by the collector/],
  ])('rejects %j naming field %s', (extra, field, reason) => {
    const result = rejected(transaction(extra));
    expect(result).toMatchObject({ ok: false, kind: failureKinds.schemaViolation, field });
    expect(result.reason).toMatch(reason);
  });

  it('rejects a missing required field, an unknown type, a non-object', () => {
    const { merchant_id: _, ...noMerchant } = transaction();
    expect(rejected(noMerchant)).toMatchObject({ field: 'merchant_id', reason: 'missing required field' });
    expect(rejected({ ...transaction(), type: 'pageview' })).toMatchObject({
      field: 'type',
      type: 'unknown',
      topic: topics.eventsRaw,
    });
    expect(rejected({ account_id: 'x' })).toMatchObject({ field: 'type' });
    expect(rejected([1, 2]).reason).toMatch(/JSON object, got array/);
  });

  it('rejects an oversized event with kind size and an unparsable NDJSON line with payload-format', () => {
    const big = transaction({ attributes: { pad: 'x'.repeat(3_000) } });
    expect(rejected(big)).toMatchObject({ kind: failureKinds.size });
    const line: BatchItem = { index: 3, parseError: 'line is not valid JSON', text: '{' };
    expect(validateEvent(line, ctx, new Set())).toMatchObject({
      ok: false,
      kind: failureKinds.payloadFormat,
      index: 3,
    });
  });

  it('rejects the second occurrence of an event_id within a batch', () => {
    const seen = new Set<string>();
    const id = 'a0b1c2d3-0000-4000-8000-000000000009';
    expect(check(transaction({ event_id: id }), seen).ok).toBe(true);
    expect(check(transaction({ event_id: id }), seen)).toMatchObject({
      ok: false,
      field: 'event_id',
      reason: /duplicate/,
    });
  });
});
