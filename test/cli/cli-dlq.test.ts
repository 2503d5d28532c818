import { randomUUID } from 'node:crypto';
import { type RawEvent, schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde } from '@flywheel/kafka';
import {
  databaseUrl,
  type ServiceProcess,
  startServiceProcess,
  testGroup,
  testPrefix,
  uniqueSuffix,
} from '@flywheel/testing';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createTopics, flywheel, jsonLines } from './cli-harness';

const ADMIN_TOKEN = 'cli-dlq-admin-token-0123456789';

describe('flywheel dlq list / show / replay against a dead-letter-alerter process', () => {
  const env = testEnv();
  const prefix = testPrefix('clidlq');
  const rawTopic = withPrefix(prefix, topics.eventsRaw);
  const database = `flywheel_test_cli_${uniqueSuffix()}`;
  let alerter: ServiceProcess;
  let cliEnv: Record<string, string>;
  const event: RawEvent = {
    event_id: randomUUID(),
    event_type: 'transaction',
    event_time: 1_767_261_600_000,
    received_time: 1_767_261_600_100,
    source: 'cli-dlq-test',
    api_key_id: null,
    account_id: 'acct-9',
    merchant_id: 'm-9',
    amount: 99.5,
    currency: 'EUR',
    channel: 'pos',
    card_present: true,
    device_id: null,
    ip_country: null,
    attributes: null,
  };

  /** A dead letter as a stage writes it, in the JSON `flywheel produce` takes (bytes as base64). */
  function deadLetter(kind: string, original: Buffer, offset: number) {
    return {
      original_topic: rawTopic,
      original_partition: 2,
      original_offset: offset,
      original_timestamp: '2026-01-01T10:00:00Z',
      original_key: Buffer.from(event.account_id).toString('base64'),
      original_value: original.toString('base64'),
      original_headers: [{ key: 'event_id', value: Buffer.from(event.event_id).toString('base64') }],
      failure_kind: kind,
      error_class: 'EnrichmentError',
      error_message: `${kind}: reference lookup failed`,
      stage: 'enrichment-api',
      attempts: 3,
      first_failure_time: Date.now() - 1_000,
      last_failure_time: Date.now(),
      event_id: event.event_id,
    };
  }

  beforeAll(async () => {
    await createTopics(env.kafkaBrokers, prefix, [topics.eventsRaw]);
    alerter = await startServiceProcess('dead-letter-alerter', {
      env: {
        TOPIC_PREFIX: prefix,
        KAFKA_BROKERS: env.kafkaBrokers,
        SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
        DATABASE_URL: await databaseUrl(env.databaseUrl, database),
        ALERTER_GROUP_ID: testGroup('alerter'),
        ALERTER_ADMIN_TOKEN: ADMIN_TOKEN,
        DLQ_REFRESH_INTERVAL_MS: '1000',
        LOG_LEVEL: 'warn',
      },
      timeoutMs: 120_000,
    });
    cliEnv = {
      KAFKA_BROKERS: env.kafkaBrokers,
      SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
      TOPIC_PREFIX: prefix,
      ALERTER_URL: alerter.url,
    };
  }, 180_000);

  afterAll(async () => {
    await alerter?.stop();
    const admin = new URL(env.databaseUrl);
    admin.pathname = '/postgres';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).finally(() => client.end());
  });

  it('writes dead letters, browses them and replays the selected one exactly once', async () => {
    // the original record: Confluent-framed Avro of the raw-event contract, as the collector wrote it
    const original = await AvroSerde.connect(env.schemaRegistryUrl, schemaFor).encodeAsync(rawTopic, event);
    const letters = [deadLetter('enrichment', original, 7), deadLetter('schema-violation', Buffer.from('{"x":1}'), 8)];
    const written = await flywheel(['produce', 'events.raw.v1.dlq'], {
      env: cliEnv,
      stdin: letters.map((l) => JSON.stringify(l)).join('\n'),
    });
    expect(written.code, written.stderr).toBe(0);

    const listed = await flywheel(['dlq', 'list', '--json'], { env: cliEnv });
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ topic: `${rawTopic}.dlq`, messages: 2 })]);

    const page = await flywheel(['dlq', 'show', 'events.raw.v1.dlq', '--kind', 'enrichment', '--json'], {
      env: cliEnv,
    });
    expect(page.code).toBe(0);
    const items = JSON.parse(page.stdout).items as Array<{
      envelope: { failure_kind: string };
      original_value: { decoded: RawEvent };
    }>;
    expect(items).toHaveLength(1);
    expect(items[0].envelope.failure_kind).toBe('enrichment');
    expect(items[0].original_value.decoded).toMatchObject({ event_id: event.event_id, amount: 99.5 });
    const text = await flywheel(['dlq', 'show', 'events.raw.v1.dlq'], { env: cliEnv });
    expect(text.stdout).toContain('enrichment at enrichment-api');
    expect(text.stdout).toContain('schema-violation at enrichment-api');
    expect(text.stdout).toContain('enrichment: reference lookup failed');

    const noToken = await flywheel(['dlq', 'replay', 'events.raw.v1.dlq'], { env: cliEnv });
    expect(noToken.code).toBe(2);
    expect(noToken.stderr).toContain('FLYWHEEL_ADMIN_TOKEN');

    const admin = { ...cliEnv, FLYWHEEL_ADMIN_TOKEN: ADMIN_TOKEN };
    const dry = await flywheel(['dlq', 'replay', 'events.raw.v1.dlq', '--kind', 'enrichment', '--dry-run'], {
      env: admin,
    });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('replay completed: selected 1, would send 1, already replayed 0');
    expect(jsonLines((await flywheel(['consume', 'events.raw.v1'], { env: cliEnv })).stdout)).toEqual([]);

    const replayed = await flywheel(['dlq', 'replay', 'events.raw.v1.dlq', '--kind', 'enrichment'], { env: admin });
    expect(replayed.code, replayed.stderr).toBe(0);
    expect(replayed.stdout).toContain('replay completed: selected 1, sent 1, already replayed 0');
    const again = await flywheel(['dlq', 'replay', 'events.raw.v1.dlq', '--kind', 'enrichment', '--json'], {
      env: admin,
    });
    expect(JSON.parse(again.stdout)).toMatchObject({ status: 'completed', selected: 1, sent: 0, skipped: 1 });

    // the original bytes are back on the original topic, once, with the replay's provenance headers
    const back = jsonLines<{ key: string; value: RawEvent; headers: Record<string, string> }>(
      (await flywheel(['consume', 'events.raw.v1'], { env: cliEnv })).stdout,
    );
    expect(back).toHaveLength(1);
    expect(back[0].value).toEqual(event);
    expect(back[0].key).toBe(event.account_id);
    expect(back[0].headers).toMatchObject({
      event_id: event.event_id,
      'flywheel-original-offset': '7',
      'flywheel-dlq-topic': `${rawTopic}.dlq`,
    });
  });
});
