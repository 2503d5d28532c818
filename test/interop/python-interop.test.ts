import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureTopics, type RawEvent, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer } from '@flywheel/kafka';
import { testPrefix } from '@flywheel/testing';
import { describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';

const run = promisify(execFile);

describe('interop with clients no one here wrote', () => {
  it('librdkafka + Confluent SchemaRegistryClient + Apache Avro read what libs/kafka wrote', async () => {
    const env = testEnv();
    const prefix = testPrefix('interop');
    const topic = withPrefix(prefix, topics.eventsRaw);
    const kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'interop-test' });
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsRaw], withDlq: false });
    await admin.disconnect();

    const producer = new FlywheelProducer(kafka, AvroSerde.connect(env.schemaRegistryUrl, schemaFor));
    await producer.connect([topic]);
    const events: RawEvent[] = Array.from({ length: 5 }, (_, i) => ({
      event_id: randomUUID(),
      event_type: 'transaction',
      event_time: 1_764_300_000_000 + i,
      received_time: 1_764_300_000_500 + i,
      source: 'interop-test',
      api_key_id: i % 2 ? 'key-1' : null,
      account_id: `acct-${i}`,
      merchant_id: 'm-42',
      amount: 12.5 * (i + 1),
      currency: 'EUR',
      channel: i % 2 ? 'ecom' : 'pos',
      card_present: i % 2 === 0,
      device_id: null,
      ip_country: 'FR',
      attributes: i === 0 ? { campaign: 'black-friday' } : null,
    }));
    await producer.send(
      topic,
      events.map((value) => ({ key: value.account_id, value })),
    );
    await producer.disconnect();

    const script = resolve(__dirname, 'read_with_confluent.py');
    const { stdout } = await run(
      '/usr/bin/python3',
      [script, env.kafkaBrokers, env.schemaRegistryUrl, topic, String(events.length)],
      { timeout: 90_000 },
    );
    const records = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records).toHaveLength(events.length);
    const byId = new Map(records.map((r) => [r.value.event_id, r]));
    for (const event of events) {
      const record = byId.get(event.event_id);
      expect(record?.key).toBe(event.account_id);
      // Apache Avro honours timestamp-millis and decodes a datetime (printed as ISO-8601).
      const { event_time, received_time, ...rest } = event;
      expect(record.value).toMatchObject(rest);
      expect(Date.parse(record.value.event_time)).toBe(event_time);
      expect(Date.parse(record.value.received_time)).toBe(received_time);
    }
  });
});
