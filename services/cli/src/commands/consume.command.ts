import { randomUUID } from 'node:crypto';
import { CliError, UsageError } from '../cli-errors';
import { HeldPositions } from '../kafka/held-positions';
import { KafkaSession } from '../kafka/kafka-session';
import { recordDecoder } from '../kafka/record-decoder';
import { toJson } from '../output';
import { type Command, intFlag, parseCommand } from './command';

const HELP = `
flywheel consume <topic> [--from beginning|latest|<offset>] [--partition <n>] [--follow] [--max <n>]

Prints the records of any topic as JSON, one object per line on stdout:
  {"topic","partition","offset","timestamp","key","headers","value"}
Catalog topics are decoded with their Avro contract through the schema registry (a catalog name such as
events.raw.v1 gets the mesh's --topic-prefix); other topics with the writer's schema when Confluent-framed, else
as JSON or text. Bytes are printed as base64. A record that does not decode is printed with value_error and
value_base64 instead of stopping the read.

Without --follow it reads up to the end of each partition as it was when the command started, then exits; with
--follow it keeps printing new records until Ctrl-C (or --max). Reads with a throw-away consumer group that
commits nothing, so it never disturbs the mesh's groups.

Options:
  --from beginning        start at the oldest retained record (default)
  --from latest           start at the end (useful with --follow)
  --from <offset>         start at this offset (with --partition unless the topic has one partition)
  --partition <n>         read this partition only
  --follow                keep reading new records
  --max <n>               stop after n records
  --value-only            print only the decoded values

Examples:
  flywheel consume predictions.v1 --max 5
  flywheel consume events.raw.v1.dlq --value-only
  flywheel consume models.lifecycle.v1 --from latest --follow
`;

export const consumeCommand: Command = {
  name: 'consume',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {
      from: { type: 'string', default: 'beginning' },
      partition: { type: 'string' },
      follow: { type: 'boolean', default: false },
      max: { type: 'string' },
      'value-only': { type: 'boolean', default: false },
    });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    if (positionals.length !== 1) throw new UsageError('consume needs exactly one topic');
    const max = intFlag('max', values.max, 1);
    const onlyPartition = intFlag('partition', values.partition, 0);
    const from = values.from;
    const fromOffset = /^\d+$/.test(from) ? Number(from) : undefined;
    if (fromOffset === undefined && from !== 'beginning' && from !== 'latest') {
      throw new UsageError(`--from must be beginning, latest or an offset, got '${from}'`);
    }

    const session = await KafkaSession.open(config);
    try {
      const topic = session.topicName(positionals[0]);
      await session.requireTopic(topic);
      const watermarks = await (await session.adminClient()).fetchTopicOffsets(topic);
      if (onlyPartition !== undefined && !watermarks.some((w) => w.partition === onlyPartition)) {
        throw new UsageError(`${topic} has no partition ${onlyPartition} (partitions 0..${watermarks.length - 1})`);
      }
      if (fromOffset !== undefined && onlyPartition === undefined && watermarks.length > 1) {
        throw new UsageError(`--from <offset> needs --partition: ${topic} has ${watermarks.length} partitions`);
      }
      const selected = watermarks.filter((w) => onlyPartition === undefined || w.partition === onlyPartition);
      // Where each partition starts and (without --follow) where it ends: the high watermark now.
      const start = new Map<number, number>();
      const end = new Map<number, number>();
      for (const w of selected) {
        const low = Number(w.low);
        const high = Number(w.high);
        const at =
          from === 'beginning' ? low : from === 'latest' ? high : Math.min(Math.max(fromOffset ?? 0, low), high);
        if (fromOffset !== undefined && fromOffset < low)
          io.err(`offset ${fromOffset} is no longer retained; starting at ${low}\n`);
        start.set(w.partition, at);
        end.set(w.partition, high);
      }
      const pending = new Set([...start].filter(([p, at]) => values.follow || at < (end.get(p) ?? 0)).map(([p]) => p));
      if (pending.size === 0) {
        io.err(`no records to read in ${topic} from ${from} (use --follow to wait for new ones)\n`);
        return 0;
      }
      const printed = await readRecords(session, topic, {
        start,
        end,
        pending,
        others: watermarks.map((w) => w.partition).filter((p) => !start.has(p)),
        follow: values.follow,
        max,
        print: (line) => io.out(`${line}\n`),
        note: (text) => io.err(text),
        valueOnly: values['value-only'],
      });
      if (!values.follow) io.err(`${printed} record(s) from ${topic}\n`);
      return 0;
    } finally {
      await session.close();
    }
  },
};

interface ReadPlan {
  start: Map<number, number>;
  end: Map<number, number>;
  /** Partitions not finished yet (all of them with --follow). */
  pending: Set<number>;
  /** Partitions of the topic not asked for: paused. */
  others: number[];
  follow: boolean;
  max?: number;
  valueOnly: boolean;
  print(line: string): void;
  note(text: string): void;
}

/** Reads with a throw-away group (no commits) held at the planned offsets; resolves with the number printed. */
async function readRecords(session: KafkaSession, topic: string, plan: ReadPlan): Promise<number> {
  const decode = recordDecoder(session, topic);
  const consumer = session.kafka.consumer({ groupId: `flywheel-cli-${randomUUID()}`, maxWaitTimeInMs: 250 });
  const positions = new HeldPositions(consumer, topic, plan.start, plan.others);
  let printed = 0;
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  let stopping = false;
  const stop = () => {
    stopping = true;
    finish();
  };
  const onSignal = () => stop();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(new CliError(`reading ${topic} failed: ${payload.error.message}`));
  });
  // A batch's last offset counts transaction markers and compacted-away records too, so a partition whose last
  // record is a commit marker (transactional writers) still reaches its end.
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (plan.follow || payload.topic !== topic) return;
    if (Number(payload.lastOffset) + 1 >= (plan.end.get(payload.partition) ?? 0))
      plan.pending.delete(payload.partition);
    if (plan.pending.size === 0) stop();
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const until = plan.follow ? Number.POSITIVE_INFINITY : (plan.end.get(batch.partition) ?? 0);
        for (const message of batch.messages) {
          if (stopping) return;
          const offset = Number(message.offset);
          // before the start, or already printed before kafkajs restarted the consumer
          const next = positions.nextOffset(batch.partition);
          if (next === undefined || offset < next || offset >= until) continue;
          const record = await decode(batch.partition, message);
          plan.print(toJson(plan.valueOnly ? record.value : record));
          positions.advance(batch.partition, offset);
          printed++;
          if (plan.max !== undefined && printed >= plan.max) return stop();
        }
      },
    });
    // Positions were fixed before the consumer started (HeldPositions seeks on every join): a record written after
    // this line is printed.
    if (plan.follow) plan.note(`following ${topic}; Ctrl-C stops\n`);
    await finished;
    return printed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await consumer.disconnect().catch(() => undefined);
  }
}
