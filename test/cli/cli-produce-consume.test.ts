import { randomUUID } from 'node:crypto';
import { type RawEvent, topics, withPrefix } from '@flywheel/contracts';
import { freePort, testGroup, testPrefix, waitUntil } from '@flywheel/testing';
import type { Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import { createTopics, endOffset, flywheel, flywheelInBackground, jsonLines } from './cli-harness';

interface Printed {
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  value: RawEvent;
}

/** A transaction as a person would write it: ISO time, nullable fields left out. */
function transaction(i: number) {
  return {
    event_id: randomUUID(),
    event_type: 'transaction',
    event_time: new Date(Date.UTC(2026, 0, 1, 10, 0, i)).toISOString(),
    received_time: 1_767_261_600_000 + i,
    source: 'cli-test',
    account_id: `acct-${i % 7}`,
    merchant_id: `m-${i % 3}`,
    amount: 10 + i / 4,
    currency: 'EUR',
    channel: (['pos', 'ecom', 'atm'] as const)[i % 3],
    card_present: i % 2 === 0,
    ...(i % 5 === 0 ? { ip_country: 'DE', attributes: { basket: String(i) } } : {}),
  };
}

describe('flywheel produce / consume / topics against the test broker and registry', () => {
  const env = testEnv();
  const prefix = testPrefix('cli');
  const rawTopic = withPrefix(prefix, topics.eventsRaw);
  const cliEnv = { KAFKA_BROKERS: env.kafkaBrokers, SCHEMA_REGISTRY_URL: env.schemaRegistryUrl, TOPIC_PREFIX: prefix };
  const sent = Array.from({ length: 30 }, (_, i) => transaction(i));
  let kafka: Kafka;

  beforeAll(async () => {
    kafka = await createTopics(env.kafkaBrokers, prefix, [topics.eventsRaw]);
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [rawTopic, `${rawTopic}.dlq`] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('--help, unknown commands and flags: usage on stdout / a clear error, exit codes 0 and 2', async () => {
    const help = await flywheel(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['produce', 'consume', 'topics', 'keys', 'models', 'retrain', 'dlq', 'drift']) {
      expect(help.stdout).toContain(`  ${command} `);
    }
    const produceHelp = await flywheel(['produce', '--help']);
    expect(produceHelp.code).toBe(0);
    expect(produceHelp.stdout).toContain('flywheel produce [<topic>]');
    expect(produceHelp.stdout).toContain('KAFKA_BROKERS');

    const none = await flywheel([]);
    expect(none.code).toBe(2);
    const unknown = await flywheel(['produse']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'produse'");
    const badFlag = await flywheel(['consume', 'events.raw.v1', '--form', 'latest'], { env: cliEnv });
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("Unknown option '--form'");
    expect(badFlag.stderr).toContain('flywheel consume --help');
    const badFrom = await flywheel(['consume', 'events.raw.v1', '--from', 'yesterday'], { env: cliEnv });
    expect(badFrom.code).toBe(2);
    expect(badFrom.stderr).toContain('--from must be beginning, latest or an offset');
  });

  it('produces NDJSON from stdin as Avro and consumes the same records back', async () => {
    const ndjson = `${sent.map((t) => JSON.stringify(t)).join('\n')}\n`;
    const produced = await flywheel(['produce', 'events.raw.v1'], { env: cliEnv, stdin: ndjson });
    expect(produced.stderr).toContain(`produced 30 record(s) from stdin to ${rawTopic}`);
    expect(produced.code).toBe(0);

    const consumed = await flywheel(['consume', 'events.raw.v1'], { env: cliEnv });
    expect(consumed.code, consumed.stderr).toBe(0);
    const records = jsonLines<Printed>(consumed.stdout);
    expect(records).toHaveLength(30);
    const byId = new Map(records.map((r) => [r.value.event_id, r]));
    for (const t of sent) {
      const record = byId.get(t.event_id);
      expect(record?.topic).toBe(rawTopic);
      expect(record?.key).toBe(t.account_id);
      // what was written in JSON comes back as the contract's values: ISO time → millis, missing nullable → null
      expect(record?.value).toEqual({
        ...t,
        event_time: Date.parse(t.event_time),
        api_key_id: null,
        device_id: null,
        ip_country: t.ip_country ?? null,
        attributes: t.attributes ?? null,
      });
    }
    // one account's records are on one partition (the catalog key), in the order they were sent
    for (const account of new Set(sent.map((t) => t.account_id))) {
      const mine = records.filter((r) => r.key === account);
      expect(new Set(mine.map((r) => r.partition)).size).toBe(1);
      expect(mine.map((r) => r.value.event_id)).toEqual(
        sent.filter((t) => t.account_id === account).map((t) => t.event_id),
      );
    }

    const firstFive = await flywheel(['consume', 'events.raw.v1', '--max', '5', '--value-only'], { env: cliEnv });
    expect(firstFive.code).toBe(0);
    expect(jsonLines<RawEvent>(firstFive.stdout).every((v) => byId.has(v.event_id))).toBe(true);
    expect(jsonLines(firstFive.stdout)).toHaveLength(5);

    const partition = records[0].partition;
    const inPartition = records.filter((r) => r.partition === partition).map((r) => Number(r.offset));
    const from = inPartition[1];
    const fromOffset = await flywheel(
      ['consume', 'events.raw.v1', '--partition', String(partition), '--from', String(from)],
      { env: cliEnv },
    );
    expect(fromOffset.code).toBe(0);
    expect(jsonLines<Printed>(fromOffset.stdout).map((r) => Number(r.offset))).toEqual(inPartition.slice(1));

    const latest = await flywheel(['consume', 'events.raw.v1', '--from', 'latest'], { env: cliEnv });
    expect(latest.code).toBe(0);
    expect(latest.stdout).toBe('');
    expect(latest.stderr).toContain('no records to read');
  });

  it('--follow prints records written after it started, and --max ends it', async () => {
    const follower = flywheelInBackground(
      ['consume', 'events.raw.v1', '--from', 'latest', '--follow', '--max', '3'],
      cliEnv,
    );
    try {
      await waitUntil(() => follower.output.stderr.includes('following'), {
        timeoutMs: 30_000,
        message: 'consumer positioned',
      });
      const more = [transaction(100), transaction(101), transaction(102)];
      const produced = await flywheel(['produce', 'events.raw.v1'], {
        env: cliEnv,
        stdin: JSON.stringify(more), // a JSON array this time
      });
      expect(produced.code).toBe(0);
      expect(await follower.exited).toBe(0);
      const ids = jsonLines<Printed>(follower.output.stdout).map((r) => r.value.event_id);
      expect(ids.sort()).toEqual(more.map((t) => t.event_id).sort());
    } finally {
      follower.kill();
    }
  });

  it('bad input: every problem named by line and field, nothing sent, exit 1', async () => {
    const before = await endOffset(kafka, rawTopic);
    const lines = [
      JSON.stringify(transaction(200)),
      '{"event_id": "oops", ',
      JSON.stringify({ ...transaction(201), amount: '12.50' }),
      JSON.stringify({ ...transaction(202), ammount: 3 }),
      JSON.stringify({ ...transaction(203), channel: 'phone' }),
    ];
    const notJson = await flywheel(['produce', 'events.raw.v1'], { env: cliEnv, stdin: lines.join('\n') });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toContain('line 2: not JSON');
    expect(notJson.stderr).toContain('nothing was sent');

    const invalid = [lines[0], lines[2], lines[3], lines[4]].join('\n');
    const rejected = await flywheel(['produce', 'events.raw.v1'], { env: cliEnv, stdin: invalid });
    expect(rejected.code).toBe(1);
    expect(rejected.stderr).toContain('3 problem(s) in stdin against io.flywheel.payments.RawEvent; nothing was sent');
    expect(rejected.stderr).toContain('record 2: amount: expected double, got "12.50"');
    expect(rejected.stderr).toContain('record 3: (record): unknown field(s) ammount');
    expect(rejected.stderr).toContain('record 4: channel: expected one of pos|ecom|atm, got "phone"');
    expect(await endOffset(kafka, rawTopic)).toBe(before);

    const notCatalog = await flywheel(['produce', 'my.own.topic'], { env: cliEnv, stdin: lines[0] });
    expect(notCatalog.code).toBe(2);
    expect(notCatalog.stderr).toContain('not a topic of the contract catalog');
    const missingTopic = await flywheel(['produce', 'labels.v1'], {
      env: cliEnv,
      stdin: JSON.stringify({ event_id: randomUUID(), account_id: 'a', is_fraud: true, label_time: 1, source: 's' }),
    });
    expect(missingTopic.code).toBe(1);
    expect(missingTopic.stderr).toContain(`topic ${withPrefix(prefix, topics.labels)} does not exist`);
    const emptyInput = await flywheel(['produce', 'events.raw.v1'], { env: cliEnv, stdin: '\n' });
    expect(emptyInput.code).toBe(1);
    expect(emptyInput.stderr).toContain('stdin is empty');
  });

  it('an unreachable broker or service: names the address and what to start, exit 1', async () => {
    const closed = await freePort();
    const kafkaDown = await flywheel(['topics', '--brokers', `127.0.0.1:${closed}`]);
    expect(kafkaDown.code).toBe(1);
    expect(kafkaDown.stderr).toContain(`cannot reach Kafka (127.0.0.1:${closed}: ECONNREFUSED)`);
    expect(kafkaDown.stderr).toContain('npm run mesh');
    const monitorDown = await flywheel(['drift'], { env: { MONITOR_URL: `http://127.0.0.1:${closed}` } });
    expect(monitorDown.code).toBe(1);
    expect(monitorDown.stderr).toContain(`cannot reach the monitor at http://127.0.0.1:${closed} (ECONNREFUSED)`);
    expect(monitorDown.stderr).toContain('--monitor / MONITOR_URL');
  });

  it('topics: records and lag per consumer group', async () => {
    const group = testGroup('cli-lag');
    const admin = kafka.admin();
    await admin.connect();
    let expectedLag = 0;
    let uncommitted = 0;
    try {
      const marks = await admin.fetchTopicOffsets(rawTopic);
      // the group is half-way through each non-empty partition and has never committed on the empty ones
      const partitions = marks
        .filter((m) => Number(m.high) > 0)
        .map((m) => ({ partition: m.partition, offset: String(Math.floor(Number(m.high) / 2)) }));
      for (const m of marks) {
        const committed = partitions.find((p) => p.partition === m.partition);
        if (committed) expectedLag += Number(m.high) - Number(committed.offset);
        else uncommitted++;
      }
      await admin.setOffsets({ groupId: group, topic: rawTopic, partitions });
    } finally {
      await admin.disconnect();
    }
    const listed = await flywheel(['topics', '--json', '--group', group], { env: cliEnv });
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout) as Array<{
      topic: string;
      records: number;
      partitions: number;
      groups: unknown[];
    }>;
    // only this mesh's topics (TOPIC_PREFIX): the topic and its DLQ
    expect(rows.map((r) => r.topic)).toEqual([rawTopic, `${rawTopic}.dlq`]);
    expect(rows[0]).toMatchObject({ partitions: 6, records: 33 });
    expect(rows[0].groups).toEqual([{ group, state: 'Empty', members: 0, lag: expectedLag, uncommitted }]);
    expect(rows[1].groups).toEqual([]);
    expect(expectedLag).toBeGreaterThan(0);

    const table = await flywheel(['topics'], { env: cliEnv });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(new RegExp(`${rawTopic.replace(/\./g, '\\.')}\\s+6\\s+33`));
    expect(table.stdout).toContain(group);
  });
});
