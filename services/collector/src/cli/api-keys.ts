/**
 * API keys of the collector:
 *
 *   node dist/services/collector/src/cli/api-keys.js create --producer <name> [--json]   prints the key ONCE
 *   node dist/services/collector/src/cli/api-keys.js revoke <id>
 *   node dist/services/collector/src/cli/api-keys.js list [--json]
 *
 * Uses DATABASE_URL like the service (and runs its migrations, so it works before the first start).
 * A revocation reaches every running replica within COLLECTOR_API_KEY_CACHE_MS (default 5 s).
 * The commands live in libs/api-keys (runApiKeysCommand), shared with `flywheel keys` (services/cli).
 */

import { runApiKeysCommand } from '@flywheel/api-keys';
import { createLogger } from '@flywheel/observability';

runApiKeysCommand(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // ECS like the services' logs (the key itself only ever goes to stdout, on `create`).
    createLogger({ service: 'collector-cli', destination: process.stderr }).fatal({ error }, 'api-keys failed');
    process.exit(1);
  },
);
