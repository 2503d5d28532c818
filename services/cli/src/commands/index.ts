import type { Command } from './command';

/**
 * A command as `flywheel --help` lists it. Its module is required only when it runs: commands pull in kafkajs,
 * the registry client, TypeORM (keys) — seconds on a busy machine that `--help` and usage errors need not wait for.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Command;
}

/**
 * Every `flywheel` command, in the order `flywheel --help` lists them. A new command is one file in this folder
 * exporting a Command, plus one entry here.
 *
 * Reserved: `score-batch` (batch scoring of a file or a topic range with a registry model version) is being built
 * separately; it goes here as { name: 'score-batch', load: ... './score-batch.command' }.
 */
export const commands: readonly CommandEntry[] = [
  {
    name: 'produce',
    summary: 'send JSON/NDJSON records to a topic (Avro via the registry) or through the collector',
    load: () => (require('./produce.command') as typeof import('./produce.command')).produceCommand,
  },
  {
    name: 'consume',
    summary: 'print any topic as JSON (from beginning / latest / offset, --follow, --max)',
    load: () => (require('./consume.command') as typeof import('./consume.command')).consumeCommand,
  },
  {
    name: 'topics',
    summary: 'list topics with record counts and lag per consumer group',
    load: () => (require('./topics.command') as typeof import('./topics.command')).topicsCommand,
  },
  {
    name: 'keys',
    summary: 'create, revoke and list collector API keys',
    load: () => (require('./keys.command') as typeof import('./keys.command')).keysCommand,
  },
  {
    name: 'models',
    summary: 'list, show, promote and roll back model versions (registry)',
    load: () => (require('./models.command') as typeof import('./models.command')).modelsCommand,
  },
  {
    name: 'retrain',
    summary: 'request a retrain (models.retrain-requested.v1), optionally wait for the outcome',
    load: () => (require('./retrain.command') as typeof import('./retrain.command')).retrainCommand,
  },
  {
    name: 'dlq',
    summary: 'browse dead-letter topics and replay dead letters (dead-letter-alerter)',
    load: () => (require('./dlq.command') as typeof import('./dlq.command')).dlqCommand,
  },
  {
    name: 'drift',
    summary: "show the monitor's current drift report and live quality",
    load: () => (require('./drift.command') as typeof import('./drift.command')).driftCommand,
  },
];
