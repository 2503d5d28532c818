import { randomUUID } from 'node:crypto';
import { type ModelTrained, type RetrainRequested, type TrainRefused, topics } from '@flywheel/contracts';
import type { Consumer } from 'kafkajs';
import { FlywheelProducer } from '../../../../libs/kafka/src/core';
import { CliError } from '../cli-errors';
import { callService, type ServiceEndpoint } from '../http/service-http';
import { HeldPositions } from '../kafka/held-positions';
import { KafkaSession } from '../kafka/kafka-session';
import type { ModelView } from '../models/registry-api';
import { printJson, toJson } from '../output';
import { type Command, intFlag, parseCommand, requireArg } from './command';

const HELP = `
flywheel retrain <model> [--wait] [--timeout <seconds>]

Asks the trainer for a new version of <model>: produces a RetrainRequested (reason MANUAL, requested_by
cli:$USER, model_version = the version in Production now, 0 if none) to models.retrain-requested.v1 — the same
request the monitor makes on sustained drift. The trainer has no HTTP API for this: the request waits in the
topic until a trainer consumes it.

The trainer answers with models.trained.v1 (the registry registers the candidate and applies its promotion
policy) or models.train-refused.v1 (too few rows, no labels, ...).

Options:
  --wait                  wait for the trainer's answer to this request and print it (exit 1 if refused)
  --timeout <seconds>     how long --wait waits (default 600)
`;

export const retrainCommand: Command = {
  name: 'retrain',
  help: HELP,
  async run(argv, io) {
    const parsed = parseCommand(this, argv, io, {
      wait: { type: 'boolean', default: false },
      timeout: { type: 'string' },
    });
    if (!parsed) return 0;
    const { values, positionals, config } = parsed;
    const model = requireArg(positionals[0], 'the model to retrain (flywheel models list)');
    const timeoutMs = (intFlag('timeout', values.timeout, 1) ?? 600) * 1000;
    const registry: ServiceEndpoint = {
      name: 'model registry',
      url: config.registryUrl,
      flag: '--registry-url',
      env: 'REGISTRY_URL',
    };
    const known = await callService<ModelView>(registry, 'GET', `/v1/models/${encodeURIComponent(model)}`, {
      token: config.adminToken,
      accept: [404],
    });
    if (known.status === 404)
      throw new CliError(`the model registry at ${config.registryUrl} has no model ${model} (flywheel models list)`);

    const session = await KafkaSession.open(config);
    const producer = new FlywheelProducer(session.kafka, session.serde);
    let watcher: Watcher | undefined;
    try {
      const requestTopic = session.topicName(topics.modelsRetrainRequested);
      await session.requireTopic(requestTopic);
      // Positioned before the request is sent, so the answer cannot slip past.
      if (values.wait) watcher = await Watcher.start(session);
      const request: RetrainRequested = {
        request_id: randomUUID(),
        model_name: model,
        model_version: known.body.production_version ?? 0,
        requested_at: Date.now(),
        requested_by: config.actor,
        reason: 'MANUAL',
        evidence: [],
      };
      await producer.connect();
      await producer.send(requestTopic, [{ key: model, value: request }]);
      if (!values.wait) {
        if (config.json) printJson(io, request);
        else io.out(`retrain of ${model} requested: request_id ${request.request_id} on ${requestTopic}\n`);
        await warnWithoutTrainer(config.trainerUrl, (line) => io.err(line));
        return 0;
      }
      io.err(`retrain of ${model} requested (request_id ${request.request_id}); waiting for the trainer ...\n`);
      const answer = await watcher!.answerTo(request.request_id, timeoutMs);
      if (!answer) {
        await warnWithoutTrainer(config.trainerUrl, (line) => io.err(line));
        throw new CliError(`no answer to request ${request.request_id} within ${timeoutMs / 1000} s`);
      }
      if (config.json) printJson(io, answer);
      if (answer.outcome === 'trained') {
        const { baseline: _b, ...event } = answer.event;
        if (!config.json) io.out(`trained: ${toJson(event)}\n`);
        return 0;
      }
      if (!config.json) io.out(`refused: ${answer.event.reason_code}: ${answer.event.message}\n`);
      return 1;
    } finally {
      await watcher?.stop();
      await producer.disconnect().catch(() => undefined);
      await session.close();
    }
  },
};

type Answer = { outcome: 'trained'; event: ModelTrained } | { outcome: 'refused'; event: TrainRefused };

/** Reads models.trained.v1 and models.train-refused.v1 from their current ends for the answer to a request. */
class Watcher {
  private readonly answers: Answer[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async start(session: KafkaSession): Promise<Watcher> {
    const trained = session.topicName(topics.modelsTrained);
    const refused = session.topicName(topics.modelsTrainRefused);
    for (const topic of [trained, refused]) await session.requireTopic(topic);
    const admin = await session.adminClient();
    const consumer = session.kafka.consumer({ groupId: `flywheel-cli-${randomUUID()}`, maxWaitTimeInMs: 250 });
    // from the current ends, whenever the group (re)joins
    const held = [];
    for (const topic of [trained, refused]) {
      const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, Number(p.high)] as const));
      held.push(new HeldPositions(consumer, topic, ends));
    }
    const watcher = new Watcher(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: [trained, refused], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, message }) => {
        let value: unknown;
        try {
          value = await session.serde.decode(topic, message.value);
        } catch {
          return; // not an answer this command can read; the trainer's own consumers dead-letter such records
        }
        watcher.answers.push(
          topic === trained
            ? { outcome: 'trained', event: value as ModelTrained }
            : { outcome: 'refused', event: value as TrainRefused },
        );
      },
    });
    return watcher;
  }

  async answerTo(requestId: string, timeoutMs: number): Promise<Answer | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = this.answers.find((a) =>
        a.outcome === 'trained' ? a.event.retrain_request_id === requestId : a.event.request_id === requestId,
      );
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return undefined;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined);
  }
}

/** The request waits in Kafka either way; say so when no trainer answers its health check. */
async function warnWithoutTrainer(trainerUrl: string, warn: (line: string) => void): Promise<void> {
  try {
    const response = await fetch(`${trainerUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
    if (response.ok) return;
    warn(`note: the trainer at ${trainerUrl} is not ready (HTTP ${response.status}); the request waits in the topic\n`);
  } catch {
    warn(
      `note: no trainer answers at ${trainerUrl}; the request waits in the topic until one runs (\`npm run mesh\`, or --trainer / TRAINER_URL)\n`,
    );
  }
}
