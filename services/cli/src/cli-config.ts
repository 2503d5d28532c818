/**
 * The one place the CLI reads its environment. Flags win over variables, variables over the local mesh's
 * defaults (`npm run mesh` ports: registry 8081, collector 8080, monitor 8086, trainer 8087, alerter 8088).
 */
import { kafkaEnv, loadConfig, schemaRegistryEnv } from '@flywheel/config';
import { z } from 'zod';
import { UsageError } from './cli-errors';

const url = (fallback: string) => z.url().default(fallback);

const CliEnv = z.object({
  ...kafkaEnv,
  ...schemaRegistryEnv,
  /** Model registry API; the same service as the schema registry unless set. */
  REGISTRY_URL: z.url().optional(),
  COLLECTOR_URL: url('http://127.0.0.1:8080'),
  MONITOR_URL: url('http://127.0.0.1:8086'),
  TRAINER_URL: url('http://127.0.0.1:8087'),
  ALERTER_URL: url('http://127.0.0.1:8088'),
  /** Admin token of the registry (model writes) and the dead-letter-alerter (replay); `npm run mesh` prints it. */
  FLYWHEEL_ADMIN_TOKEN: z.string().min(1).optional(),
  /** Collector API key for `produce --via collector`. */
  FLYWHEEL_API_KEY: z.string().min(1).optional(),
  DATABASE_URL: z.string().optional(),
  USER: z.string().optional(),
});

/** Flags every command accepts (parsed with the command's own flags). */
export const globalOptions = {
  brokers: { type: 'string' },
  registry: { type: 'string' },
  'registry-url': { type: 'string' },
  collector: { type: 'string' },
  monitor: { type: 'string' },
  trainer: { type: 'string' },
  alerter: { type: 'string' },
  'admin-token': { type: 'string' },
  'topic-prefix': { type: 'string' },
  'database-url': { type: 'string' },
  json: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const GLOBAL_HELP = `Global flags (every command; flag > environment > default):
  --brokers <list>        Kafka bootstrap servers           KAFKA_BROKERS        127.0.0.1:9092
  --registry <url>        schema registry (+ model registry) SCHEMA_REGISTRY_URL  http://127.0.0.1:8081
  --registry-url <url>    model registry, if elsewhere      REGISTRY_URL         = --registry
  --collector <url>       collector                         COLLECTOR_URL        http://127.0.0.1:8080
  --monitor <url>         monitor                           MONITOR_URL          http://127.0.0.1:8086
  --trainer <url>         trainer                           TRAINER_URL          http://127.0.0.1:8087
  --alerter <url>         dead-letter-alerter               ALERTER_URL          http://127.0.0.1:8088
  --admin-token <token>   registry / alerter admin token    FLYWHEEL_ADMIN_TOKEN
  --topic-prefix <p>      prefix of every catalog topic     TOPIC_PREFIX         (none)
  --database-url <url>    Postgres of the collector's keys  DATABASE_URL         postgres://postgres@127.0.0.1:5432/flywheel
  --json                  machine-readable output
  --verbose               Kafka client warnings and stack traces on stderr
  -h, --help              this help
  Also read: KAFKA_SASL_MECHANISM/USERNAME/PASSWORD, KAFKA_SSL, FLYWHEEL_API_KEY.`;

export type GlobalFlags = {
  [K in keyof typeof globalOptions]?: (typeof globalOptions)[K]['type'] extends 'boolean' ? boolean : string;
};

export interface CliConfig {
  brokers: string[];
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  ssl: boolean;
  topicPrefix: string;
  schemaRegistryUrl: string;
  registryUrl: string;
  collectorUrl: string;
  monitorUrl: string;
  trainerUrl: string;
  alerterUrl: string;
  adminToken?: string;
  apiKey?: string;
  /** Environment for the collector's key commands (DATABASE_URL overridden by --database-url). */
  keysEnv: NodeJS.ProcessEnv;
  actor: string;
  json: boolean;
  verbose: boolean;
}

export function loadCliConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const overridden: NodeJS.ProcessEnv = { ...env };
  const set = (name: string, value: string | undefined) => {
    if (value !== undefined) overridden[name] = value;
  };
  set('KAFKA_BROKERS', flags.brokers);
  set('SCHEMA_REGISTRY_URL', flags.registry);
  set('REGISTRY_URL', flags['registry-url']);
  set('COLLECTOR_URL', flags.collector);
  set('MONITOR_URL', flags.monitor);
  set('TRAINER_URL', flags.trainer);
  set('ALERTER_URL', flags.alerter);
  set('FLYWHEEL_ADMIN_TOKEN', flags['admin-token']);
  set('TOPIC_PREFIX', flags['topic-prefix']);
  set('DATABASE_URL', flags['database-url']);
  let config: z.infer<typeof CliEnv>;
  try {
    config = loadConfig(CliEnv, overridden);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const sasl =
    config.KAFKA_SASL_MECHANISM && config.KAFKA_SASL_USERNAME && config.KAFKA_SASL_PASSWORD
      ? {
          mechanism: config.KAFKA_SASL_MECHANISM,
          username: config.KAFKA_SASL_USERNAME,
          password: config.KAFKA_SASL_PASSWORD,
        }
      : undefined;
  const trim = (u: string) => u.replace(/\/+$/, '');
  return {
    brokers: config.KAFKA_BROKERS,
    sasl,
    ssl: config.KAFKA_SSL,
    topicPrefix: config.TOPIC_PREFIX,
    schemaRegistryUrl: trim(config.SCHEMA_REGISTRY_URL),
    registryUrl: trim(config.REGISTRY_URL ?? config.SCHEMA_REGISTRY_URL),
    collectorUrl: trim(config.COLLECTOR_URL),
    monitorUrl: trim(config.MONITOR_URL),
    trainerUrl: trim(config.TRAINER_URL),
    alerterUrl: trim(config.ALERTER_URL),
    adminToken: config.FLYWHEEL_ADMIN_TOKEN,
    apiKey: config.FLYWHEEL_API_KEY,
    keysEnv: overridden,
    actor: `cli:${config.USER ?? 'unknown'}`,
    json: flags.json ?? false,
    verbose: flags.verbose ?? false,
  };
}
