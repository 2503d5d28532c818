import { createHash } from 'node:crypto';

/** `--shard i/n`: this process scores the rows whose entity hashes to i of n (source/shard.ts). */
export interface Shard {
  index: number;
  count: number;
}

/** What to score and where to; everything else (connections, sizes) comes from the config. */
export interface BatchScoringOptions {
  /** Registered model name. */
  model: string;
  /** Exactly one of alias / version picks the version; resolved once, when the run is created. */
  alias?: string;
  version?: number;
  /** Event-time range [from, to), epoch millis. */
  from?: number;
  to?: number;
  /** Only these entities (account ids). */
  entities?: string[];
  /** Identifies the run across restarts and shards. */
  runId: string;
  shard: Shard;
  /** Also publish each scored row to predictions.batch.v1 (at-least-once). */
  toTopic: boolean;
  /** Offline-log namespace to read; default FEATURES_NAMESPACE, else the model's feature-set version. */
  namespace?: string;
  /** Throttle: at most this many rows per second (protects a shared feature database); unset = as fast as it goes. */
  maxRowsPerSecond?: number;
}

/** The options are unusable (exit code 2); the message says which and why. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function parseShard(text: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!match) throw new UsageError(`--shard ${text}: expected i/n, e.g. 0/4`);
  const index = Number(match[1]);
  const count = Number(match[2]);
  if (count < 1 || count > 1024) throw new UsageError(`--shard ${text}: n must be 1..1024`);
  if (index >= count) throw new UsageError(`--shard ${text}: i must be 0..${count - 1}`);
  return { index, count };
}

/** ISO-8601 date-time or epoch milliseconds. */
export function parseTime(flag: string, text: string): number {
  const trimmed = text.trim();
  const t = /^\d+$/.test(trimmed) ? Number(trimmed) : Date.parse(trimmed);
  if (!Number.isFinite(t)) throw new UsageError(`--${flag} ${text}: not an ISO date-time or epoch milliseconds`);
  return t;
}

/** Checks what argv parsing cannot: consistent combinations. Throws UsageError. */
export function validateOptions(options: BatchScoringOptions): BatchScoringOptions {
  if (!NAME.test(options.model)) throw new UsageError(`--model ${options.model}: not a model name`);
  if ((options.alias === undefined) === (options.version === undefined)) {
    throw new UsageError('give exactly one of --alias (e.g. champion) or --version');
  }
  if (options.alias !== undefined && !NAME.test(options.alias)) {
    throw new UsageError(`--alias ${options.alias}: not an alias name`);
  }
  if (options.version !== undefined && !(Number.isInteger(options.version) && options.version >= 1)) {
    throw new UsageError(`--version ${options.version}: must be a positive integer`);
  }
  const hasRange = options.from !== undefined && options.to !== undefined;
  if (!hasRange && !options.entities) {
    throw new UsageError(
      'give a time range (--from and --to) or --entities (or both): refusing to score the whole log',
    );
  }
  if ((options.from === undefined) !== (options.to === undefined)) {
    throw new UsageError('--from and --to go together');
  }
  if (hasRange && !((options.from as number) < (options.to as number))) {
    throw new UsageError('--from must be before --to');
  }
  if (options.entities && options.entities.length === 0) throw new UsageError('--entities names no entity');
  if (!RUN_ID.test(options.runId)) {
    throw new UsageError(`--run-id ${options.runId}: 1-128 characters of A-Z a-z 0-9 . _ : - (starting alphanumeric)`);
  }
  if (options.namespace !== undefined && options.namespace.trim() === '') throw new UsageError('--namespace is empty');
  if (options.maxRowsPerSecond !== undefined && !(options.maxRowsPerSecond > 0)) {
    throw new UsageError('--max-rows-per-second must be > 0');
  }
  return options;
}

/** Identity of an entity list for the runs table: order and duplicates do not matter. */
export function entitiesDigest(entities: readonly string[] | undefined): { sha256: string; count: number } | null {
  if (!entities) return null;
  const unique = [...new Set(entities)].sort();
  return { sha256: createHash('sha256').update(unique.join('\n')).digest('hex'), count: unique.length };
}
