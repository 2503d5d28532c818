import { appendFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { REPO_ROOT, waitUntil } from '@flywheel/testing';
import { expect } from 'vitest';
import {
  type FaultInfra,
  type FaultRecord,
  formatReconciliation,
  LoadGenerator,
  type LoadOptions,
  MeshView,
  type Reconciliation,
  reconcile,
} from '../../libs/testing/src/faults';
import { faultInfra } from '../../libs/testing/src/faults/fault-env';
import { featureMismatches } from './feature-check';

/** Where every scenario appends its table (the figures of test/faults/README.md come from here). */
export const FIGURES_FILE = resolve(REPO_ROOT, '.cache/faults/figures.md');

/** A broker JVM restarting on a busy 2-core machine can take a minute to answer; allow three. */
export const BROKER_RESTART = { timeoutMs: 180_000 };

export interface Scenario {
  infra: FaultInfra;
  mesh: MeshView;
  load: LoadGenerator;
  faults: FaultRecord[];
  startedAt: number;
}

/** The shared mesh healed and watched, and a load generator for this scenario (not started yet). */
export async function setUpScenario(
  name: string,
  loadOptions: Omit<LoadOptions, 'collectors' | 'apiKey'> = {},
): Promise<Scenario> {
  const infra = faultInfra();
  const mesh = await MeshView.open(infra, name);
  const load = new LoadGenerator({
    collectors: mesh.collectors,
    apiKey: mesh.info.apiKey,
    eventsPerSecond: 150,
    ...loadOptions,
  });
  return { infra, mesh, load, faults: [], startedAt: Date.now() };
}

/** Stops this scenario's load and watchers and heals the mesh for the next file (restarts what is down). */
export async function tearDownScenario(scenario: Scenario | undefined): Promise<void> {
  if (!scenario) return;
  await scenario.load.stop(0).catch(() => undefined);
  await scenario.mesh.close();
  await scenario.mesh.control.heal().catch((error) => console.error(`[faults] heal after the scenario: ${error}`));
}

/** Starts the load and waits until this scenario's events come out as predictions: the mesh flows end to end. */
export async function warmUp(scenario: Scenario, predictions = 200): Promise<void> {
  const { load, mesh } = scenario;
  load.start();
  await waitUntil(
    () => mesh.predictions.values().filter((p) => load.generated.has(p.value.event_id)).length >= predictions,
    { timeoutMs: 120_000, message: `${predictions} predictions of this scenario's events before the first fault` },
  );
}

/** Runs `inject`, holds the fault for `holdMs`, runs `heal`; the record says when it began and when it was undone. */
export async function fault(
  scenario: Scenario,
  name: string,
  inject: () => unknown,
  heal: () => Promise<unknown>,
  holdMs: number,
): Promise<FaultRecord> {
  const injectedAt = Date.now();
  await inject();
  await sleep(holdMs);
  await heal();
  const record = { fault: name, injectedAt, healedAt: Date.now() };
  scenario.faults.push(record);
  return record;
}

/** Waits (bounded) until every event acknowledged so far has its prediction: the mesh has caught up. */
export async function caughtUp(scenario: Scenario, timeoutMs = 60_000): Promise<void> {
  const { load, mesh } = scenario;
  const target = [...load.acknowledged.keys()];
  await waitUntil(
    () => {
      const predicted = new Set(mesh.predictions.values().map((p) => p.value.event_id));
      return target.every((id) => predicted.has(id));
    },
    { timeoutMs, intervalMs: 500, message: 'the mesh caught up with the load' },
  ).catch(() => undefined); // the reconciliation reports what is missing
}

export interface Outcome {
  reconciliation: Reconciliation;
  features: { checked: number; mismatches: string[] };
}

/** Stops the load (letting unacknowledged batches be re-sent), reconciles, checks features, prints the table. */
export async function finish(scenario: Scenario, title: string): Promise<Outcome> {
  await scenario.load.stop();
  const reconciliation = await reconcile(title, scenario.mesh, scenario.load, scenario.faults, {
    startedAt: scenario.startedAt,
  });
  const features = await featureMismatches(scenario.mesh);
  const table = `${formatReconciliation(reconciliation)}\nfeature values checked against a recomputation (whole mesh so far): ${features.checked}, mismatches: ${features.mismatches.length}\n`;
  console.log(table);
  mkdirSync(resolve(FIGURES_FILE, '..'), { recursive: true });
  appendFileSync(FIGURES_FILE, `${new Date().toISOString()}\n${table}\n`);
  return { reconciliation, features };
}

/** The promise every scenario keeps: nothing acknowledged lost, nothing dead-lettered, state exact. */
export function expectNothingLost({ reconciliation, features }: Outcome): void {
  expect(reconciliation.acknowledged).toBeGreaterThan(0);
  expect(reconciliation.lost.slice(0, 10)).toEqual([]);
  expect(reconciliation.deadLetters).toEqual({});
  expect(features.mismatches.slice(0, 10)).toEqual([]);
  expect(features.checked).toBeGreaterThan(0);
}

/** Producers saw only 503s (a clear "not stored, retry"), never a 5xx of another kind or a dropped connection. */
export function expectOnly503s(outcome: Outcome): void {
  expect(Object.keys(outcome.reconciliation.producerErrors).filter((status) => status !== '503')).toEqual([]);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
