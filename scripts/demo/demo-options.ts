import { parseArgs } from 'node:util';
import { type DriftSchedule, driftSchedule, durationMs, UsageError } from '@flywheel/generator';

export const DEMO_USAGE = `usage: npm run demo -- [options]

Starts Kafka, Postgres and every service, trains a first model, then runs synthetic card traffic that drifts
after a while, and shows the loop live: drift → retrain request → new model → promotion → hot swap.
Ctrl-C stops everything it started.

run:
  --fresh                start clean (drop the demo's database and Kafka data); default: resume the last run
  --ports fixed|free     fixed ports 8080–8088 (default), or free ones (several demos, tests)
  --name NAME            name of the run: its Kafka data, database flywheel_<name>, state (default demo)
  --ephemeral            start clean and delete the run's data again on exit (tests, benchmarks)
  --no-build             skip npm run build (the services in dist/ are current)
  --duration S           stop by itself after S seconds of traffic
  --events N             stop by itself after N transactions
  --plain                print status lines instead of redrawing the screen (default when not a terminal)
  --refresh S            screen refresh interval (default 1.5)

traffic (see npm run generate -- --help):
  --rate N               transactions per second (default 200)
  --accounts N           (default 5000)      --merchants N   (default 500)
  --drift-at N | Ns      behaviour changes after N transactions or N seconds (default 20000)
  --fraud-rate F         (default 0.04)      --label-delay D (default 5s)
  --seed N               (default 7)
  --history N            transactions of history the first model is trained on (default 6000)

loop:
  --window N             monitor's drift window in predictions (default 1000)
  --consecutive N        drifted windows in a row before a retrain request (default 2)
  --train-window D       event time the trainer trains on (default: sized from rate, window and label delay)
`;

export interface DemoOptions {
  help: boolean;
  fresh: boolean;
  ephemeral: boolean;
  ports: 'fixed' | 'free';
  name: string;
  build: boolean;
  durationSeconds: number | null;
  events: number | null;
  plain: boolean;
  refreshMs: number;
  rate: number;
  accounts: number;
  merchants: number;
  drift: DriftSchedule | null;
  fraudRate: number;
  labelDelayMs: number;
  seed: number;
  history: number;
  window: number;
  consecutive: number;
  trainWindowMs: number;
}

export function parseDemoArgs(argv: string[], isTerminal: boolean): DemoOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        fresh: { type: 'boolean' },
        ephemeral: { type: 'boolean' },
        ports: { type: 'string' },
        name: { type: 'string' },
        'no-build': { type: 'boolean' },
        duration: { type: 'string' },
        events: { type: 'string' },
        plain: { type: 'boolean' },
        refresh: { type: 'string' },
        rate: { type: 'string' },
        accounts: { type: 'string' },
        merchants: { type: 'string' },
        'drift-at': { type: 'string' },
        'fraud-rate': { type: 'string' },
        'label-delay': { type: 'string' },
        seed: { type: 'string' },
        history: { type: 'string' },
        window: { type: 'string' },
        consecutive: { type: 'string' },
        'train-window': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const str = (name: string) => values[name] as string | undefined;
  const num = (name: string, fallback: string, min: number, max = Number.MAX_SAFE_INTEGER, integer = true) => {
    const raw = str(name) ?? fallback;
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UsageError(
        `--${name} must be ${integer ? 'a whole number' : 'a number'} in ${min}..${max} (got ${raw})`,
      );
    }
    return n;
  };
  const ports = str('ports') ?? 'fixed';
  if (ports !== 'fixed' && ports !== 'free') throw new UsageError(`--ports must be fixed or free (got ${ports})`);
  const name = str('name') ?? 'demo';
  if (!/^[a-z0-9][a-z0-9_-]{0,40}$/i.test(name))
    throw new UsageError(`--name must be letters, digits, _ and - (got ${name})`);
  const rate = num('rate', '200', 1, 100_000, false);
  const window = num('window', '1000', 50, 1_000_000);
  const consecutive = num('consecutive', '2', 1, 100);
  const labelDelayMs = durationMs('label-delay', str('label-delay') ?? '5s');
  const driftAt = str('drift-at') ?? '20000';
  return {
    help: Boolean(values.help),
    fresh: Boolean(values.fresh),
    ephemeral: Boolean(values.ephemeral),
    ports,
    name,
    build: !values['no-build'],
    durationSeconds: str('duration') ? num('duration', '0', 1, 10_000_000, false) : null,
    events: str('events') ? num('events', '0', 1) : null,
    plain: Boolean(values.plain) || !isTerminal,
    refreshMs: Math.round(num('refresh', '1.5', 0.2, 60, false) * 1000),
    rate,
    accounts: num('accounts', '5000', 10),
    merchants: num('merchants', '500', 10),
    drift: driftAt === 'never' ? null : driftSchedule(driftAt),
    fraudRate: num('fraud-rate', '0.04', 0, 0.49, false),
    labelDelayMs,
    seed: num('seed', '7', 0),
    history: num('history', '6000', 600),
    window,
    consecutive,
    trainWindowMs: str('train-window')
      ? durationMs('train-window', str('train-window') as string)
      : defaultTrainWindowMs(rate, window, consecutive, labelDelayMs),
  };
}

/**
 * The trainer's window, which ends where the monitor's evidence ends (TRAINER_WINDOW_ANCHOR=evidence): the
 * windows the monitor needs to see after a drift before it asks (consecutive, plus the one straddling the
 * switch) and the longest label delay (rows whose labels are not known yet cannot be trained on). About half
 * of it is after the drift: enough for the candidate to learn the new pattern and beat the model in
 * Production on the (newest, after-drift) holdout, with enough labelled rows.
 */
export function defaultTrainWindowMs(rate: number, window: number, consecutive: number, labelDelayMs: number): number {
  return Math.round(((consecutive + 1) * window * 1000) / rate + 1.5 * labelDelayMs);
}
