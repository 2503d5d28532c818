import { runApiKeysCommand } from '@flywheel/api-keys';
import { UnreachableError, UsageError } from '../cli-errors';
import { type Command, parseCommand, requireArg, subcommand } from './command';

const HELP = `
flywheel keys create --producer <name>
flywheel keys revoke <id>
flywheel keys list

API keys of the collector (POST /v1/events), stored as salted hashes in Postgres (schema collector). Runs the
same key commands as the collector's own CLI (libs/api-keys) against DATABASE_URL /
--database-url, creating the table if the collector never started there.

  create    prints the key once (fw_<id>_<secret>): store it, only a hash is kept
  revoke    every collector replica refuses the key within COLLECTOR_API_KEY_CACHE_MS (default 5 s)
  list      id, producer, created, active or revoked (never the secret)

With --json: create prints {id, producer, key}, list an array.
`;

export const keysCommand: Command = {
  name: 'keys',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, { producer: { type: 'string' } });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    const action = subcommand(positionals, ['create', 'revoke', 'list'] as const, 'keys');
    const args: string[] = [action];
    if (action === 'create') args.push('--producer', requireArg(values.producer, '--producer <name>'));
    if (action === 'revoke') args.push(requireArg(positionals[1], 'the id of the key to revoke'));
    if (positionals.length > (action === 'revoke' ? 2 : 1))
      throw new UsageError(`unexpected ${positionals.slice(-1)[0]}`);
    if (config.json) args.push('--json');
    try {
      return await runApiKeysCommand(args, io, config.keysEnv);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as { cause?: { code?: string } }).cause?.code;
      if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT') {
        throw new UnreachableError(
          `cannot reach Postgres at ${redact(config.keysEnv.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/flywheel')} (${code}). ` +
            'Start the mesh with `npm run mesh` (it finds or starts Postgres), or point --database-url / DATABASE_URL at it.',
        );
      }
      throw error;
    }
  },
};

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}
