#!/usr/bin/env node
/**
 * `flywheel`: the operator's and developer's command line for the mesh. One file per command in commands/;
 * this file only dispatches and turns errors into messages and exit codes (0 ok, 1 failure, 2 usage).
 */
import { ConfigError } from '@flywheel/config';
import { GLOBAL_HELP } from './cli-config';
import { CliError, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError } from './cli-errors';
import { commands } from './commands';
import { type CliIO, processIO } from './output';

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `flywheel — command line for the Flywheel mesh

Usage: flywheel <command> [arguments] [flags]

Commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Run \`flywheel <command> --help\` for a command's arguments and examples.
Exit codes: 0 done, 1 the command failed, 2 wrong usage.

${GLOBAL_HELP}
`;
}

export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.out(overview());
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const wanted = name === 'help' ? rest[0] : name;
  const entry = commands.find((c) => c.name === wanted);
  if (!entry) {
    io.err(
      `flywheel: unknown command '${wanted}'. Commands: ${commands.map((c) => c.name).join(', ')} (flywheel --help)\n`,
    );
    return EXIT_USAGE;
  }
  try {
    const command = entry.load();
    return await command.run(name === 'help' ? ['--help'] : rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`flywheel ${entry.name}: ${error.message}\nRun \`flywheel ${entry.name} --help\` for usage.\n`);
      return EXIT_USAGE;
    }
    if (error instanceof CliError || error instanceof ConfigError) {
      io.err(`flywheel ${entry.name}: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    const verbose = rest.includes('--verbose');
    const text = error instanceof Error ? (verbose ? (error.stack ?? error.message) : error.message) : String(error);
    io.err(`flywheel ${entry.name} failed: ${text}${verbose ? '' : ' (--verbose shows more)'}\n`);
    return EXIT_FAILURE;
  }
}

// Only when run as a program: tests import runCli.
if (require.main === module) {
  // `flywheel consume ... | head` closes stdout early; that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT_OK);
    throw error;
  });
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Kafka clients are disconnected by now; a straggling socket or timer must not keep the shell waiting.
      setTimeout(() => process.exit(code), 2_000).unref();
    },
    (error: unknown) => {
      process.stderr.write(`flywheel: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT_FAILURE);
    },
  );
}
