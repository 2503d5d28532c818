import { topics } from '@flywheel/contracts';
import { killBroker, restartBroker } from '@flywheel/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { activeController, busiestLeader } from '../../libs/testing/src/faults';
import {
  BROKER_RESTART,
  caughtUp,
  expectNothingLost,
  expectOnly503s,
  fault,
  finish,
  type Scenario,
  setUpScenario,
  sleep,
  tearDownScenario,
  warmUp,
} from './scenario';

/**
 * Scenario 1 — Kafka's own system-test bounce, end to end: under a steady load through the collector, SIGKILL the
 * broker leading the busiest partitions of the mesh, restart it with its data; then the same for the active KRaft
 * controller. With acks=all, RF 3 and min.insync 2 producers keep going on the two survivors; every acknowledged
 * event must come out as exactly one prediction (after dedupe) with exact feature state and no dead letter.
 */
let scenario: Scenario | undefined;

beforeAll(async () => {
  scenario = await setUpScenario('brokerkill');
});

afterAll(async () => {
  await tearDownScenario(scenario);
});

it('SIGKILL of the busiest leader, then of the controller: nothing acknowledged lost', async () => {
  const s = scenario!;
  const { kafka } = s.infra;
  await warmUp(s);
  const dataTopics = [topics.eventsRaw, topics.eventsEnriched, topics.featureVectors, topics.predictions].map((t) =>
    s.mesh.topic(t),
  );

  const leader = await busiestLeader(s.mesh.kafka, dataTopics);
  await fault(
    s,
    `SIGKILL broker ${leader.broker} (leader of ${leader.partitions} busiest partitions), restart`,
    () => killBroker(kafka, leader.broker, 'SIGKILL'),
    () => restartBroker(kafka, leader.broker, BROKER_RESTART),
    8_000,
  );
  await caughtUp(s);

  const controller = activeController(kafka);
  await fault(
    s,
    `SIGKILL broker ${controller} (active KRaft controller), restart`,
    () => killBroker(kafka, controller, 'SIGKILL'),
    () => restartBroker(kafka, controller, BROKER_RESTART),
    8_000,
  );
  // the controller moved: another broker now leads the metadata quorum
  expect(activeController(kafka)).toBeGreaterThan(0);
  await sleep(3_000);

  const outcome = await finish(s, 'broker SIGKILL (busiest leader, then controller)');
  expectNothingLost(outcome);
  // A crashed leader's partitions have no leader until the controller fences it (broker.session.timeout.ms, 9 s):
  // a request waiting on them longer than the collector's produce timeout is answered 503, re-sent, never lost.
  expectOnly503s(outcome);
});
