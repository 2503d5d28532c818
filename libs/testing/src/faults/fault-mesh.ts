import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureTopics, topics, withPrefix } from '@flywheel/contracts';
import type { Kafka } from 'kafkajs';
import type { KafkaState } from '../kafka-runner';
import { REPO_ROOT } from '../service-process';
import { testPrefix } from '../unique-names';
import { waitUntil } from '../wait-until';
import { dropDatabase, recreateDatabase } from './databases';
import { faultKafkaClient, kafkaServiceEnv } from './fault-infra';
import { FAULT_MODEL_NAME, registerProductionModel } from './fault-model';
import { MeshService, type MeshServiceName } from './mesh-service';

const run = promisify(execFile);

/** The admin token of a fault mesh's registry (model writes). */
export const FAULT_ADMIN_TOKEN = 'fault-suite-admin-token-5f2a9c';

/** Topics of the mesh's data path (each with its DLQ). */
export const MESH_TOPICS = [
  topics.eventsRaw,
  topics.eventsEnriched,
  topics.labels,
  topics.featureVectors,
  topics.predictions,
  topics.modelsLifecycle,
  topics.modelsTrained,
] as const;

export interface FaultMeshOptions {
  kafka: KafkaState;
  /** Short name of the scenario, part of the topic prefix and database name. */
  name: string;
  /** The Postgres server of the mesh's database. */
  postgresServerUrl: string;
  collectors?: number;
  inferenceInstances?: number;
  /**
   * Consumer session timeout of every group (ms). Shorter than the services' 30 s default so a SIGKILLed member's
   * partitions move within seconds and a scenario fits its time budget; the same trade-off a deployment makes.
   */
  sessionTimeoutMs?: number;
  /** Extra variables per service (e.g. wrong credentials, log level). */
  env?: Partial<Record<MeshServiceName, Record<string, string>>>;
}

/**
 * The whole data path of Flywheel as separate OS processes on the fault cluster: registry (schema + model registry,
 * serving a Production model), collectors, enrichment-api, feature-materializer and stream-inference instances,
 * with topics created at RF 3 / min.insync 2 under a prefix of its own and one database of its own. Owned by the
 * process that started it (the faults global setup); scenario files act on it through MeshControl.
 */
export class FaultMesh {
  readonly services: MeshService[] = [];
  apiKey = '';
  private constructor(
    readonly options: FaultMeshOptions,
    readonly prefix: string,
    readonly databaseUrl: string,
    readonly kafka: Kafka,
  ) {}

  static async start(options: FaultMeshOptions): Promise<FaultMesh> {
    const prefix = testPrefix(options.name);
    const server = options.postgresServerUrl;
    const database = `flywheel_fault_${prefix.replace(/[^a-z0-9]/g, '_')}`.slice(0, 60);
    const databaseUrl = await recreateDatabase(server, database);
    const kafka = faultKafkaClient(options.kafka, `fault-${options.name}`);
    const mesh = new FaultMesh(options, prefix, databaseUrl, kafka);
    try {
      await mesh.boot();
    } catch (error) {
      await mesh.stop();
      throw error;
    }
    return mesh;
  }

  topic(name: string): string {
    return withPrefix(this.prefix, name);
  }

  get registry(): MeshService {
    return this.one('registry');
  }

  get collectors(): MeshService[] {
    return this.all('collector');
  }

  one(name: MeshServiceName, instance = 1): MeshService {
    const found = this.services.find((s) => s.name === name && s.instance === instance);
    if (!found) throw new Error(`no ${name}#${instance} in this mesh`);
    return found;
  }

  all(name: MeshServiceName): MeshService[] {
    return this.services.filter((s) => s.name === name);
  }

  /** Every instance except the registry, in the order a rolling restart or a kill round visits them. */
  get dataPath(): MeshService[] {
    return this.services.filter((s) => s.name !== 'registry');
  }

  private async boot(): Promise<void> {
    const { options } = this;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      // A just-created topic's metadata may lag on a busy cluster (UNKNOWN_TOPIC_OR_PARTITION while waiting for
      // leaders); ensureTopics is idempotent, so try again.
      await waitUntil(
        () =>
          ensureTopics(admin, {
            prefix: this.prefix,
            only: [...MESH_TOPICS],
            replicationFactor: 3,
            minInsyncReplicas: 2,
            logger: { info: () => undefined, warn: () => undefined },
          }).then(() => true),
        { timeoutMs: 60_000, intervalMs: 1_000, message: 'mesh topics created' },
      );
    } finally {
      await admin.disconnect();
    }

    const session = String(options.sessionTimeoutMs ?? 10_000);
    const kafkaEnv = { ...kafkaServiceEnv(options.kafka), TOPIC_PREFIX: this.prefix };
    const registry = await MeshService.start('registry', 1, {
      ...kafkaEnv,
      DATABASE_URL: this.databaseUrl,
      REGISTRY_KAFKA_ENABLED: 'true',
      REGISTRY_ADMIN_TOKEN: FAULT_ADMIN_TOKEN,
      REGISTRY_PROMOTION_POLICY: 'manual',
      REGISTRY_CONSUMER_GROUP: `${this.prefix}registry`,
      LOG_LEVEL: 'info',
      ...options.env?.registry,
    });
    this.services.push(registry);
    await registerProductionModel(registry.url, FAULT_ADMIN_TOKEN);

    // info: start-up and rebalance lines are what one reads after a failed scenario (the files are per process)
    const common = { ...kafkaEnv, SCHEMA_REGISTRY_URL: registry.url, LOG_LEVEL: 'info' };
    const plans: Array<[MeshServiceName, number, Record<string, string>]> = [];
    for (let i = 1; i <= (options.collectors ?? 2); i++) {
      plans.push([
        'collector',
        i,
        {
          ...common,
          DATABASE_URL: this.databaseUrl,
          COLLECTOR_RETRY_AFTER_SECONDS: '1',
          // readiness goes down this long before the port closes: the balancer stops routing here first
          COLLECTOR_DRAIN_DELAY_MS: '1500',
          COLLECTOR_RATE_LIMIT_EVENTS_PER_SECOND: '0',
          ...options.env?.collector,
        },
      ]);
    }
    plans.push([
      'enrichment-api',
      1,
      {
        ...common,
        DATABASE_URL: this.databaseUrl,
        ENRICHMENT_GROUP_ID: `${this.prefix}enrichment`,
        CONSUMER_SESSION_TIMEOUT_MS: session,
        ...options.env?.['enrichment-api'],
      },
    ]);
    plans.push([
      'feature-materializer',
      1,
      {
        ...common,
        DATABASE_URL: this.databaseUrl,
        FEATURES_GROUP_ID: `${this.prefix}features`,
        FEATURES_SESSION_TIMEOUT_MS: session,
        ...options.env?.['feature-materializer'],
      },
    ]);
    for (let i = 1; i <= (options.inferenceInstances ?? 2); i++) {
      plans.push([
        'stream-inference',
        i,
        {
          ...common,
          REGISTRY_URL: registry.url,
          REGISTRY_TOKEN: FAULT_ADMIN_TOKEN,
          MODEL_NAME: FAULT_MODEL_NAME,
          CONSUMER_GROUP: `${this.prefix}stream-inference`,
          CONSUMER_SESSION_TIMEOUT_MS: session,
          BATCH_MAX_WAIT_MS: '20',
          ML_BACKEND: 'wasm',
          ...options.env?.['stream-inference'],
        },
      ]);
    }
    // Started together: each waits for its own readiness; on two cores this is the longest part of the set-up.
    const started = await Promise.allSettled(plans.map(([name, i, env]) => MeshService.start(name, i, env)));
    for (const outcome of started) if (outcome.status === 'fulfilled') this.services.push(outcome.value);
    const failed = started.find((o) => o.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;

    this.apiKey = await createApiKey(this.databaseUrl);
  }

  /** Waits until every instance answers /health/ready (after faults, before the reconciliation). */
  async waitAllReady(timeoutMs = 60_000): Promise<void> {
    await waitUntil(async () => (await Promise.all(this.services.map((s) => s.ready()))).every(Boolean), {
      timeoutMs,
      intervalMs: 250,
      message: 'every mesh service ready again',
    });
  }

  /** Stops everything this mesh started (SIGTERM, then SIGKILL for whatever hangs) and drops its database. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.services].reverse().map(async (s) => {
        const exit = s.stop();
        const timeout = new Promise((r) => setTimeout(r, 15_000, 'timeout'));
        if ((await Promise.race([exit, timeout])) === 'timeout') await s.kill();
      }),
    );
    await dropDatabase(this.databaseUrl).catch(() => undefined);
  }
}

/** A producer API key, made with the collector's CLI exactly as an operator does. */
async function createApiKey(databaseUrl: string): Promise<string> {
  const cli = resolve(REPO_ROOT, 'dist/services/collector/src/cli/api-keys.js');
  const { stdout } = await run(process.execPath, [cli, 'create', '--producer', 'fault-suite', '--json'], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  return (JSON.parse(stdout) as { key: string }).key;
}
