// biome-ignore-all lint/suspicious/noExplicitAny: HTTP answers are inspected loosely in this test.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Alert,
  dlqTopicFor,
  ensureTopics,
  failureKinds,
  type RawEvent,
  schemaFor,
  topics,
  withPrefix,
} from '@flywheel/contracts';
import {
  AvroSerde,
  BatchConsumer,
  createKafkaClient,
  DeadLetterPublisher,
  type DecodedMessage,
  FlywheelProducer,
  headerString,
  NonRetriableError,
} from '@flywheel/kafka';
import {
  REPO_ROOT,
  type ServiceProcess,
  startServiceProcess,
  testGroup,
  testPrefix,
  waitUntil,
} from '@flywheel/testing';
import type { Admin, Consumer, IHeaders, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';

const TOKEN = 'test-admin-token-0123456789';
const STAGE = 'enrichment-api-under-test';

/**
 * The built alerter as its own process against the real broker, registry and Postgres. Dead letters are
 * written the way stages write them: a libs/kafka BatchConsumer on the prefixed events.raw.v1 rejects
 * poison (undecodable bytes, a rule violation) into events.raw.v1.dlq.
 */
describe('dead-letter-alerter (real Kafka + Postgres, built service)', () => {
  const env = testEnv();
  const prefix = testPrefix('dlq');
  const raw = withPrefix(prefix, topics.eventsRaw);
  const rawDlq = dlqTopicFor(raw);
  const alertsTopic = withPrefix(prefix, topics.alerts);
  let kafka: Kafka;
  let admin: Admin;
  let rawProducer: Producer;
  let serde: AvroSerde;
  let producer: FlywheelProducer;
  let stage: BatchConsumer;
  let alertsReader: Consumer;
  let alerter: ServiceProcess;
  const alerts: Alert[] = [];
  const hook = webhookServer();
  /** What the stage under test accepted, with headers (replays are checked here). */
  const accepted: Array<{ event_id: string; headers: IHeaders }> = [];
  /** The "rule" of the stage: amounts above the limit are rejected until the fix relaxes it. */
  let amountLimit = 1_000;

  beforeAll(async () => {
    kafka = createKafkaClient({ brokers: env.kafkaBrokers.split(','), clientId: 'dlq-alerter-test' });
    admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, { prefix, only: [topics.eventsRaw, topics.alerts] });
    rawProducer = kafka.producer();
    await rawProducer.connect();
    serde = AvroSerde.connect(env.schemaRegistryUrl, schemaFor);
    producer = new FlywheelProducer(kafka, serde);
    await producer.connect([raw, rawDlq]);

    stage = new BatchConsumer({
      kafka,
      serde,
      producer,
      groupId: testGroup('stage'),
      stage: STAGE,
      fromBeginning: true,
      retry: { maxAttempts: 1 },
      routes: [
        {
          topic: raw,
          mode: 'message',
          handler: async ([m]: DecodedMessage<RawEvent>[]) => {
            if (m.value.amount > amountLimit) {
              throw new NonRetriableError(`amount ${m.value.amount} over ${amountLimit}`, failureKinds.enrichment);
            }
            accepted.push({ event_id: m.value.event_id, headers: m.headers });
          },
        },
      ],
    });
    await stage.start();

    alertsReader = kafka.consumer({ groupId: testGroup('alerts-reader'), maxWaitTimeInMs: 100 });
    await alertsReader.connect();
    await alertsReader.subscribe({ topics: [alertsTopic], fromBeginning: true });
    await alertsReader.run({
      eachMessage: async ({ message }) => {
        alerts.push(await serde.decode<Alert>(alertsTopic, message.value));
      },
    });

    await hook.start();
    hook.down = true; // the webhook is down when the first alert fires
    alerter = await startServiceProcess('dead-letter-alerter', {
      env: {
        TOPIC_PREFIX: prefix,
        KAFKA_BROKERS: env.kafkaBrokers,
        SCHEMA_REGISTRY_URL: env.schemaRegistryUrl,
        DATABASE_URL: env.databaseUrl,
        ALERTER_GROUP_ID: testGroup('alerter'),
        ALERTER_ADMIN_TOKEN: TOKEN,
        DLQ_REFRESH_INTERVAL_MS: '1000',
        WINDOW_BUCKET_MS: '1000',
        ALERT_EVAL_INTERVAL_MS: '250',
        TRAFFIC_SAMPLE_INTERVAL_MS: '500',
        WEBHOOK_INITIAL_BACKOFF_MS: '100',
        WEBHOOK_MAX_BACKOFF_MS: '500',
        LOG_LEVEL: 'info',
        ALERT_RULES: JSON.stringify([
          {
            name: 'PayloadFormatBurst',
            expr: `count(kind=payload-format, stage=${STAGE}) > 2 in 4s`,
            resolveAfter: '1s',
            severity: 'critical',
          },
          { name: 'NewFailureKind', type: 'first-seen', severity: 'info', resolveAfter: '1h' },
        ]),
        ALERT_WEBHOOKS: JSON.stringify([
          { url: `${hook.url}/am`, format: 'alertmanager' },
          { url: `${hook.url}/plain`, format: 'plain' },
        ]),
      },
    });
  });

  afterAll(async () => {
    await alerter?.stop();
    await stage?.stop();
    await alertsReader?.disconnect();
    await producer?.disconnect();
    await rawProducer?.disconnect();
    await hook.stop();
    await admin?.disconnect();
  });

  const metric = async (name: string, labels: Record<string, string>) => {
    const text = await (await fetch(`${alerter.url}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  const garbage = (n: number) =>
    rawProducer.send({
      topic: raw,
      messages: Array.from({ length: n }, (_, i) => ({ key: `acct-${i}`, value: Buffer.from(`not avro ${i}`) })),
    });
  const payloadLabels = { topic: raw, stage: STAGE, kind: failureKinds.payloadFormat };

  it('counts poison, fires once on alerts.v1, retries a down webhook without stalling, resolves', async () => {
    await garbage(3);
    await waitUntil(async () => (await metric('flywheel_dlq_messages_total', payloadLabels)) === 3, {
      message: 'three payload-format dead letters counted',
    });
    const firing = await waitUntil(() => alerts.find((a) => a.rule === 'PayloadFormatBurst' && a.status === 'FIRING'), {
      message: 'FIRING on alerts.v1',
    });
    expect(firing.labels).toMatchObject({ topic: raw, stage: STAGE, failure_kind: 'payload-format' });
    expect(firing.severity).toBe('critical');
    expect(firing.value).toBe(3);
    expect(await metric('flywheel_dlq_alert_state', { rule: 'PayloadFormatBurst' })).toBe(1);
    // first-ever kind for this topic
    expect(
      await waitUntil(() =>
        alerts.find((a) => a.rule === 'NewFailureKind' && a.labels.failure_kind === 'payload-format'),
      ),
    ).toBeTruthy();

    // Webhook down: attempts are retried; meanwhile more dead letters keep being counted.
    await waitUntil(() => hook.refused >= 3, { message: 'webhook retried while down' });
    expect(hook.received).toHaveLength(0);
    await garbage(2);
    await waitUntil(async () => (await metric('flywheel_dlq_messages_total', payloadLabels)) === 5, {
      message: 'consumption continues while the webhook is down',
    });
    hook.down = false;
    const delivered = await waitUntil(
      () =>
        hook.received.find(
          (r) =>
            r.path === '/am' &&
            r.body.alerts.some((a: { labels: Record<string, string> }) => a.labels.alertname === 'PayloadFormatBurst'),
        ),
      { message: 'FIRING delivered to the Alertmanager webhook after it recovered' },
    );
    expect(delivered.body).toMatchObject({ version: '4', status: 'firing' });
    const amAlert = delivered.body.alerts.find(
      (a: { labels: Record<string, string> }) => a.labels.alertname === 'PayloadFormatBurst',
    );
    expect(amAlert).toMatchObject({
      status: 'firing',
      endsAt: '0001-01-01T00:00:00Z',
      fingerprint: firing.fingerprint,
    });
    expect(new Date(amAlert.startsAt).getTime()).toBe(firing.starts_at);
    await waitUntil(() => hook.received.some((r) => r.path === '/plain'), { message: 'plain webhook delivered' });

    // Failures stop → RESOLVED (same fingerprint), once; FIRING was not repeated while it held.
    const resolved = await waitUntil(
      () => alerts.find((a) => a.fingerprint === firing.fingerprint && a.status === 'RESOLVED'),
      { timeoutMs: 30_000, message: 'RESOLVED on alerts.v1' },
    );
    expect(resolved.ends_at).toBeGreaterThan(firing.starts_at);
    expect(alerts.filter((a) => a.fingerprint === firing.fingerprint && a.status === 'FIRING')).toHaveLength(1);
    await waitUntil(
      () =>
        hook.received.some(
          (r) =>
            r.path === '/am' &&
            r.body.alerts.some(
              (a: { fingerprint: string; status: string }) =>
                a.fingerprint === firing.fingerprint && a.status === 'resolved',
            ),
        ),
      { message: 'RESOLVED delivered to the webhook' },
    );
    expect(await metric('flywheel_dlq_alert_state', { rule: 'PayloadFormatBurst' })).toBe(0);
  });

  it('picks up a DLQ topic created while it runs', async () => {
    await ensureTopics(admin, { prefix, only: [topics.modelsTrained] });
    const trained = withPrefix(prefix, topics.modelsTrained);
    const trainedDlq = dlqTopicFor(trained);
    // the way a stage writes a dead letter (libs/kafka's publisher), from a message that never decoded
    await producer.connect([trainedDlq]);
    await new DeadLetterPublisher(producer, 'registry').publish([
      {
        topic: trained,
        partition: 0,
        message: {
          key: Buffer.from('model-a'),
          value: Buffer.from('junk'),
          offset: '7',
          timestamp: String(Date.now()),
          attributes: 0,
          headers: {},
        },
        error: new Error('bytes are not a ModelTrained'),
        kind: failureKinds.schemaViolation,
        attempts: 1,
        firstFailureTime: Date.now(),
      },
    ]);
    const labels = { topic: trained, stage: 'registry', kind: failureKinds.schemaViolation };
    await waitUntil(async () => (await metric('flywheel_dlq_messages_total', labels)) === 1, {
      timeoutMs: 20_000,
      message: 'dead letter of the new DLQ topic counted',
    });
    const list = (await (await fetch(`${alerter.url}/v1/dlq`)).json()) as any;
    const entry = list.topics.find((t: { topic: string }) => t.topic === trainedDlq);
    expect(entry).toMatchObject({ consumed: true, messages: 1, source_topic: trained });
    expect(entry.kinds.map((k: { kind: string }) => k.kind)).toEqual(['schema-violation']);
    await waitUntil(() => alerts.find((a) => a.rule === 'NewFailureKind' && a.labels.topic === trained), {
      message: 'first-seen alert for the new topic',
    });
  });

  it('browses, and replays rejected records to the original topic exactly once after a fix', async () => {
    const events = Array.from({ length: 4 }, (_, i) => rawEvent(5_000 + i));
    await producer.send(
      raw,
      events.map((e) => ({ key: e.account_id, value: e, headers: { 'x-origin': `test-${e.event_id}` } })),
    );
    await waitUntil(
      async () => (await metric('flywheel_dlq_messages_total', { topic: raw, kind: 'enrichment' })) === 4,
      {
        message: 'four rule rejections dead-lettered and counted',
      },
    );

    // browse: the enrichment dead letters decode down to the original RawEvent; garbage shows as base64
    const page = (await (await fetch(`${alerter.url}/v1/dlq/${rawDlq}?kind=enrichment&limit=10`)).json()) as any;
    expect(page.items).toHaveLength(4);
    expect(page.items[0].envelope).toMatchObject({ failure_kind: 'enrichment', stage: STAGE, original_topic: raw });
    expect(
      page.items.map((i: { original_value: { decoded: RawEvent } }) => i.original_value.decoded.event_id).sort(),
    ).toEqual(events.map((e) => e.event_id).sort());
    const junk = (await (await fetch(`${alerter.url}/v1/dlq/${rawDlq}?kind=payload-format&limit=2`)).json()) as any;
    expect(junk.items).toHaveLength(2);
    expect(junk.items[0].original_value.decoded).toBeNull();
    expect(Buffer.from(junk.items[0].original_value.base64, 'base64').toString()).toMatch(/^not avro/);
    const paged = (await (await fetch(`${alerter.url}/v1/dlq/${rawDlq}?limit=2&offset=1`)).json()) as any;
    expect(paged.items.map((i: { offset: string }) => i.offset)).toEqual(['1', '2']);
    expect(paged.next_offset).toBe(3);

    // admin token
    const url = `${alerter.url}/v1/dlq/${rawDlq}/replay`;
    const post = (body: unknown, token = TOKEN) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-flywheel-actor': 'test' },
        body: JSON.stringify(body),
      });
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    expect((await post({}, 'wrong-token-wrong-token')).status).toBe(403);

    const replay = async (body: unknown) => {
      const res = await post(body);
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      return waitUntil(
        async () => {
          const res = await fetch(`${alerter.url}/v1/replays/${id}`, { headers: { authorization: `Bearer ${TOKEN}` } });
          const status = (await res.json()) as any;
          return status.status !== 'running' ? status : undefined;
        },
        { message: `replay ${id} finished` },
      );
    };

    const dry = await replay({ kinds: ['enrichment'], dryRun: true });
    expect(dry).toMatchObject({ status: 'completed', dry_run: true, selected: 4, would_send: 4, sent: 0, skipped: 0 });

    amountLimit = 1_000_000; // the fix: the rule is relaxed
    const first = await replay({ kinds: ['enrichment'] });
    expect(first).toMatchObject({ status: 'completed', selected: 4, sent: 4, skipped: 0, actor: 'admin:test' });
    const ids = new Set(events.map((e) => e.event_id));
    await waitUntil(() => accepted.filter((a) => ids.has(a.event_id)).length >= 4, {
      message: 'replayed events reached the stage',
    });
    const second = await replay({ kinds: ['enrichment'] });
    expect(second).toMatchObject({ status: 'completed', selected: 4, sent: 0, skipped: 4 });
    // the CLI, as an operator runs it, against the same API
    const cli = await runCli([
      '--url',
      alerter.url,
      '--token',
      TOKEN,
      '--topic',
      rawDlq,
      '--kind',
      'enrichment',
      '--dry-run',
    ]);
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ status: 'completed', dry_run: true, would_send: 0, skipped: 4 });

    // one more message through the topic as a barrier: everything sent before it has been consumed
    const barrier = rawEvent(1);
    await producer.send(raw, [{ key: barrier.account_id, value: barrier }]);
    await waitUntil(() => accepted.some((a) => a.event_id === barrier.event_id), { message: 'barrier consumed' });
    const replayed = accepted.filter((a) => ids.has(a.event_id));
    expect(replayed.map((a) => a.event_id).sort()).toEqual([...ids].sort()); // each exactly once
    for (const r of replayed) {
      expect(headerString(r.headers, 'flywheel-replay-id')).toBe(first.id);
      expect(headerString(r.headers, 'flywheel-original-topic')).toBe(raw);
      expect(headerString(r.headers, 'flywheel-original-offset')).toMatch(/^\d+$/);
      expect(headerString(r.headers, 'x-origin')).toBe(`test-${r.event_id}`); // original headers kept
    }
    // audit
    const auditRes = await fetch(`${alerter.url}/v1/replays`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const audit = (await auditRes.json()) as any;
    expect(audit.replays.filter((r: { dlq_topic: string }) => r.dlq_topic === rawDlq)).toHaveLength(4);
  });
});

function runCli(args: string[]): Promise<{ code: number; stdout: string }> {
  const entry = `${REPO_ROOT}/dist/services/dead-letter-alerter/src/cli/replay.js`;
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { timeout: 60_000 }, (error, stdout) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout });
    });
  });
}

function rawEvent(amount: number): RawEvent {
  const now = Date.now();
  return {
    event_id: randomUUID(),
    event_type: 'transaction',
    event_time: now,
    received_time: now,
    source: 'test',
    api_key_id: null,
    account_id: `acct-${randomUUID().slice(0, 8)}`,
    merchant_id: 'm-1',
    amount,
    currency: 'EUR',
    channel: 'ecom',
    card_present: false,
    device_id: null,
    ip_country: null,
    attributes: null,
  };
}

interface Received {
  path: string;
  body: any;
}

function webhookServer() {
  let server: Server | undefined;
  const state = {
    down: false,
    refused: 0,
    received: [] as Received[],
    url: '',
    async start() {
      server = createServer(async (req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        if (state.down) {
          state.refused += 1;
          res.writeHead(503).end('down');
          return;
        }
        state.received.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) });
        res.writeHead(200).end('ok');
      });
      await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
      state.url = `http://127.0.0.1:${(server?.address() as AddressInfo | undefined)?.port}`;
    },
    async stop() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    },
  };
  return state;
}
