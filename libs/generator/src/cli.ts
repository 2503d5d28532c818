/**
 * The synthetic traffic generator as a command:
 *
 *   npm run generate -- --rate 500 --duration 60 --accounts 5000 --merchants 500 --drift-at 30000 --seed 7 \
 *     --collector http://127.0.0.1:8080 --api-key fw_…
 *
 * Exit codes: 0 done (limits reached or Ctrl-C), 1 the target refused or failed, 2 bad arguments.
 */
import { GENERATE_USAGE, type GenerateCommand, parseGenerateArgs, UsageError } from './cli-args';
import { Population } from './population';
import { loadReferenceData } from './reference-loader';
import { type GeneratorStats, startGenerator } from './run-generator';
import { CollectorSink } from './sinks/collector-sink';
import type { EventSink } from './sinks/event-sink';
import { KafkaSink } from './sinks/kafka-sink';

function sinkFor(command: GenerateCommand): EventSink {
  const spec = command.sink;
  return spec.kind === 'collector'
    ? new CollectorSink(spec.url, spec.apiKey)
    : new KafkaSink({
        brokers: spec.brokers,
        schemaRegistryUrl: spec.schemaRegistryUrl,
        topicPrefix: spec.topicPrefix,
      });
}

function progressLine(stats: GeneratorStats, elapsedMs: number): string {
  const rate = elapsedMs > 0 ? Math.round((stats.transactions / elapsedMs) * 1000) : 0;
  const fraud = stats.transactions > 0 ? ((100 * stats.fraud) / stats.transactions).toFixed(1) : '0.0';
  const drift = stats.driftedAt ? ` (drift after ${stats.driftedAfterTransactions?.toLocaleString('en-US')})` : '';
  return (
    `sent ${stats.transactions.toLocaleString('en-US')} transactions (${rate}/s), ` +
    `${stats.labels.toLocaleString('en-US')} labels (${stats.pendingLabels.toLocaleString('en-US')} pending), ` +
    `fraud ${fraud}%, ${stats.phase}${drift}, rejected ${stats.rejected}, retries ${stats.retries}`
  );
}

async function main(argv: string[]): Promise<number> {
  let command: GenerateCommand;
  try {
    command = parseGenerateArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${GENERATE_USAGE}`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(GENERATE_USAGE);
    return 0;
  }
  const population = new Population({
    accounts: command.accounts,
    merchants: command.merchants,
    seed: command.seed,
  });
  if (command.reference) {
    const loaded = await loadReferenceData(command.reference.enrichmentUrl, command.reference.adminToken, population);
    process.stderr.write(
      `reference data: ${loaded.accounts} accounts, ${loaded.merchants} merchants, ${loaded.rates} rates loaded\n`,
    );
  }
  const sink = sinkFor(command);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  const started = Date.now();
  const generator = startGenerator({
    sink,
    population,
    rate: command.rate,
    accounts: command.accounts,
    merchants: command.merchants,
    seed: command.seed,
    durationSeconds: command.durationSeconds,
    events: command.events,
    drift: command.drift,
    fraudRate: command.fraudRate,
    labelDelayMs: command.labelDelayMs,
    batchSize: command.batchSize,
    concurrency: command.concurrency,
    // Ctrl-C ends the run at once; labels not yet due are dropped (said in the summary).
    signal: stop.signal,
  });
  process.stderr.write(`generating ${command.rate}/s into ${sink.description} (Ctrl-C stops)\n`);
  const ticker = command.quiet
    ? undefined
    : setInterval(() => {
        const problem = sink.problem ? ` — ${sink.problem}` : '';
        process.stderr.write(`${progressLine(generator.stats, Date.now() - started)}${problem}\n`);
      }, 5_000);
  try {
    const stats = await generator.done;
    process.stderr.write(`done: ${progressLine(stats, Date.now() - started)}\n`);
    if (stats.pendingLabels > 0) process.stderr.write(`${stats.pendingLabels} labels not yet due were not sent\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`generate failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stderr.write(`${progressLine(generator.stats, Date.now() - started)}\n`);
    return 1;
  } finally {
    if (ticker) clearInterval(ticker);
    await sink.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `generate failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
