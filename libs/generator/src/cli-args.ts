import { parseArgs } from 'node:util';
import type { DriftSchedule } from './run-generator';

export const GENERATE_USAGE = `usage: npm run generate -- [options]

Synthetic card payments with a fraud pattern, delayed chargeback labels and an optional drift switch.

where to send (one of):
  --collector URL          the collector's HTTP API, e.g. http://127.0.0.1:8080 (needs --api-key)
  --api-key KEY            collector API key (or FLYWHEEL_API_KEY); create one with npm run collector:keys
  --kafka BROKERS          produce straight to events.raw.v1 and labels.v1 (needs --schema-registry)
  --schema-registry URL    the registry, e.g. http://127.0.0.1:8081
  --topic-prefix P         TOPIC_PREFIX of the mesh (kafka only)

traffic:
  --rate N                 transactions per second (default 200)
  --duration S             stop after S seconds (default: run until Ctrl-C)
  --events N               stop after N transactions
  --accounts N             card accounts (default 5000)
  --merchants N            merchants (default 500)
  --drift-at N | Ns        switch behaviour after N transactions, or after N seconds (default: never)
  --fraud-rate F           account-takeover share before the drift (default 0.04)
  --label-delay D          mean label delay, e.g. 10s, 500ms (default 10s)
  --seed N                 seed of the world and the traffic (default 7)
  --batch-size N           transactions per request (default 250, at most 500)
  --concurrency N          requests in flight (default 4)

reference data (so enrichment-api knows the accounts and merchants):
  --enrichment URL         load accounts, merchants and rates into enrichment-api first
  --admin-token T          its admin token (or ENRICHMENT_ADMIN_TOKEN)

  --quiet                  no progress lines
  --help
`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export type SinkSpec =
  | { kind: 'collector'; url: string; apiKey: string }
  | { kind: 'kafka'; brokers: string[]; schemaRegistryUrl: string; topicPrefix: string };

export interface GenerateCommand {
  help: boolean;
  quiet: boolean;
  sink: SinkSpec;
  reference: { enrichmentUrl: string; adminToken: string } | null;
  rate: number;
  durationSeconds: number | null;
  events: number | null;
  accounts: number;
  merchants: number;
  drift: DriftSchedule | null;
  fraudRate: number;
  labelDelayMs: number;
  seed: number;
  batchSize: number;
  concurrency: number;
}

/** Parses `npm run generate` arguments; every mistake is a UsageError naming the option. */
export function parseGenerateArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): GenerateCommand {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        collector: { type: 'string' },
        'api-key': { type: 'string' },
        kafka: { type: 'string' },
        'schema-registry': { type: 'string' },
        'topic-prefix': { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        events: { type: 'string' },
        accounts: { type: 'string' },
        merchants: { type: 'string' },
        'drift-at': { type: 'string' },
        'fraud-rate': { type: 'string' },
        'label-delay': { type: 'string' },
        seed: { type: 'string' },
        'batch-size': { type: 'string' },
        concurrency: { type: 'string' },
        enrichment: { type: 'string' },
        'admin-token': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const str = (name: string) => values[name] as string | undefined;
  const help = Boolean(values.help);
  let sink: SinkSpec;
  if (str('collector') && str('kafka')) throw new UsageError('give either --collector or --kafka, not both');
  if (str('kafka')) {
    const registry = str('schema-registry');
    if (!registry) throw new UsageError('--kafka needs --schema-registry URL');
    sink = {
      kind: 'kafka',
      brokers: (str('kafka') as string).split(',').map((b) => b.trim()),
      schemaRegistryUrl: url('schema-registry', registry),
      topicPrefix: str('topic-prefix') ?? '',
    };
  } else {
    const apiKey = str('api-key') ?? env.FLYWHEEL_API_KEY;
    const collector = str('collector');
    if (!collector && !help)
      throw new UsageError('say where to send: --collector URL (with --api-key) or --kafka BROKERS');
    if (!apiKey && !help) throw new UsageError('--collector needs --api-key KEY (or FLYWHEEL_API_KEY)');
    sink = { kind: 'collector', url: collector ? url('collector', collector) : '', apiKey: apiKey ?? '' };
  }
  const enrichment = str('enrichment');
  const adminToken = str('admin-token') ?? env.ENRICHMENT_ADMIN_TOKEN;
  if (enrichment && !adminToken) throw new UsageError('--enrichment needs --admin-token (or ENRICHMENT_ADMIN_TOKEN)');
  return {
    help,
    quiet: Boolean(values.quiet),
    sink,
    reference: enrichment ? { enrichmentUrl: url('enrichment', enrichment), adminToken: adminToken as string } : null,
    rate: positive('rate', str('rate') ?? '200'),
    durationSeconds: str('duration') ? positive('duration', str('duration') as string) : null,
    events: str('events') ? integer('events', str('events') as string, 1) : null,
    accounts: integer('accounts', str('accounts') ?? '5000', 1),
    merchants: integer('merchants', str('merchants') ?? '500', 1),
    drift: str('drift-at') ? driftSchedule(str('drift-at') as string) : null,
    fraudRate: fraction('fraud-rate', str('fraud-rate') ?? '0.04'),
    labelDelayMs: durationMs('label-delay', str('label-delay') ?? '10s'),
    seed: integer('seed', str('seed') ?? '7', 0),
    batchSize: integer('batch-size', str('batch-size') ?? '250', 1, 500),
    concurrency: integer('concurrency', str('concurrency') ?? '4', 1, 64),
  };
}

function url(name: string, value: string): string {
  try {
    return new URL(value).toString().replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--${name} ${value} is not a URL (e.g. http://127.0.0.1:8080)`);
  }
}

function positive(name: string, value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new UsageError(`--${name} must be a number > 0 (got ${value})`);
  return n;
}

function integer(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number in ${min}..${max} (got ${value})`);
  }
  return n;
}

function fraction(name: string, value: string): number {
  const n = Number(value);
  if (!(n >= 0 && n < 0.5)) throw new UsageError(`--${name} must be in [0, 0.5) (got ${value})`);
  return n;
}

/** "10s", "500ms", "2m", or a bare number of seconds. */
export function durationMs(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) throw new UsageError(`--${name} must look like 10s, 500ms or 2m (got ${value})`);
  const n = Number(match[1]);
  return Math.round(match[2] === 'ms' ? n : match[2] === 'm' ? n * 60_000 : n * 1000);
}

/** "30000" = after 30,000 transactions; "90s" / "2m" = after that much time. */
export function driftSchedule(value: string): DriftSchedule {
  if (/^\d[\d_]*$/.test(value.trim())) return { transactions: integer('drift-at', value.trim(), 0) };
  return { seconds: durationMs('drift-at', value) / 1000 };
}
