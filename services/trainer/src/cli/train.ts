/**
 * One training run by hand, outside the consumer:
 *
 *   node dist/services/trainer/src/cli/train.js --model fraud [--from ISO --to ISO] [--dry-run]
 *
 * Same env as the service (FEATURES_DATABASE_URL, REGISTRY_URL, TRAINER_REGISTRY_TOKEN, KAFKA_*, TOPIC_PREFIX,
 * SCHEMA_REGISTRY_URL, TRAINER_*). Default window: the TRAINER_WINDOW_MS ending now. Uploads the artifact and
 * publishes models.trained.v1 (retrain_request_id null) so the registry registers it and applies its policy;
 * --dry-run publishes nothing (the artifact is still uploaded). A refusal is printed (there is no request to
 * answer on models.train-refused.v1) and exits 3. Prints the outcome as one JSON line on stdout.
 */
import { randomUUID } from 'node:crypto';
import { schemaFor, topics, withPrefix } from '@flywheel/contracts';
import { AvroSerde, createKafkaClient, FlywheelProducer, kafkaConnectionFromEnv } from '@flywheel/kafka';
import { initBackend } from '@flywheel/ml';
import { createLogger, createMetricsRegistry } from '@flywheel/observability';
import { loadTrainerConfig } from '../config';
import { createFeaturesPool } from '../training/features-db';
import { RegistryClient } from '../training/registry.client';
import { settingsFrom, windowFor } from '../training/settings';
import { Trainer } from '../training/trainer';
import { TrainerMetrics } from '../training/trainer.metrics';

function arg(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

function time(name: string): number | undefined {
  const value = arg(name);
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new Error(`--${name} ${value} is not an ISO date-time`);
  return t;
}

async function main(): Promise<number> {
  const model = arg('model');
  if (!model) {
    process.stderr.write('usage: train --model <name> [--from ISO --to ISO] [--dry-run]\n');
    return 2;
  }
  const config = loadTrainerConfig();
  const logger = createLogger({ service: 'trainer-cli', level: config.LOG_LEVEL, destination: process.stderr });
  const defaults = windowFor(config, Date.now());
  const to = time('to') ?? defaults.to;
  const from = time('from') ?? to - config.TRAINER_WINDOW_MS;
  const backend = await initBackend(config.ML_BACKEND);
  logger.info({ backend: backend.name }, `tfjs backend: ${backend.name}`);
  const pool = createFeaturesPool(config.FEATURES_DATABASE_URL);
  try {
    const trainer = new Trainer({
      db: pool,
      registry: new RegistryClient({
        baseUrl: config.REGISTRY_URL,
        token: config.TRAINER_REGISTRY_TOKEN,
        timeoutMs: config.REGISTRY_TIMEOUT_MS,
      }),
      metrics: TrainerMetrics.for(createMetricsRegistry('trainer-cli')),
      logger,
      settings: settingsFrom(config),
    });
    const result = await trainer.run({ modelName: model, from, to, requestId: null, runId: randomUUID() });
    if (result.outcome === 'refused') {
      process.stdout.write(`${JSON.stringify({ outcome: 'refused', ...result.refusal })}\n`);
      return 3;
    }
    if (!process.argv.includes('--dry-run')) {
      const kafka = createKafkaClient({ ...kafkaConnectionFromEnv(config, 'trainer-cli'), logger });
      const producer = new FlywheelProducer(kafka, AvroSerde.connect(config.SCHEMA_REGISTRY_URL, schemaFor));
      const topic = withPrefix(config.TOPIC_PREFIX, topics.modelsTrained);
      await producer.connect([topic]);
      try {
        await producer.send(topic, [{ key: model, value: result.event }]);
      } finally {
        await producer.disconnect();
      }
    }
    const { baseline: _baseline, ...summary } = result.event;
    process.stdout.write(
      `${JSON.stringify({ outcome: 'trained', published: !process.argv.includes('--dry-run'), ...summary })}\n`,
    );
    return 0;
  } finally {
    await pool.end();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // ECS like the rest of its logs (a Kubernetes Job's output is shipped with the services' logs).
    createLogger({ service: 'trainer-cli', destination: process.stderr }).fatal({ error }, 'train failed');
    process.exit(1);
  },
);
