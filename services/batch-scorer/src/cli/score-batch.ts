/**
 * Batch scoring of the offline feature log (usage: `--help`, or services/batch-scorer/README.md):
 *
 *   node dist/services/batch-scorer/src/cli/score-batch.js --model payments-fraud --alias champion \
 *     --from 2026-01-01T00:00:00Z --to 2026-01-08T00:00:00Z [--run-id r1] [--shard 0/4] [--to-topic]
 *
 * argv parsing lives in parse-args.ts and the work in runBatchScoring, so `flywheel score-batch` reuses both.
 */
import { randomUUID } from 'node:crypto';
import { loadBatchScorerConfig } from '../config';
import { EXIT, exitCodeFor } from './exit-codes';
import { parseScoreBatchArgs, USAGE } from './parse-args';

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseScoreBatchArgs>;
  try {
    parsed = parseScoreBatchArgs(
      argv,
      () => `batch-${new Date().toISOString().slice(0, 10)}-${randomUUID().slice(0, 8)}`,
    );
  } catch (error) {
    process.stderr.write(`score-batch: ${(error as Error).message} (score-batch --help for usage)\n`);
    return EXIT.usage;
  }
  if (parsed.help) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.done;
  }
  const config = loadBatchScorerConfig({ ...process.env, ...parsed.env });
  if (parsed.generatedRunId) {
    process.stderr.write(
      `score-batch: run id ${parsed.options.runId} (pass --run-id ${parsed.options.runId} to resume it)\n`,
    );
  }
  // First signal: stop after the chunk being written, so the checkpoint is exact; second: leave now.
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(EXIT.interrupted);
    process.stderr.write(`\nscore-batch: ${signal}: stopping after the current chunk (again to quit at once)\n`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Loaded only now: tfjs, TypeORM and pg take a while to import, and a usage error should not wait for them.
  const { runBatchScoring } = require('../scoring/batch-scoring') as typeof import('../scoring/batch-scoring');
  const summary = await runBatchScoring(parsed.options, { config, signal: stop.signal });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return summary.status === 'interrupted' ? EXIT.interrupted : EXIT.done;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const code = exitCodeFor(error);
    const detail =
      code === EXIT.failed && error instanceof Error ? (error.stack ?? error.message) : (error as Error)?.message;
    process.stderr.write(`score-batch failed: ${detail ?? String(error)}\n`);
    if (code === EXIT.failed) process.stderr.write('run the same command again to resume after the last checkpoint\n');
    process.exit(code);
  },
);
