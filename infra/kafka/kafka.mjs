#!/usr/bin/env node
// CLI around kafka-runner.mjs. Only KEY=value lines go to stdout, so `eval "$(node infra/kafka/kafka.mjs up)"`
// works; progress and errors go to stderr.
//   node infra/kafka/kafka.mjs up [--brokers 3] [--name default] [--sasl-scram]
//   node infra/kafka/kafka.mjs down [--name default]
//   node infra/kafka/kafka.mjs status [--name default]
//   node infra/kafka/kafka.mjs fetch
import { parseArgs } from 'node:util';
import { ensureKafkaJars, kafkaStatus, startKafka, stopKafka } from './kafka-runner.mjs';

const USAGE =
  'usage: kafka.mjs up [--brokers N] [--name NAME] [--sasl-scram] | down [--name NAME] | status [--name NAME] | fetch';

function printConnection(state) {
  const lines = [`KAFKA_BROKERS=${state.bootstrapServers}`];
  if (state.sasl) {
    lines.push(
      `KAFKA_SASL_MECHANISM=${state.sasl.mechanism}`,
      `KAFKA_SASL_USERNAME=${state.sasl.username}`,
      `KAFKA_SASL_PASSWORD=${state.sasl.password}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function up({ name, brokers, 'sasl-scram': saslScram }) {
  const status = await kafkaStatus(name);
  if (status?.running) {
    process.stderr.write(
      `kafka: run "${name}" is already up (Kafka ${status.version}, ${status.brokers.length} broker(s))\n`,
    );
    printConnection(status);
    return 0;
  }
  const count = Number(brokers);
  const started = Date.now();
  const state = await startKafka({ name, brokers: count, saslScram });
  process.stderr.write(
    `kafka: run "${name}" up in ${((Date.now() - started) / 1000).toFixed(1)} s ` +
      `(Kafka ${state.version}, ${count} broker(s), pids ${state.brokers.map((b) => b.pid).join(', ')})\n`,
  );
  printConnection(state);
  return 0;
}

async function down({ name }) {
  const stopped = await stopKafka(name);
  process.stderr.write(stopped ? `kafka: run "${name}" stopped\n` : `kafka: no run named "${name}"\n`);
  return 0;
}

async function status({ name }) {
  const state = await kafkaStatus(name);
  if (!state) {
    process.stderr.write(`kafka: no run named "${name}"\n`);
    return 1;
  }
  for (const b of state.brokers) {
    process.stderr.write(
      `broker ${b.id}: ${b.alive ? 'alive' : 'DOWN'} pid ${b.pid} port ${b.port} ` +
        `controller ${b.controllerPort} log ${b.logFile}\n`,
    );
  }
  printConnection(state);
  return state.running ? 0 : 1;
}

async function fetch() {
  process.stderr.write(`kafka: jars in ${await ensureKafkaJars()}\n`);
  return 0;
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      name: { type: 'string', default: 'default' },
      brokers: { type: 'string', default: '1' },
      'sasl-scram': { type: 'boolean', default: false },
    },
  });
  const commands = { up, down, status, fetch };
  const command = commands[positionals[0]];
  if (!command || positionals.length > 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  return command(values);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  },
);
