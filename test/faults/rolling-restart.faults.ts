import { afterAll, beforeAll, expect, it } from 'vitest';
import {
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
 * Scenario 5 — a deployment: every instance restarted in turn with SIGTERM (graceful: the collector drops readiness
 * and drains before closing its port; consumers finish and commit their in-flight batch and leave the group). The
 * load goes through a health-checking balancer over the two collectors, so producers must see no error at all; and
 * since nothing crashes, nothing should be processed twice either — the at-least-once window only opens on a crash.
 */
let scenario: Scenario | undefined;

beforeAll(async () => {
  scenario = await setUpScenario('rolling');
});

afterAll(async () => {
  await tearDownScenario(scenario);
});

it('rolling restart of every instance with SIGTERM: zero producer errors, nothing lost, no duplicate', async () => {
  const s = scenario!;
  await warmUp(s);
  // collectors first, then the consumers downstream, the registry last (dependency order of a deploy)
  const order = [...s.mesh.info.services].sort(
    (a, b) => (a.name === 'registry' ? 1 : 0) - (b.name === 'registry' ? 1 : 0),
  );
  for (const service of order) {
    await fault(
      s,
      `SIGTERM ${service.id}, start`,
      () => s.mesh.control.service(service.id, 'stop'),
      () => s.mesh.control.service(service.id, 'start'),
      0,
    );
    await sleep(1_000);
  }
  await sleep(2_000);
  const outcome = await finish(s, 'rolling restart (SIGTERM) of every instance');
  expectNothingLost(outcome);
  expect(outcome.reconciliation.producerErrors).toEqual({});
  expect(outcome.reconciliation.duplicatesRemoved).toBe(0);
});
