import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type BatchScoringOptions, parseShard, parseTime, UsageError, validateOptions } from '../scoring/run-options';

export const USAGE = `usage: score-batch --model <name> (--alias <alias> | --version <n>)
                   (--from <time> --to <time> | --entities <list|@file>) [options]

Scores the offline feature log with one registered model version and writes the results to
batch_scoring.results (Postgres at DATABASE_URL). Resumable: run the same command again after a crash
or Ctrl-C and it continues after its last checkpoint; a finished run id is not scored again.

  --model <name>            registered model (e.g. payments-fraud)
  --alias <alias>           version the alias names when the run starts (e.g. champion = Production)
  --version <n>             or a version number
  --from, --to <time>       event-time range [from, to): ISO-8601 (2026-01-10T00:00:00Z) or epoch ms
  --entities <list|@file>   only these entities: a,b,c or @path (one per line)
  --run-id <id>             names the run, to resume it or add shards (default: a new one, printed)
  --shard <i/n>             score shard i of n (rows by hash of entity; default 0/1)
  --to-topic                also publish each prediction to predictions.batch.v1 (at-least-once)
  --namespace <ns>          offline-log namespace (default FEATURES_NAMESPACE, else the model's feature set)
  --max-rows-per-second <n> throttle, to spare a shared feature database
  --metrics-port <port>     serve GET /metrics while running (BATCH_METRICS_PORT)
  --metrics-file <path>     write Prometheus metrics to this file at the end (BATCH_METRICS_FILE)
  -h, --help                this text

Output: progress on stderr (rows done / total, rows/s, ETA), ECS JSON logs on stderr, one JSON summary
line on stdout. Environment: DATABASE_URL, FEATURES_DATABASE_URL, REGISTRY_URL, REGISTRY_TOKEN,
BATCH_CHUNK_ROWS, BATCH_MICRO_BATCH_ROWS, ML_BACKEND, KAFKA_BROKERS/TOPIC_PREFIX/SCHEMA_REGISTRY_URL
(--to-topic); see services/batch-scorer/README.md.

Exit codes: 0 finished (or already finished), 1 failed (re-run to resume), 2 bad arguments or
environment, 3 run id exists with other options or the shard is busy, 4 model version unavailable,
130 interrupted (re-run to resume).`;

export type ParsedArgs =
  | { help: true }
  | {
      help: false;
      options: BatchScoringOptions;
      /** True when --run-id was not given (the CLI prints the generated one so it can be resumed). */
      generatedRunId: boolean;
      /** Environment overrides from flags. */
      env: Record<string, string>;
    };

/** argv (without node and script) → options. Throws UsageError. Shared with `flywheel score-batch`. */
export function parseScoreBatchArgs(argv: string[], newRunId: () => string): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        alias: { type: 'string' },
        version: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        entities: { type: 'string' },
        'run-id': { type: 'string' },
        shard: { type: 'string' },
        'to-topic': { type: 'boolean', default: false },
        namespace: { type: 'string' },
        'max-rows-per-second': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help) return { help: true };
  const text = (name: string) => values[name] as string | undefined;
  const model = text('model');
  if (!model) throw new UsageError('--model is required');
  const version = text('version');
  const maxRate = text('max-rows-per-second');
  const runId = text('run-id');
  const options: BatchScoringOptions = {
    model,
    alias: text('alias'),
    version: version === undefined ? undefined : integer('version', version),
    from: text('from') === undefined ? undefined : parseTime('from', text('from') as string),
    to: text('to') === undefined ? undefined : parseTime('to', text('to') as string),
    entities: text('entities') === undefined ? undefined : entityList(text('entities') as string),
    runId: runId ?? newRunId(),
    shard: parseShard(text('shard') ?? '0/1'),
    toTopic: values['to-topic'] === true,
    namespace: text('namespace'),
    maxRowsPerSecond: maxRate === undefined ? undefined : Number(maxRate),
  };
  const env: Record<string, string> = {};
  const port = text('metrics-port');
  if (port !== undefined) env.BATCH_METRICS_PORT = String(integer('metrics-port', port));
  const file = text('metrics-file');
  if (file !== undefined) env.BATCH_METRICS_FILE = file;
  return { help: false, options: validateOptions(options), generatedRunId: runId === undefined, env };
}

function integer(flag: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new UsageError(`--${flag} ${value}: not a non-negative integer`);
  return Number(value);
}

/** `a,b,c` or `@file` with one entity per line (blank lines and surrounding spaces ignored). */
function entityList(value: string): string[] {
  let raw: string[];
  if (value.startsWith('@')) {
    try {
      raw = readFileSync(value.slice(1), 'utf8').split(/\r?\n/);
    } catch (error) {
      throw new UsageError(`--entities ${value}: ${(error as Error).message}`);
    }
  } else {
    raw = value.split(',');
  }
  const entities = raw.map((e) => e.trim()).filter(Boolean);
  if (entities.length === 0) throw new UsageError(`--entities ${value}: no entity in it`);
  return entities;
}
