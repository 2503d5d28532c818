import { createRequire } from 'node:module';
import { resolve } from 'node:path';

/** Typed access to infra/kafka/kafka-runner.mjs: a real Kafka (KRaft) started from jars, no Docker. */

export interface KafkaBroker {
  /** node.id, 1..n */
  id: number;
  pid: number;
  /** client listener (PLAINTEXT, or SASL_PLAINTEXT with saslScram) */
  port: number;
  /** KRaft controller listener; never bootstrap a client to it */
  controllerPort: number;
  dataDir: string;
  logFile: string;
}

export interface ScramCredentials {
  username: string;
  password: string;
}

/** Shaped like kafkajs' `sasl` option, so it can be passed straight through. */
export interface KafkaSasl extends ScramCredentials {
  mechanism: 'scram-sha-512';
}

export interface StartKafkaOptions {
  /** Run name; state lives in .cache/kafka/runs/<name>. Default 'default'. */
  name?: string;
  /** Number of combined broker+controller nodes. Default 1. */
  brokers?: number;
  /** true for the default credentials, or your own (letters, digits and . _ @ + - only). */
  saslScram?: boolean | ScramCredentials;
  /** Where broker logs go; by default they live in each data dir and are deleted by stopKafka. */
  logDir?: string;
  /** Extra server.properties entries; they override the runner's defaults. */
  extraConfig?: Record<string, string | number | boolean>;
  /** How long each broker may take to answer ApiVersions. Default 60 000. */
  timeoutMs?: number;
}

export interface KafkaState {
  name: string;
  version: string;
  clusterId: string;
  /** '127.0.0.1:PORT[,127.0.0.1:PORT…]' */
  bootstrapServers: string;
  sasl?: KafkaSasl;
  brokers: KafkaBroker[];
  startedAt: string;
}

export interface KafkaCluster extends KafkaState {
  stop(): Promise<boolean>;
}

export type KafkaSignal = 'SIGKILL' | 'SIGTERM' | 'SIGSTOP' | 'SIGCONT';

interface KafkaRunnerModule {
  startKafka(options?: StartKafkaOptions): Promise<KafkaCluster>;
  stopKafka(name?: string): Promise<boolean>;
  killBroker(state: KafkaState, id: number, signal?: KafkaSignal): KafkaBroker;
  restartBroker(state: KafkaState, id: number, options?: { timeoutMs?: number }): Promise<KafkaBroker>;
  kafkaStatus(name?: string): Promise<KafkaStatus | null>;
}

export interface KafkaStatus extends KafkaState {
  brokers: Array<KafkaBroker & { alive: boolean }>;
  running: boolean;
}

// The runner is an ES module, and this repo's TypeScript is compiled to CommonJS, where a written `import()` is
// rewritten into `require()`. The usual `new Function('p', 'return import(p)')` escape does not work under
// vitest: its module runner evaluates code through node:vm without a dynamic-import callback ("A dynamic import
// callback was not specified"). Instead we require() the ES module on purpose: Node >= 20.19 (this repo's
// engines floor) loads ES modules without top-level await synchronously through require(), and it behaves the
// same in compiled CommonJS, tsx and vitest. A side benefit: killBroker stays synchronous.
const runner = createRequire(__filename)(
  resolve(__dirname, '../../../infra/kafka/kafka-runner.mjs'),
) as KafkaRunnerModule;

/** Starts a KRaft cluster on free 127.0.0.1 ports and waits until every broker answers. */
export const startKafka: KafkaRunnerModule['startKafka'] = runner.startKafka;

/** Stops a run (SIGTERM, then SIGKILL after 20 s) and deletes its data; false when there was no such run. */
export const stopKafka: KafkaRunnerModule['stopKafka'] = runner.stopKafka;

/** Sends a signal to one broker's process group: SIGKILL to crash it, SIGSTOP/SIGCONT to pause it. */
export const killBroker: KafkaRunnerModule['killBroker'] = runner.killBroker;

/** Starts a broker again with its config and data dir, waits until it answers; updates `state` in place. */
export const restartBroker: KafkaRunnerModule['restartBroker'] = runner.restartBroker;

/** The recorded state of a run plus which brokers are alive (their JVM runs), or null when there is no such run. */
export const kafkaStatus: KafkaRunnerModule['kafkaStatus'] = runner.kafkaStatus;
