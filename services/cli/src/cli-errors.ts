/** Exit codes of `flywheel`: 0 done, 1 the command failed, 2 it was called wrongly (see --help). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The command line is wrong (unknown flag, missing argument): exit 2 with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed in a way the user can act on; the message says how. Exit 1. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/** A service or Kafka did not answer at all: names the address and what to start. Exit 1. */
export class UnreachableError extends CliError {}
