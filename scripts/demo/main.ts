/**
 * `npm run demo`: the whole mesh on this machine, a first model, and live synthetic traffic that drifts, with
 * the loop on screen. Ctrl-C stops everything it started; a second run resumes (`--fresh` starts clean).
 * `npm run demo -- --help` lists the options.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  CollectorSink,
  deriveSeed,
  type GeneratorStats,
  loadReferenceData,
  Population,
  type RunningGenerator,
  startGenerator,
  UsageError,
} from '@flywheel/generator';
import { describeMesh, type Mesh, REPO_ROOT, startMesh } from '@flywheel/testing';
import { type DashboardContext, elapsed, fitWidth, renderDashboard, renderStatusLine, ScreenRegion } from './dashboard';
import { DEMO_USAGE, type DemoOptions, parseDemoArgs } from './demo-options';
import { createApiKey, ensureInitialModel } from './initial-model';
import { LoopEventFeed } from './loop-events';
import { DEMO_FEATURES, DEMO_MODEL, loopEnvironment } from './loop-settings';
import { type MeshStatus, MeshStatusReader } from './mesh-status';

const PLAIN_STATUS_EVERY_MS = 5_000;
const DRAIN_TIMEOUT_MS = 60_000;

class Stopped extends Error {}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(process.argv.slice(2), Boolean(process.stdout.isTTY));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${DEMO_USAGE}`);
    return 2;
  }
  if (options.help) {
    out(DEMO_USAGE);
    return 0;
  }

  const startedAt = Date.now();
  const since = (at: number) => `[${elapsed(at - startedAt).padStart(6)}]`;
  // Start-up lines carry the time since start: on a busy machine it is minutes, and where they go shows.
  const step = (line: string) => out(`${since(Date.now())} ${line}`);
  const stop = new AbortController();
  let mesh: Mesh | undefined;
  let firstInterrupt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    // One Ctrl-C reaches this process more than once: from the terminal (the whole process group) and relayed by
    // npm. Only a press a while after the first one means "kill now". (npm runs `node --import tsx`, not the tsx
    // CLI: its wrapper SIGKILLs a child that has not acknowledged a relayed signal within 30 ms, which a busy
    // demo missed — killed before it could stop its services.)
    if (firstInterrupt === 0) {
      firstInterrupt = Date.now();
      out(`\n${signal}: stopping everything (Ctrl-C again to kill at once) ...`);
      stop.abort(new Stopped(signal));
      return;
    }
    if (Date.now() - firstInterrupt < 2_000) return;
    // Impatient: kill the services now. The broker may outlive us; the next run reuses it.
    out('killing the services ...');
    for (const service of [
      'stream-inference',
      'monitor',
      'trainer',
      'dead-letter-alerter',
      'feature-materializer',
      'enrichment-api',
      'collector',
      'registry',
    ] as const) {
      for (const p of mesh?.instances(service) ?? []) p.child.kill('SIGKILL');
    }
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  const checkpoint = () => {
    if (stop.signal.aborted) throw stop.signal.reason;
  };

  const stateDir = resolve(REPO_ROOT, '.cache/demo', options.name);
  const stateFile = resolve(stateDir, 'demo.json');
  rmSync(stateFile, { force: true });
  let generator: RunningGenerator | undefined;
  let feed: LoopEventFeed | undefined;
  let reader: MeshStatusReader | undefined;
  let exitCode = 0;
  try {
    out(
      `Flywheel demo "${options.name}": starting Kafka, Postgres and the services${options.fresh || options.ephemeral ? ' (fresh)' : ''} ...`,
    );
    mesh = await startMesh({
      name: options.name,
      ports: options.ports,
      fresh: options.fresh,
      ephemeral: options.ephemeral,
      build: options.build,
      // The scorers need a model first; they start after the initial training.
      services: ['registry', 'collector', 'enrichment-api', 'feature-materializer', 'dead-letter-alerter'],
      instances: { 'stream-inference': 2 },
      env: loopEnvironment(options),
      log: step,
    });
    checkpoint();
    const population = new Population({ accounts: options.accounts, merchants: options.merchants, seed: options.seed });
    const loaded = await loadReferenceData(mesh.url('enrichment-api'), mesh.adminToken, population);
    step(
      `reference   ${loaded.accounts} accounts, ${loaded.merchants} merchants, ${loaded.rates} currency rates loaded (bulk API)`,
    );
    const apiKey = await createApiKey(mesh, 'demo-generator');
    step(`api key     ${apiKey.key}  (producer demo-generator; for npm run generate -- --api-key …)`);
    checkpoint();
    await ensureInitialModel(mesh, options, population, apiKey.key, step, stop.signal);
    checkpoint();
    await mesh.start(['stream-inference', 'monitor', 'trainer']);
    checkpoint();

    const description = await describeMesh(mesh);
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(
      stateFile,
      `${JSON.stringify({ ...description, pid: process.pid, apiKey: apiKey.key, model: DEMO_MODEL, features: DEMO_FEATURES, options }, null, 2)}\n`,
    );
    step(`state       ${stateFile}`);

    const screen = options.plain ? undefined : new ScreenRegion();
    feed = new LoopEventFeed(mesh.brokers, mesh.url('registry'), DEMO_MODEL, (event) => {
      if (options.plain) out(`${since(Date.now())} ${event.text}`);
    });
    await feed.start();
    reader = new MeshStatusReader(mesh, DEMO_MODEL);

    const generatorStartedAt = Date.now();
    const sink = new CollectorSink(mesh.url('collector'), apiKey.key);
    generator = startGenerator({
      sink,
      population,
      rate: options.rate,
      accounts: options.accounts,
      merchants: options.merchants,
      seed: options.seed,
      trafficSeed: deriveSeed(options.seed, `live-${generatorStartedAt}`),
      drift: options.drift,
      durationSeconds: options.durationSeconds,
      events: options.events,
      fraudRate: options.fraudRate,
      labelDelayMs: options.labelDelayMs,
      signal: stop.signal,
    });
    const driftAt = !options.drift
      ? 'never'
      : 'transactions' in options.drift
        ? options.drift.transactions.toLocaleString('en-US')
        : `${options.drift.seconds}s`;
    const context = (): DashboardContext => ({
      name: options.name,
      startedAt,
      modelName: DEMO_MODEL,
      driftAt,
      generator: generator?.stats ?? null,
      generatorStartedAt,
      sinkProblem: sink.problem,
      events: feed?.events ?? [],
    });
    if (options.plain) {
      out(
        `traffic     ${options.rate}/s, drift at ${driftAt}; a status line every ${PLAIN_STATUS_EVERY_MS / 1000} s. Ctrl-C stops everything.`,
      );
    }

    let lastPlain = 0;
    let status: MeshStatus | null = null;
    const show = async () => {
      status = (await reader?.read().catch(() => status)) ?? status;
      if (screen) {
        const columns = process.stdout.columns || 120;
        process.stdout.write(screen.draw(renderDashboard(status, context()).map((l) => fitWidth(l, columns))));
      } else if (status && Date.now() - lastPlain >= PLAIN_STATUS_EVERY_MS) {
        lastPlain = Date.now();
        out(renderStatusLine(status, context()));
      }
    };
    const finished = generator.done.then(
      () => 'limits' as const,
      (error: unknown) => (stop.signal.aborted ? ('stopped' as const) : Promise.reject(error)),
    );
    for (;;) {
      const outcome = await Promise.race([finished, sleep(options.refreshMs).then(() => null)]);
      await show();
      if (outcome === 'stopped' || stop.signal.aborted) break;
      if (outcome === 'limits') {
        // text printed under the screen block would be drawn over: start a new block after it
        screen?.release();
        out(`traffic done (${summary(generator.stats)}); waiting for the pipeline to drain ...`);
        await drain(reader, stop.signal);
        lastPlain = 0; // the final numbers, in either mode
        await show();
        break;
      }
    }
    screen?.release();
  } catch (error) {
    if (!(error instanceof Stopped) && !(stop.signal.reason instanceof Stopped && stop.signal.aborted)) {
      out(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
      exitCode = 1;
    }
  } finally {
    await generator?.stop();
    await feed?.stop();
    await reader?.close();
    if (mesh) {
      out('stopping the services and Kafka ...');
      await mesh.stop();
      out(
        `stopped${options.ephemeral ? " and deleted the run's data" : `; \`npm run demo\` resumes, \`npm run demo -- --fresh\` starts clean`}.`,
      );
    }
    if (options.ephemeral) rmSync(stateDir, { recursive: true, force: true });
    else rmSync(stateFile, { force: true });
  }
  return exitCode;
}

function summary(stats: GeneratorStats): string {
  return `${stats.transactions.toLocaleString('en-US')} transactions, ${stats.labels.toLocaleString('en-US')} labels`;
}

/** Waits until no consumer has anything left to process (bounded), so the final numbers are complete. */
async function drain(reader: MeshStatusReader, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  while (Date.now() < deadline && !signal.aborted) {
    const status = await reader.read();
    if (status.stages.every((s) => s.lag === null || s.lag === 0)) return;
    await sleep(1_000);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    out(`demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
