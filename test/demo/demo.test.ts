import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type DriftReport,
  type ModelLifecycle,
  type Prediction,
  type RetrainRequested,
  topics,
} from '@flywheel/contracts';
import { portAnswers, REPO_ROOT, stopKafka, uniqueSuffix, waitUntil } from '@flywheel/testing';
import { Client } from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { testEnv } from '../../libs/testing/src/test-env';
import {
  alive,
  type DemoProcess,
  type DemoState,
  processGroupMembers,
  readState,
  spawnDemo,
  TopicReader,
} from './demo-harness';

/**
 * The README's first command, run as a newcomer runs it (`npm run demo`, its own process group, stopped with
 * Ctrl-C = SIGINT to the group), on free ports and a run name of its own. The scenario is sized for a shared
 * 2-core machine: 250 transactions/s, the drift after 3,000 live transactions, monitor windows of 500.
 * It checks the loop through the topics and the services' HTTP APIs — events in → predictions out → drift →
 * retrain request → promotion → hot swap — and then that nothing is left: no process, no open port, no data.
 */
const NAME = `demo-test-${uniqueSuffix()}`;
const MODEL = 'payments-fraud';
const SECOND = 1_000;

describe('npm run demo', () => {
  let demo: DemoProcess | undefined;
  let reader: TopicReader | undefined;

  afterAll(async () => {
    await reader?.close();
    if (demo && demo.exit() === undefined && demo.child.pid) {
      // the test failed before Ctrl-C: do not leave the demo running
      console.error(`demo output (killed):\n${demo.output.slice(-80).join('\n')}`);
      process.kill(-demo.child.pid, 'SIGKILL');
      await demo.exited;
      await stopKafka(NAME).catch(() => undefined);
      await dropDemoDatabase().catch(() => undefined);
      rmSync(resolve(REPO_ROOT, '.cache/demo', NAME), { recursive: true, force: true });
    }
  });

  it('runs the loop (events → predictions → drift → retrain → promotion → swap) and Ctrl-C leaves nothing behind', async () => {
    demo = spawnDemo([
      '--ports',
      'free',
      '--fresh',
      '--ephemeral',
      '--name',
      NAME,
      '--no-build', // the integration setup has just built dist/
      '--plain',
      '--rate',
      '250',
      '--history',
      '3000',
      '--drift-at',
      '3000',
      '--window',
      '500',
      '--label-delay',
      '2s',
      // a ceiling, should the test not reach its Ctrl-C
      '--duration',
      '600',
    ]);
    const running = demo;
    const dump = () => `demo output:\n${running.output.slice(-60).join('\n')}`;
    const started = Date.now();
    try {
      const state = await waitUntil(
        () => {
          const exit = running.exit();
          if (exit) throw new Error(`the demo exited: ${JSON.stringify(exit)}`);
          return readState(NAME);
        },
        { timeoutMs: 300 * SECOND, intervalMs: 500, message: 'the demo writing its state file (everything up)' },
      );
      const url = (service: string, instance = 0) =>
        state.services.find((s) => s.name === service && s.instance === instance)?.url as string;
      expect(state.services.filter((s) => s.name === 'stream-inference')).toHaveLength(2);
      const upAfter = Date.now() - started;

      reader = new TopicReader(state.kafka.bootstrapServers, url('registry'));
      await Promise.all(
        [topics.predictions, topics.modelsRetrainRequested, topics.modelsLifecycle, topics.monitorDrift].map((t) =>
          reader?.follow(t),
        ),
      );
      const predictions = () => (reader as TopicReader).items<Prediction>(topics.predictions);
      const requests = () => (reader as TopicReader).items<RetrainRequested>(topics.modelsRetrainRequested);
      const lifecycle = () => (reader as TopicReader).items<ModelLifecycle>(topics.modelsLifecycle);
      const reports = () => (reader as TopicReader).items<DriftReport>(topics.monitorDrift);

      // events in → predictions out, by the first model (trained by the demo from its history)
      await waitUntil(() => predictions().length >= 1_000, { timeoutMs: 90 * SECOND, message: '1,000 predictions' });
      expect(
        predictions()
          .slice(0, 1_000)
          .every((p) => p.model_name === MODEL && p.model_version === 1),
      ).toBe(true);
      const accepted = await metric(
        url('collector'),
        /flywheel_collector_events_total\{[^}]*type="transaction"[^}]*outcome="accepted"[^}]*\} (\d+)/,
      );
      expect(accepted).toBeGreaterThanOrEqual(1_000);

      // drift → retrain request, with evidence, from the monitor watching v1
      await waitUntil(() => requests().length >= 1, { timeoutMs: 120 * SECOND, message: 'a retrain request' });
      const [request] = requests();
      expect(request).toMatchObject({ model_name: MODEL, model_version: 1, reason: 'DRIFT' });
      expect(request.evidence.length).toBeGreaterThan(0);
      const drifted = reports().filter(
        (r) => r.model_version === 1 && (r.score.drifted || r.features.some((f) => f.drifted)),
      );
      expect(drifted.length).toBeGreaterThan(0);
      // before the switch the same detectors were quiet: the first windows of v1 are not drifted
      const quietFirst = reports().filter((r) => r.model_version === 1)[0];
      expect(quietFirst.features.some((f) => f.drifted)).toBe(false);

      // → the trainer's candidate is promoted by the registry's policy
      await waitUntil(() => lifecycle().some((l) => l.production_version === 2), {
        timeoutMs: 120 * SECOND,
        message: 'v2 in Production',
      });
      const promotion = lifecycle().find((l) => l.production_version === 2 && l.to_stage === 'Production');
      expect(promotion).toMatchObject({ version: 2, actor: 'policy' });
      const history = (await (await fetch(`${url('registry')}/v1/models/${MODEL}/history`)).json()) as {
        version: number;
        to_stage: string | null;
        actor: string;
      }[];
      expect(history.some((h) => h.version === 2 && h.to_stage === 'Production' && h.actor === 'policy')).toBe(true);
      const v2 = (await (await fetch(`${url('registry')}/v1/models/${MODEL}/versions/2`)).json()) as {
        retrain_request_id: string | null;
      };
      expect(v2.retrain_request_id).toBe(request.request_id);

      // → hot swap: both instances serve v2 without a restart, and predictions by v2 flow
      for (const instance of [0, 1]) {
        await waitUntil(
          async () =>
            /flywheel_inference_model_info\{[^}]*version="2"[^}]*role="serving"[^}]*\} 1/.test(
              await (await fetch(`${url('stream-inference', instance)}/metrics`)).text(),
            ),
          { timeoutMs: 60 * SECOND, message: `stream-inference #${instance + 1} serving v2` },
        );
      }
      await waitUntil(() => predictions().some((p) => p.model_version === 2), {
        timeoutMs: 60 * SECOND,
        message: 'a prediction by v2',
      });
      const inferencePids = state.services.filter((s) => s.name === 'stream-inference').map((s) => s.pid);
      expect(inferencePids.every(alive)).toBe(true); // swapped, not restarted
      const loopAfter = Date.now() - started;

      const predictionsRead = predictions().length;

      // Ctrl-C: SIGINT to the whole group, as a terminal sends it
      await reader.close();
      reader = undefined;
      process.kill(-(running.child.pid as number), 'SIGINT');
      const exit = await Promise.race([running.exited, sleep(120 * SECOND).then(() => 'timeout' as const)]);
      // npm waits for the demo, then ends itself by the signal it got (the demo's own exit code is 0)
      expect(exit === 'timeout' ? exit : exit.code === 0 || exit.signal === 'SIGINT').toBe(true);
      expect(running.output.some((line) => line.startsWith('stopped'))).toBe(true);
      expect(running.output.some((line) => line.startsWith('demo failed'))).toBe(false);
      await assertNothingLeft(state, running.child.pid as number);
      console.info(
        `[demo] up after ${(upAfter / 1000).toFixed(0)} s, loop closed after ${(loopAfter / 1000).toFixed(0)} s, ` +
          `stopped after ${((Date.now() - started - loopAfter) / 1000).toFixed(0)} s; ` +
          `${predictionsRead} predictions read; evidence ${JSON.stringify(request.evidence.map((e) => [e.feature, e.statistic, Number(e.value.toFixed(3))]))}`,
      );
    } catch (error) {
      console.error(dump());
      throw error;
    }
  }, 600_000);
});

async function assertNothingLeft(state: DemoState, pgid: number): Promise<void> {
  expect(processGroupMembers(pgid)).toEqual([]);
  const pids = [...state.services.map((s) => s.pid), ...state.kafka.brokers.map((b) => b.pid), state.pid];
  expect(pids.filter(alive)).toEqual([]);
  const ports = [
    ...state.services.map((s) => s.port),
    ...state.kafka.brokers.flatMap((b) => [b.port, b.controllerPort]),
  ];
  const open: number[] = [];
  for (const port of ports) if (await portAnswers(port)) open.push(port);
  expect(open).toEqual([]);
  // --ephemeral: the run's Kafka data and database are gone too
  expect(existsSync(resolve(REPO_ROOT, '.cache/kafka/runs', NAME))).toBe(false);
  expect(
    await withServer((client) => client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])),
  ).toMatchObject({
    rows: [],
  });
}

const DATABASE = `flywheel_${NAME.replace(/-/g, '_')}`;

async function withServer<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const server = new URL(testEnv().databaseUrl);
  server.pathname = '/postgres';
  const client = new Client({ connectionString: server.toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** After a failed run that had to be killed: the demo could not drop its database itself. */
function dropDemoDatabase(): Promise<unknown> {
  return withServer((client) => client.query(`DROP DATABASE IF EXISTS "${DATABASE}" WITH (FORCE)`));
}

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(pattern.exec(text)?.[1] ?? Number.NaN);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
