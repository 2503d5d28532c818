import { ConfigError } from '@flywheel/config';
import { ModelUnavailableError, RunConflictError } from '../scoring/errors';
import { UsageError } from '../scoring/run-options';

/** Exit codes of score-batch (also what `flywheel score-batch` returns). */
export const EXIT = {
  /** The shard is finished (now, or it already was). */
  done: 0,
  /** Failed mid-way (database, registry, Kafka): run the same command again to resume. */
  failed: 1,
  /** Bad arguments or environment: nothing was done. */
  usage: 2,
  /** The run id exists with other options, or the shard is being scored by another process. */
  conflict: 3,
  /** The model version cannot be resolved or loaded (unknown, sha256 mismatch, bad artifact). */
  model: 4,
  /** Stopped by SIGINT/SIGTERM after committing the chunk in flight: run the same command to resume. */
  interrupted: 130,
} as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.usage;
  if (error instanceof RunConflictError) return EXIT.conflict;
  if (error instanceof ModelUnavailableError) return EXIT.model;
  return EXIT.failed;
}
