import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { CollectorSink, deriveSeed, type Population, runGenerator } from '@flywheel/generator';
import { type Mesh, type MeshService, REPO_ROOT, waitUntil } from '@flywheel/testing';
import type { DemoOptions } from './demo-options';
import { DEMO_MODEL } from './loop-settings';
import { parsePrometheusText, sum } from './prometheus-text';

const run = promisify(execFile);

/** Runs one of the services' own CLIs (from dist/) with that service's environment; returns its stdout. */
async function serviceCli(mesh: Mesh, service: MeshService, script: string, args: string[]): Promise<string> {
  const entry = resolve(REPO_ROOT, 'dist/services', service, 'src/cli', script);
  try {
    const { stdout } = await run(process.execPath, [entry, ...args], {
      env: { ...process.env, ...mesh.env(service), LOG_LEVEL: 'warn' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${service} ${script} failed: ${failed.stderr || failed.stdout || failed.message}`);
  }
}

/** A new collector API key for the generator (the collector keeps only its hash: it is shown once). */
export async function createApiKey(mesh: Mesh, producer: string): Promise<{ id: string; key: string }> {
  const stdout = await serviceCli(mesh, 'collector', 'api-keys.js', ['create', '--producer', producer, '--json']);
  return JSON.parse(stdout.trim().split('\n').pop() as string) as { id: string; key: string };
}

export interface InitialModel {
  version: number;
  /** False when a resumed run already had a model in Production. */
  trainedNow: boolean;
  historyTransactions: number;
  auc: number | null;
}

interface RegistryModel {
  production_version: number | null;
}

async function productionVersion(mesh: Mesh): Promise<number | null> {
  const response = await fetch(`${mesh.url('registry')}/v1/models/${DEMO_MODEL}`);
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`registry GET /v1/models/${DEMO_MODEL} answered ${response.status}`);
  return ((await response.json()) as RegistryModel).production_version;
}

/**
 * The mesh needs a model in Production before stream-inference can score. The first one is made the way
 * every later one is: history flows through the real pipeline (collector → enrichment-api →
 * feature-materializer, labels included), the trainer trains on the feature store's offline log
 * (its CLI, `npm run trainer:train`), publishes models.trained.v1, and the registry's promotion policy puts it
 * in Production (nothing is there yet). A resumed run that has one skips all of it.
 */
export async function ensureInitialModel(
  mesh: Mesh,
  options: DemoOptions,
  population: Population,
  apiKey: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<InitialModel> {
  const stopped = () => {
    if (signal?.aborted) throw signal.reason;
  };
  const existing = await productionVersion(mesh);
  if (existing !== null) {
    log(`model       ${DEMO_MODEL} v${existing} is in Production (resumed): no initial training`);
    return { version: existing, trainedNow: false, historyTransactions: 0, auc: null };
  }

  // History at the demo's rate that ended long enough ago for every label to be due now.
  const end = Date.now() - Math.ceil(1.5 * options.labelDelayMs) - 1_000;
  const start = end - Math.ceil((options.history / options.rate) * 1000);
  log(
    `history     sending ${options.history.toLocaleString('en-US')} transactions with labels through the collector ...`,
  );
  const sent = await runGenerator({
    sink: new CollectorSink(mesh.url('collector'), apiKey),
    population,
    rate: options.rate,
    accounts: options.accounts,
    merchants: options.merchants,
    seed: options.seed,
    trafficSeed: deriveSeed(options.seed, 'history'),
    startTime: start,
    events: options.history,
    fraudRate: options.fraudRate,
    labelDelayMs: options.labelDelayMs,
    batchSize: 500,
    signal,
  });
  stopped();
  if (sent.rejected > 0)
    log(`history     ${sent.rejected} events rejected by the collector: ${sent.lastRejections.join('; ')}`);

  // The trainer reads the offline log: wait until the feature-materializer has written all of it.
  const features = mesh.url('feature-materializer');
  await abortable(
    signal,
    waitUntil(
      async () => {
        const samples = parsePrometheusText(await (await fetch(`${features}/metrics`)).text());
        const vectors = sum(samples, 'flywheel_features_events_total');
        const labels = sum(samples, 'flywheel_features_labels_total');
        return vectors >= sent.transactions - sent.rejected && labels >= sent.labels ? true : { vectors, labels };
      },
      { timeoutMs: 180_000, intervalMs: 500, message: 'feature-materializer did not write the history' },
    ),
  );

  stopped();
  log('training    first model (trainer CLI over the offline log) ...');
  const stdout = await serviceCli(mesh, 'trainer', 'train.js', [
    '--model',
    DEMO_MODEL,
    '--from',
    new Date(start - 1_000).toISOString(),
    '--to',
    new Date().toISOString(),
  ]);
  const outcome = stdout
    .trim()
    .split('\n')
    .map((line) => {
      try {
        return JSON.parse(line) as { outcome?: string; metrics?: Record<string, number>; message?: string };
      } catch {
        return {};
      }
    })
    .find((line) => line.outcome);
  if (outcome?.outcome !== 'trained') throw new Error(`the first training was refused: ${JSON.stringify(outcome)}`);

  const version = await abortable(
    signal,
    waitUntil(() => productionVersion(mesh), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: `the registry did not promote the first ${DEMO_MODEL} version`,
    }),
  );
  const auc = outcome.metrics?.auc ?? null;
  log(`model       ${DEMO_MODEL} v${version} promoted to Production (holdout AUC ${auc?.toFixed(3) ?? '?'})`);
  return { version, trainedNow: true, historyTransactions: sent.transactions, auc };
}

/** The promise, or the signal's reason as soon as it aborts (waitUntil itself polls on until its deadline). */
function abortable<T>(signal: AbortSignal | undefined, promise: Promise<T>): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
