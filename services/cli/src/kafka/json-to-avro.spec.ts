import { avroTypeFor } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import { jsonToAvro, problemsOf } from './json-to-avro';

const transaction = {
  event_id: '5b1c0a43-2a0e-4f57-9d43-3a1e6a0f1111',
  event_type: 'transaction',
  event_time: '2026-01-01T10:00:00Z',
  received_time: 1_767_261_600_500,
  source: 'test',
  account_id: 'a',
  merchant_id: 'm',
  amount: 12.5,
  currency: 'EUR',
  channel: 'pos',
  card_present: true,
};

describe('jsonToAvro + problemsOf', () => {
  it('fills missing nullable fields, reads ISO times; the result encodes (prefixed topic names too)', () => {
    const value = jsonToAvro('t1.mesh.events.raw.v1', transaction) as Record<string, unknown>;
    expect(value).toMatchObject({ event_time: Date.parse('2026-01-01T10:00:00Z'), api_key_id: null, attributes: null });
    expect(problemsOf('t1.mesh.events.raw.v1', value)).toEqual([]);
    expect(() => avroTypeFor('events.raw.v1').toBuffer(value)).not.toThrow();
  });

  it('names every wrong field and every unknown one', () => {
    const value = jsonToAvro('events.raw.v1', { ...transaction, amount: '12.5', channel: 'phone', ammount: 1 });
    expect(problemsOf('events.raw.v1', value)).toEqual([
      { path: 'amount', message: 'expected double, got "12.5"' },
      { path: 'channel', message: 'expected one of pos|ecom|atm, got "phone"' },
      { path: '(record)', message: 'unknown field(s) ammount (not in the contract)' },
    ]);
    const { account_id: _missing, ...withoutAccount } = transaction;
    expect(problemsOf('events.raw.v1', jsonToAvro('events.raw.v1', withoutAccount))).toEqual([
      { path: 'account_id', message: 'missing required field (string)' },
    ]);
    expect(
      problemsOf('events.raw.v1', jsonToAvro('events.raw.v1', { ...transaction, event_time: 'yesterday' })),
    ).toEqual([{ path: 'event_time', message: 'expected long, got "yesterday"' }]);
  });

  it('takes base64 for bytes and applies defaults inside nested records (dead letters)', () => {
    const value = jsonToAvro('events.raw.v1.dlq', {
      original_topic: 'events.raw.v1',
      original_key: Buffer.from('acct').toString('base64'),
      original_value: null,
      original_headers: [{ key: 'h', value: Buffer.from('v').toString('base64') }],
      failure_kind: 'enrichment',
      error_class: 'E',
      error_message: 'm',
      stage: 's',
      attempts: 1,
      first_failure_time: 1,
      last_failure_time: '2026-01-01T00:00:00Z',
      event_id: null,
    }) as Record<string, unknown>;
    expect(value.original_key).toEqual(Buffer.from('acct'));
    expect((value.original_headers as Array<{ value: Buffer }>)[0].value).toEqual(Buffer.from('v'));
    expect(value.original_partition).toBeNull();
    expect(problemsOf('events.raw.v1.dlq', value)).toEqual([]);
  });
});
