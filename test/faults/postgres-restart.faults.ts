import { afterAll, beforeAll, expect, it } from 'vitest';
import { ReadinessRecorder } from '../../libs/testing/src/faults';
import {
  caughtUp,
  expectNothingLost,
  fault,
  finish,
  type Scenario,
  setUpScenario,
  sleep,
  tearDownScenario,
  warmUp,
} from './scenario';

/**
 * Scenario 3 — Postgres restarted under load (the suite's own embedded server: fast shutdown, down for a while,
 * started again on the same port and data). The services that use it (registry, collector for API keys,
 * enrichment-api for reference data, feature-materializer for its exactly-once state) must report not-ready while it
 * is away, reconnect by themselves (same processes, no restart) and lose or double-count nothing.
 */
const DOWN_MS = 8_000;
let scenario: Scenario | undefined;

beforeAll(async () => {
  scenario = await setUpScenario('pgrestart');
});

afterAll(async () => {
  await tearDownScenario(scenario);
});

it('Postgres restarted under load: readiness drops, services reconnect alone, nothing lost or double-counted', async () => {
  const s = scenario!;
  const users = ['registry', 'enrichment-api', 'feature-materializer'] as const;
  const watched = [...users.map((name) => s.mesh.one(name)), ...s.mesh.collectors];
  const pidsBefore = new Map(s.mesh.info.services.map((x) => [x.id, x.pid]));
  const readiness = new ReadinessRecorder(watched).start();
  await warmUp(s);

  const record = await fault(
    s,
    `Postgres fast shutdown, ${DOWN_MS / 1000} s down, start`,
    () => s.mesh.control.postgres('stop'),
    () => s.mesh.control.postgres('start'),
    DOWN_MS,
  );
  await caughtUp(s);
  await sleep(3_000);
  readiness.stop();
  const outcome = await finish(s, `Postgres restart (${DOWN_MS / 1000} s down)`);

  const back: string[] = [];
  for (const service of watched) {
    const againAt = readiness.readyAgainAt(service, record.healedAt);
    back.push(`${service.id}: ${againAt === null ? 'never' : `${((againAt - record.healedAt) / 1000).toFixed(1)} s`}`);
  }
  console.log(`[faults] ready again after Postgres came back: ${back.join(', ')}`);
  for (const service of watched) {
    // the fast shutdown is seen within a poll or two; a service that stays "ready" without its database lies
    expect({
      service: service.id,
      dropped: readiness.droppedBetween(service, record.injectedAt, record.healedAt),
    }).toEqual({ service: service.id, dropped: true });
    expect({ service: service.id, back: readiness.readyAgainAt(service, record.healedAt) !== null }).toEqual({
      service: service.id,
      back: true,
    });
  }
  // reconnected by themselves: the same processes serve as before the restart
  const pidsAfter = new Map((await s.mesh.control.info()).services.map((x) => [x.id, x.pid]));
  expect(pidsAfter).toEqual(pidsBefore);
  expectNothingLost(outcome);
});
