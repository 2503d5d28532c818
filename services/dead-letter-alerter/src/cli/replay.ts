/**
 * Replay CLI: calls the alerter's HTTP API (POST /v1/dlq/{topic}/replay, then polls GET /v1/replays/{id})
 * and prints progress and the final counts as JSON.
 *
 *   node dist/services/dead-letter-alerter/src/cli/replay.js --topic events.raw.v1.dlq \
 *     [--kind enrichment]... [--from 2026-01-01T00:00:00Z] [--to ...] [--offset-from N] [--offset-to N] \
 *     [--event-id ID]... [--key K] [--dry-run] [--url http://127.0.0.1:8088] [--token T] [--actor NAME]
 *
 * ALERTER_URL and ALERTER_ADMIN_TOKEN are read from the environment when --url/--token are not given.
 * Exit code 0 when the replay completed, 1 when it failed, 2 on a usage or HTTP error.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '@flywheel/observability';

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      topic: { type: 'string' },
      kind: { type: 'string', multiple: true },
      from: { type: 'string' },
      to: { type: 'string' },
      'offset-from': { type: 'string' },
      'offset-to': { type: 'string' },
      'event-id': { type: 'string', multiple: true },
      key: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      url: { type: 'string' },
      token: { type: 'string' },
      actor: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.topic) {
    process.stderr.write('usage: replay --topic <dlq topic> [--kind K]... [--dry-run] [--url U] [--token T]\n');
    return values.help ? 0 : 2;
  }
  const url = (values.url ?? process.env.ALERTER_URL ?? 'http://127.0.0.1:8088').replace(/\/$/, '');
  const token = values.token ?? process.env.ALERTER_ADMIN_TOKEN;
  if (!token) {
    process.stderr.write('an admin token is required: --token or ALERTER_ADMIN_TOKEN\n');
    return 2;
  }
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${token}`,
    'x-flywheel-actor': values.actor ?? `cli:${process.env.USER ?? 'unknown'}`,
  };
  const offsets =
    values['offset-from'] !== undefined || values['offset-to'] !== undefined
      ? {
          from: values['offset-from'] === undefined ? undefined : Number(values['offset-from']),
          to: values['offset-to'] === undefined ? undefined : Number(values['offset-to']),
        }
      : undefined;
  const body = {
    kinds: values.kind,
    from: values.from,
    to: values.to,
    key: values.key,
    eventIds: values['event-id'],
    offsets,
    dryRun: values['dry-run'],
  };
  const started = await fetch(`${url}/v1/dlq/${encodeURIComponent(values.topic)}/replay`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  if (started.status !== 202) {
    process.stderr.write(`replay refused: HTTP ${started.status} ${await started.text()}\n`);
    return 2;
  }
  let status = (await started.json()) as { id: string; status: string; [k: string]: unknown };
  process.stderr.write(`replay ${status.id} started\n`);
  while (status.status === 'running') {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const res = await fetch(`${url}/v1/replays/${status.id}`, { headers });
    if (!res.ok) {
      process.stderr.write(`status check failed: HTTP ${res.status}\n`);
      return 2;
    }
    status = (await res.json()) as typeof status;
    process.stderr.write(
      `  selected ${status.selected}, sent ${status.sent}, skipped ${status.skipped}, would send ${status.would_send}\n`,
    );
  }
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
  return status.status === 'completed' ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // ECS like the services' logs; usage and progress above stay plain text for the person at the terminal.
    createLogger({ service: 'dead-letter-alerter-cli', destination: process.stderr }).fatal({ error }, 'replay failed');
    process.exit(2);
  },
);
