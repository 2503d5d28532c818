import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureTopics } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import { Client } from 'pg';
import { freePort } from './free-port';
import { MESH_SERVICES, type MeshService } from './mesh';
import { databaseUrl } from './postgres';
import { REPO_ROOT, type ServiceProcess, startServiceProcess } from './service-process';
import { waitUntil } from './wait-until';

const run = promisify(execFile);

export interface LocalMeshOptions {
  kafkaBrokers: string;
  /** A database URL on the Postgres server to use; the mesh creates (and drops on stop) a database of its own. */
  postgresUrl: string;
  /** Prefix of every topic and consumer group (e.g. testPrefix('obs')), so meshes never share state. */
  prefix: string;
  /** Admin token for registry, enrichment and alerter writes and the trainer's uploads (16+ characters). */
  adminToken?: string;
  /**
   * Runs once the registry is up and before the other services start. stream-inference is ready only once it
   * serves a model, so register and promote one here (`registry.url`, `adminToken`).
   */
  afterRegistry?: (registry: ServiceProcess, adminToken: string) => Promise<void>;
  /** Variables per service, over the defaults below (e.g. small drift windows for the monitor). */
  env?: Partial<Record<MeshService, Record<string, string>>>;
  /** Services not to start. */
  without?: MeshService[];
  logLevel?: string;
  /** How long each service may take to become ready (default 120 s: six services start at once). */
  startTimeoutMs?: number;
}

export interface LocalMesh {
  prefix: string;
  databaseUrl: string;
  adminToken: string;
  /** A collector API key (made with the collector's CLI, as an operator does); empty without a collector. */
  apiKey: string;
  /** The running services (one instance each), on free ports. */
  services: Map<MeshService, ServiceProcess>;
  url(name: MeshService): string;
  /** SIGTERM every service (SIGKILL what hangs), then drop the mesh's database. */
  stop(): Promise<void>;
}

/**
 * The whole mesh as separate OS processes, as scripts/mesh.ts runs it, but on free ports, under a topic and
 * group prefix and in a database of its own, on a broker and Postgres the caller already has (the test harness's):
 * every catalog topic is created, the registry starts first (schema + model registry for everyone), then the
 * other services together. Call `npm run build` first (the integration global setup does).
 */
export async function startLocalMesh(options: LocalMeshOptions): Promise<LocalMesh> {
  const { prefix } = options;
  const adminToken = options.adminToken ?? 'local-mesh-admin-token-7c1e2f';
  const wanted = MESH_SERVICES.filter((name) => !options.without?.includes(name));
  await createTopics(options.kafkaBrokers, prefix);
  const db = await databaseUrl(options.postgresUrl, `flywheel_mesh_${randomBytes(4).toString('hex')}`);

  // Ports first, so every service can be told where the others are before any of them starts.
  const ports = new Map<MeshService, number>();
  for (const name of wanted) ports.set(name, await freePort());
  const url = (name: MeshService) => `http://127.0.0.1:${ports.get(name)}`;
  const common = {
    KAFKA_BROKERS: options.kafkaBrokers,
    TOPIC_PREFIX: prefix,
    LOG_LEVEL: options.logLevel ?? 'warn',
    SCHEMA_REGISTRY_URL: url('registry'),
  };
  const envOf: Record<MeshService, Record<string, string>> = {
    registry: {
      DATABASE_URL: db,
      REGISTRY_KAFKA_ENABLED: 'true',
      REGISTRY_ADMIN_TOKEN: adminToken,
      REGISTRY_PROMOTION_POLICY: 'manual',
      REGISTRY_CONSUMER_GROUP: `${prefix}registry`,
    },
    collector: { DATABASE_URL: db },
    'enrichment-api': {
      DATABASE_URL: db,
      ENRICHMENT_GROUP_ID: `${prefix}enrichment-api`,
      ENRICHMENT_ADMIN_TOKEN: adminToken,
    },
    'feature-materializer': { DATABASE_URL: db, FEATURES_GROUP_ID: `${prefix}feature-materializer` },
    'stream-inference': {
      REGISTRY_URL: url('registry'),
      CONSUMER_GROUP: `${prefix}stream-inference`,
      ...(ports.has('feature-materializer') ? { FEATURE_STORE_URL: url('feature-materializer') } : {}),
    },
    monitor: { REGISTRY_URL: url('registry'), CONSUMER_GROUP: `${prefix}monitor` },
    trainer: {
      FEATURES_DATABASE_URL: db,
      REGISTRY_URL: url('registry'),
      TRAINER_REGISTRY_TOKEN: adminToken,
      TRAINER_CONSUMER_GROUP: `${prefix}trainer`,
    },
    'dead-letter-alerter': {
      DATABASE_URL: db,
      ALERTER_GROUP_ID: `${prefix}dead-letter-alerter`,
      ALERTER_ADMIN_TOKEN: adminToken,
    },
  };

  const services = new Map<MeshService, ServiceProcess>();
  const start = async (name: MeshService) => {
    const env: Record<string, string> = {
      ...common,
      ...envOf[name],
      INSTANCE_ID: `${name}-1`,
      HTTP_PORT: String(ports.get(name)),
      ...options.env?.[name],
    };
    // the registry is the schema registry: pointing it at itself would make it wait for its own port
    if (name === 'registry' && !options.env?.registry?.SCHEMA_REGISTRY_URL) delete env.SCHEMA_REGISTRY_URL;
    services.set(name, await startServiceProcess(name, { env, timeoutMs: options.startTimeoutMs ?? 120_000 }));
  };
  const mesh: LocalMesh = {
    prefix,
    databaseUrl: db,
    adminToken,
    apiKey: '',
    services,
    url: (name) => {
      const service = services.get(name);
      if (!service) throw new Error(`${name} is not part of this mesh`);
      return service.url;
    },
    stop: async () => {
      await Promise.all([...services.values()].reverse().map(stopOrKill));
      await dropDatabase(db).catch(() => undefined);
    },
  };
  try {
    if (wanted.includes('registry')) {
      await start('registry');
      await options.afterRegistry?.(mesh.services.get('registry') as ServiceProcess, adminToken);
    }
    const rest = wanted.filter((name) => name !== 'registry');
    const started = await Promise.allSettled(rest.map(start));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    if (services.has('collector')) mesh.apiKey = await createApiKey(db);
  } catch (error) {
    await mesh.stop();
    throw error;
  }
  return mesh;
}

async function createTopics(brokers: string, prefix: string): Promise<void> {
  const admin = createKafkaClient({ brokers: brokers.split(','), clientId: 'local-mesh' }).admin();
  await admin.connect();
  try {
    // A just-created topic's metadata can lag (UNKNOWN_TOPIC_OR_PARTITION while waiting for leaders);
    // ensureTopics is idempotent, so it is simply asked again.
    await waitUntil(
      () => ensureTopics(admin, { prefix, logger: { info: () => undefined, warn: () => undefined } }).then(() => true),
      { timeoutMs: 60_000, intervalMs: 500, message: `topics of ${prefix}` },
    );
  } finally {
    await admin.disconnect();
  }
}

async function createApiKey(db: string): Promise<string> {
  const cli = resolve(REPO_ROOT, 'dist/services/collector/src/cli/api-keys.js');
  const { stdout } = await run(process.execPath, [cli, 'create', '--producer', 'local-mesh', '--json'], {
    env: { ...process.env, DATABASE_URL: db },
  });
  return (JSON.parse(stdout) as { key: string }).key;
}

async function stopOrKill(service: ServiceProcess): Promise<void> {
  const timeout = new Promise((done) => setTimeout(done, 15_000, 'timeout').unref());
  if ((await Promise.race([service.stop(), timeout])) === 'timeout') await service.kill();
}

async function dropDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = target.pathname.slice(1);
  target.pathname = '/postgres';
  const client = new Client({ connectionString: target.toString() });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
