import { CollectorClient, CollectorRequestError, type EventInput } from '@flywheel/client';
import { schemaFor, topicSpec, topics } from '@flywheel/contracts';
import { FlywheelProducer } from '../../../../libs/kafka/src/core';
import type { CliConfig } from '../cli-config';
import { CliError, UnreachableError, UsageError } from '../cli-errors';
import { networkCause } from '../http/service-http';
import { type InputRecord, readInput, shown } from '../io/read-records';
import { jsonToAvro, problemsOf } from '../kafka/json-to-avro';
import { contractOf, KafkaSession } from '../kafka/kafka-session';
import { type CliIO, printJson } from '../output';
import { type Command, intFlag, parseCommand } from './command';

const HELP = `
flywheel produce [<topic>] [--file <path>] [--via kafka|collector] [options]

Sends records from a file or stdin (a JSON array, or NDJSON: one JSON object per line) and waits until every one
is acknowledged. Every record is checked first; if any is wrong, each problem is listed and NOTHING is sent.

  --via kafka (default)   straight to Kafka: <topic> is a catalog topic (events.raw.v1, labels.v1, ...); records
                          are the topic's Avro contract as JSON and are encoded through the schema registry
                          (Confluent wire format). Missing nullable fields become null, times may be ISO-8601
                          strings, bytes are base64. Acks=all, idempotent producer. Key: the catalog's key field.
  --via collector         through the collector's POST /v1/events with an API key, like an external producer:
                          records are collector events ({"type":"transaction"|"label", ...}; with <topic>
                          events.raw.v1 or labels.v1 the type may be left out). Rejected events are listed
                          with their reason; batches answered 429/503 are retried as Retry-After says.

Options:
  --file <path>           read this file instead of stdin ("-" = stdin)
  --key-field <name>      Kafka path: the field whose value is the message key (default: the catalog's key)
  --batch-size <n>        records per request (default 500)
  --api-key <key>         collector path: the API key (default FLYWHEEL_API_KEY); create one with
                          \`flywheel keys create --producer <name>\`
  --dry-run               check the records, send nothing

Exit code 0 when every record was stored, 1 when any was rejected or the send failed, 2 on a usage error.

Examples:
  flywheel produce events.raw.v1 --file txns.ndjson
  cat labels.json | flywheel produce labels.v1
  flywheel produce --via collector --api-key fw_... --file events.ndjson
`;

export const produceCommand: Command = {
  name: 'produce',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {
      file: { type: 'string', short: 'f' },
      via: { type: 'string', default: 'kafka' },
      'key-field': { type: 'string' },
      'batch-size': { type: 'string' },
      'api-key': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    if (positionals.length > 1) throw new UsageError(`one topic only, got ${positionals.join(' ')}`);
    const batchSize = intFlag('batch-size', values['batch-size'], 1) ?? 500;
    const options = { topic: positionals[0], batchSize, dryRun: values['dry-run'] };
    if (values.via === 'kafka') {
      if (!options.topic)
        throw new UsageError('produce --via kafka needs a topic, e.g. `flywheel produce events.raw.v1`');
      const spec = contractSpec(options.topic);
      const keyField = values['key-field'] ?? defaultKeyField(spec.name);
      const { records, source } = await readInput(values.file, 'records');
      return produceToKafka(config, io, { ...options, topic: options.topic, keyField, records, source });
    }
    if (values.via === 'collector') {
      const type = collectorTypeFor(options.topic);
      const apiKey = values['api-key'] ?? config.apiKey;
      if (!apiKey) {
        throw new UsageError(
          'produce --via collector needs an API key: --api-key or FLYWHEEL_API_KEY (create one with `flywheel keys create --producer <name>`)',
        );
      }
      const { records, source } = await readInput(values.file, 'events');
      return produceThroughCollector(config, io, { ...options, type, apiKey, records, source });
    }
    throw new UsageError(`--via must be kafka or collector, got '${values.via}'`);
  },
};

function contractSpec(topic: string) {
  const catalog = contractOf(topic);
  if (!catalog) {
    throw new UsageError(
      `'${topic}' is not a topic of the contract catalog (libs/contracts), so there is no Avro schema to encode with; ` +
        'known topics: `flywheel topics`',
    );
  }
  return topicSpec(catalog);
}

/** The catalog describes keys in words ("entity (account_id)", "model_name"); the first word that is a field. */
export function defaultKeyField(topic: string): string | undefined {
  const fields = new Set(schemaFor(topic).fields.map((f) => f.name));
  return topicSpec(topic)
    .key.match(/[a-z_]+/g)
    ?.find((word) => fields.has(word));
}

async function produceToKafka(
  config: CliConfig,
  io: CliIO,
  job: { topic: string; keyField?: string; records: InputRecord[]; source: string; batchSize: number; dryRun: boolean },
): Promise<number> {
  const catalog = contractOf(job.topic) as string;
  const problems: string[] = [];
  const messages = job.records.map(({ position, value }) => {
    const record = jsonToAvro(catalog, value) as Record<string, unknown>;
    for (const p of problemsOf(catalog, record)) problems.push(`record ${position}: ${p.path}: ${p.message}`);
    const key = job.keyField === undefined ? null : record[job.keyField];
    if (job.keyField !== undefined && typeof key !== 'string') {
      problems.push(`record ${position}: ${job.keyField}: the key field must be a string (it becomes the message key)`);
    }
    return { key: typeof key === 'string' ? key : null, value: record };
  });
  if (problems.length) {
    throw new CliError(
      `${problems.length} problem(s) in ${job.source} against ${topicSpec(catalog).valueRecord}; nothing was sent:\n  ${shown(problems).join('\n  ')}`,
    );
  }
  if (job.dryRun) {
    io.err(
      `${messages.length} record(s) from ${job.source} are valid ${topicSpec(catalog).valueRecord}; nothing sent (--dry-run)\n`,
    );
    return 0;
  }
  const session = await KafkaSession.open(config);
  const topic = session.topicName(job.topic);
  const producer = new FlywheelProducer(session.kafka, session.serde);
  try {
    await session.requireTopic(topic);
    await producer.connect();
    const schemaId = await registerSchema(session, config, topic);
    for (let i = 0; i < messages.length; i += job.batchSize) {
      const batch = messages.slice(i, i + job.batchSize);
      await producer.send(topic, batch);
    }
    const summary = { topic, produced: messages.length, schema_id: schemaId, source: job.source };
    if (config.json) printJson(io, summary);
    else
      io.err(
        `produced ${messages.length} record(s) from ${job.source} to ${topic} (schema id ${schemaId}), all acknowledged\n`,
      );
    return 0;
  } finally {
    await producer.disconnect().catch(() => undefined);
    await session.close();
  }
}

async function registerSchema(session: KafkaSession, config: CliConfig, topic: string): Promise<number> {
  try {
    return await session.serde.register(topic);
  } catch (error) {
    const message = (error as Error).message;
    if (/unavailable/.test(message)) {
      throw new UnreachableError(
        `cannot register the schema of ${topic} at ${config.schemaRegistryUrl} (${message}). Start the mesh with \`npm run mesh\`, ` +
          'or point --registry / SCHEMA_REGISTRY_URL at the schema registry.',
      );
    }
    throw new CliError(message);
  }
}

/** With a topic on the collector path, events of that topic's type may leave `type` out. */
function collectorTypeFor(topic: string | undefined): 'transaction' | 'label' | undefined {
  if (topic === undefined) return undefined;
  const catalog = contractOf(topic);
  if (catalog === topics.eventsRaw) return 'transaction';
  if (catalog === topics.labels) return 'label';
  throw new UsageError(
    `the collector writes only ${topics.eventsRaw} (transactions) and ${topics.labels} (labels), not ${topic}`,
  );
}

async function produceThroughCollector(
  config: CliConfig,
  io: CliIO,
  job: {
    type?: 'transaction' | 'label';
    apiKey: string;
    records: InputRecord[];
    source: string;
    batchSize: number;
    dryRun: boolean;
  },
): Promise<number> {
  const events = job.records.map(({ value }) =>
    job.type && value.type === undefined ? { type: job.type, ...value } : value,
  );
  if (job.dryRun) {
    io.err(
      `${events.length} event(s) read from ${job.source}; nothing sent (--dry-run; the collector validates on send)\n`,
    );
    return 0;
  }
  const client = new CollectorClient({
    url: config.collectorUrl,
    apiKey: job.apiKey,
    maxBatchEvents: job.batchSize,
    // a person is waiting: a collector that stays down is reported after ~2 s, not after a minute
    maxRetries: 3,
    onRetry: ({ attempt, delayMs, reason }) => io.err(`retry ${attempt} in ${delayMs} ms: ${reason}\n`),
  });
  let result: Awaited<ReturnType<CollectorClient['send']>>;
  try {
    result = await client.send(events as unknown as EventInput[]);
  } catch (error) {
    if (!(error instanceof CollectorRequestError)) throw error;
    const done = error.partial ? ` (${error.partial.accepted} event(s) of earlier batches were accepted)` : '';
    if (error.status === undefined) {
      throw new UnreachableError(
        `cannot reach the collector at ${config.collectorUrl} (${networkCause(error.cause)}). Is the mesh running? ` +
          `Start it with \`npm run mesh\`, or point --collector / COLLECTOR_URL at the collector.${done}`,
      );
    }
    const hint = error.status === 401 || error.status === 403 ? ' Check the API key (flywheel keys list).' : '';
    throw new CliError(`${error.message}${done}.${hint}`);
  }
  const rejected = result.results.filter((r) => r.status === 'rejected');
  if (config.json) printJson(io, result);
  for (const r of rejected) {
    const position = job.records[r.index]?.position ?? r.index + 1;
    io.err(`record ${position}: rejected: ${r.reason ?? 'no reason given'}${r.field ? ` (field ${r.field})` : ''}\n`);
  }
  const dlqHint = rejected.length ? ' (the collector dead-lettered the rejected ones: `flywheel dlq list`)' : '';
  io.err(`collector ${config.collectorUrl}: ${result.accepted} accepted, ${result.rejected} rejected${dlqHint}\n`);
  return rejected.length ? 1 : 0;
}
