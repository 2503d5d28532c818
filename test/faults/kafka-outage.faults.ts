import { killBroker, restartBroker } from '@flywheel/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  BROKER_RESTART,
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
 * Scenario 6 — Kafka entirely gone for 30 s (all three brokers SIGKILLed), then back with their data. While it is
 * away the collector must answer 503 with Retry-After to every request — never a 2xx for an event that is not
 * durable; afterwards the mesh must drain the backlog by itself (consumers reconnect, producers get new ids).
 * The figure is the recovery time: from the brokers answering again to the last waiting event predicted.
 */
const DOWN_MS = 30_000;
let scenario: Scenario | undefined;

beforeAll(async () => {
  scenario = await setUpScenario('kafkadown');
});

afterAll(async () => {
  await tearDownScenario(scenario);
});

it('Kafka down 30 s: only 503s meanwhile, the backlog drains after, nothing acknowledged lost', async () => {
  const s = scenario!;
  const { kafka } = s.infra;
  await warmUp(s);
  let downFrom = 0;
  let downTo = 0;
  const record = await fault(
    s,
    `SIGKILL all 3 brokers, ${DOWN_MS / 1000} s, restart`,
    () => {
      for (const broker of kafka.brokers) killBroker(kafka, broker.id, 'SIGKILL');
      downFrom = Date.now();
    },
    async () => {
      downTo = Date.now();
      await Promise.all(kafka.brokers.map((b) => restartBroker(kafka, b.id, BROKER_RESTART)));
    },
    DOWN_MS,
  );
  await sleep(5_000);
  const outcome = await finish(s, `Kafka down ${DOWN_MS / 1000} s (all brokers)`);

  // Requests made and answered while no broker ran: every one a 503, never a 2xx.
  const whileDown = s.load.requests.filter((r) => r.started >= downFrom && r.ended <= downTo);
  const statuses: Record<string, number> = {};
  for (const r of whileDown) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  console.log(
    `[faults] while Kafka was down: ${whileDown.length} requests answered ${JSON.stringify(statuses)}; brokers answering again ${((record.healedAt - downTo) / 1000).toFixed(1)} s after the restart began`,
  );
  expect(whileDown.length).toBeGreaterThan(5);
  expect(Object.keys(statuses)).toEqual(['503']);
  expectNothingLost(outcome);
  expect(outcome.reconciliation.recoveries[0].drainedMs).not.toBeNull();
});
