import { topics } from '@flywheel/contracts';
import { killBroker } from '@flywheel/testing';
import { afterAll, beforeAll, it } from 'vitest';
import { busiestLeader } from '../../libs/testing/src/faults';
import {
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
 * Scenario 2 — a broker that stops answering without dying (a long GC pause, a frozen VM): SIGSTOP the leader of the
 * busiest partitions for longer than the broker session timeout (9 s: the controller fences it and moves its
 * leaderships) and the consumers' session timeout (10 s), then SIGCONT it. It comes back as a zombie that still
 * believes it leads; acks=all with min.insync 2 must keep it from acknowledging anything the others do not have.
 */
const PAUSE_MS = 15_000;
let scenario: Scenario | undefined;

beforeAll(async () => {
  scenario = await setUpScenario('brokerpause');
});

afterAll(async () => {
  await tearDownScenario(scenario);
});

it('a broker paused past the session timeouts, then resumed: nothing acknowledged lost', async () => {
  const s = scenario!;
  const { kafka } = s.infra;
  await warmUp(s);
  const dataTopics = [topics.eventsRaw, topics.eventsEnriched, topics.featureVectors, topics.predictions].map((t) =>
    s.mesh.topic(t),
  );
  const leader = await busiestLeader(s.mesh.kafka, dataTopics);
  await fault(
    s,
    `SIGSTOP broker ${leader.broker} (leader of ${leader.partitions} busiest partitions) ${PAUSE_MS / 1000} s, SIGCONT`,
    () => killBroker(kafka, leader.broker, 'SIGSTOP'),
    async () => killBroker(kafka, leader.broker, 'SIGCONT'),
    PAUSE_MS,
  );
  await sleep(5_000);
  const outcome = await finish(s, `broker SIGSTOP ${PAUSE_MS / 1000} s`);
  expectNothingLost(outcome);
  expectOnly503s(outcome);
});
