import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type CliConfig, GLOBAL_HELP, globalOptions, loadCliConfig } from '../cli-config';
import { UsageError } from '../cli-errors';
import type { CliIO } from '../output';

/** One `flywheel <name>` command. */
export interface Command {
  name: string;
  /** The whole `flywheel <name> --help` text (the global flags are appended). */
  help: string;
  /** Returns the exit code; throws UsageError (exit 2) or CliError (exit 1) with a message for the user. */
  run(argv: string[], io: CliIO): Promise<number>;
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a command's arguments with its own flags plus the global ones; unknown flags are usage errors. Returns
 * undefined after printing the help when --help was given.
 */
export function parseCommand<const O extends OptionsConfig>(
  command: Pick<Command, 'help'>,
  argv: string[],
  io: CliIO,
  options: O,
) {
  const config = {
    args: argv,
    options: { ...globalOptions, ...options } as typeof globalOptions & O,
    allowPositionals: true as const,
    strict: true as const,
  };
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const flags = parsed.values as Parameters<typeof loadCliConfig>[0];
  if (flags.help) {
    io.out(`${command.help.trim()}\n\n${GLOBAL_HELP}\n`);
    return undefined;
  }
  const cli: CliConfig = loadCliConfig(flags);
  return { values: parsed.values, positionals: parsed.positionals, config: cli };
}

/** A positive integer flag, or a usage error naming it. */
export function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

/** The sub-command word (e.g. `models promote`), or a usage error listing the choices. */
export function subcommand<const S extends string>(positionals: string[], choices: readonly S[], command: string): S {
  const word = positionals[0];
  if (!word) throw new UsageError(`${command} needs a sub-command: ${choices.join(', ')}`);
  if (!(choices as readonly string[]).includes(word)) {
    throw new UsageError(`unknown ${command} sub-command '${word}'; one of ${choices.join(', ')}`);
  }
  return word as S;
}

export function requireArg(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`missing ${what}`);
  return value;
}
