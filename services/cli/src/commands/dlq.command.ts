import type { CliConfig } from '../cli-config';
import { CliError, UsageError } from '../cli-errors';
import { callService, type ServiceEndpoint } from '../http/service-http';
import { type CliIO, isoTime, printJson, table, toJson } from '../output';
import { meshTopic } from '../topic-names';
import { type Command, intFlag, parseCommand, requireArg, subcommand } from './command';

const HELP = `
flywheel dlq list
flywheel dlq show <dlq-topic> [--partition <n>] [--offset <n>] [--limit <n>] [--kind <k>]... [--event-id <id>]...
                              [--from <time>] [--to <time>] [--key <key>]
flywheel dlq replay <dlq-topic> [--kind <k>]... [--event-id <id>]... [--from <time>] [--to <time>] [--key <key>]
                                [--offset-from <n>] [--offset-to <n>] [--dry-run]

Dead letters through the dead-letter-alerter's API (ALERTER_URL / --alerter). <dlq-topic> is a catalog name
(events.raw.v1.dlq; the mesh's --topic-prefix is added) or a full topic name. Times are epoch millis or ISO-8601.

  list      every DLQ topic with its record count and the failure kinds seen
  show      one page of dead letters: envelope (kind, stage, error), original key/value decoded where possible;
            prints the offset to continue from (--offset)
  replay    re-sends the ORIGINAL bytes of the selected dead letters to their original topic (admin token).
            Idempotent: a record already replayed is skipped. Run with --dry-run first to see what would be sent.
            Waits for the replay to finish and prints its counts; exit 1 if it failed.
`;

export const dlqCommand: Command = {
  name: 'dlq',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {
      partition: { type: 'string' },
      offset: { type: 'string' },
      limit: { type: 'string' },
      kind: { type: 'string', multiple: true },
      'event-id': { type: 'string', multiple: true },
      from: { type: 'string' },
      to: { type: 'string' },
      key: { type: 'string' },
      'offset-from': { type: 'string' },
      'offset-to': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
    });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    const action = subcommand(positionals, ['list', 'show', 'replay'] as const, 'dlq');
    const alerter: ServiceEndpoint = {
      name: 'dead-letter-alerter',
      url: config.alerterUrl,
      flag: '--alerter',
      env: 'ALERTER_URL',
    };
    if (action === 'list') return list(alerter, io, config);
    const topic = meshTopic(config.topicPrefix, requireArg(positionals[1], 'the DLQ topic (flywheel dlq list)'));
    if (!topic.endsWith('.dlq')) throw new UsageError(`${topic} is not a dead-letter topic (they end in .dlq)`);
    const path = `/v1/dlq/${encodeURIComponent(topic)}`;
    if (action === 'show') {
      const query = new URLSearchParams();
      const add = (name: string, value: string | number | undefined) =>
        value !== undefined && query.set(name, String(value));
      add('partition', intFlag('partition', values.partition, 0));
      add('offset', intFlag('offset', values.offset, 0));
      add('limit', intFlag('limit', values.limit, 1));
      add('kind', values.kind?.join(','));
      add('event_id', values['event-id']?.join(','));
      add('from', values.from);
      add('to', values.to);
      add('key', values.key);
      const page = (await callService<DlqPage>(alerter, 'GET', `${path}?${query}`)).body;
      if (config.json) printJson(io, page);
      else printPage(io, page);
      return 0;
    }
    const offsetFrom = intFlag('offset-from', values['offset-from'], 0);
    const offsetTo = intFlag('offset-to', values['offset-to'], 0);
    const body = {
      kinds: values.kind,
      eventIds: values['event-id'],
      from: values.from,
      to: values.to,
      key: values.key,
      offsets: offsetFrom !== undefined || offsetTo !== undefined ? { from: offsetFrom, to: offsetTo } : undefined,
      dryRun: values['dry-run'],
    };
    if (!config.adminToken) {
      throw new UsageError(
        'replay needs the alerter admin token: --admin-token or FLYWHEEL_ADMIN_TOKEN (`npm run mesh` prints it)',
      );
    }
    const auth = { token: config.adminToken, actor: config.actor };
    let replay = (await callService<Replay>(alerter, 'POST', `${path}/replay`, { ...auth, body })).body;
    io.err(`replay ${replay.id} of ${topic} started${values['dry-run'] ? ' (dry run)' : ''}\n`);
    while (replay.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 500));
      replay = (await callService<Replay>(alerter, 'GET', `/v1/replays/${replay.id}`, auth)).body;
    }
    if (config.json) printJson(io, replay);
    else {
      const counts = replay.dry_run
        ? `selected ${replay.selected}, would send ${replay.would_send}, already replayed ${replay.skipped}`
        : `selected ${replay.selected}, sent ${replay.sent}, already replayed ${replay.skipped}`;
      io.out(`replay ${replay.status}: ${counts}, not replayable ${replay.not_replayable}\n`);
    }
    if (replay.status !== 'completed')
      throw new CliError(`replay ${replay.id} ${replay.status}: ${replay.error ?? 'no error given'}`);
    return 0;
  },
};

interface DlqTopic {
  topic: string;
  source_topic: string;
  messages: number;
  consumed: boolean;
  kinds: Array<{ kind: string; first_stage: string; first_seen_at: string }>;
}

interface DlqItem {
  partition: number;
  offset: string;
  timestamp: number;
  envelope: {
    failure_kind: string;
    stage: string;
    error_message: string;
    event_id: string | null;
    original_offset: number | null;
    last_failure_time: number;
  } | null;
  decode_error?: string;
  original_key?: { utf8: string | null } | null;
  original_value?: { utf8?: string | null; decoded?: unknown };
}

interface DlqPage {
  topic: string;
  partition: number;
  low_offset: number;
  high_offset: number;
  next_offset: number | null;
  items: DlqItem[];
}

interface Replay {
  id: string;
  status: 'running' | 'completed' | 'failed';
  dry_run: boolean;
  selected: number;
  sent: number;
  skipped: number;
  not_replayable: number;
  would_send: number;
  error: string | null;
}

async function list(alerter: ServiceEndpoint, io: CliIO, config: CliConfig): Promise<number> {
  const { topics } = (await callService<{ topics: DlqTopic[] }>(alerter, 'GET', '/v1/dlq')).body;
  if (config.json) {
    printJson(io, topics);
    return 0;
  }
  const rows: Array<Array<string | number | null>> = [['DLQ TOPIC', 'RECORDS', 'WATCHED', 'KINDS SEEN']];
  for (const t of topics)
    rows.push([t.topic, t.messages, t.consumed ? 'yes' : 'no', t.kinds.map((k) => k.kind).join(',') || null]);
  io.out(table(rows));
  return 0;
}

function printPage(io: CliIO, page: DlqPage): void {
  io.out(
    `${page.topic} partition ${page.partition}: offsets ${page.low_offset}..${page.high_offset}, ${page.items.length} shown\n`,
  );
  for (const item of page.items) {
    const e = item.envelope;
    if (!e) {
      io.out(`#${item.offset}  (not a dead-letter envelope: ${item.decode_error})\n`);
      continue;
    }
    const original = item.original_value?.decoded ?? item.original_value?.utf8 ?? '(binary)';
    io.out(
      `#${item.offset}  ${isoTime(e.last_failure_time)}  ${e.failure_kind} at ${e.stage}  key=${item.original_key?.utf8 ?? '-'}  event=${e.event_id ?? '-'}\n` +
        `    ${e.error_message}\n    ${typeof original === 'string' ? original : toJson(original)}\n`,
    );
  }
  if (page.next_offset !== null) io.out(`more: --offset ${page.next_offset}\n`);
}
