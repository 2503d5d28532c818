import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureTopics } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import { Client } from 'pg';
import { freePort, portAnswers } from './free-port';
import { type KafkaStatus, kafkaStatus, killBroker, restartBroker, startKafka, stopKafka } from './kafka-runner';
import { databaseUrl, ensurePostgres, type PostgresHandle } from './postgres';
import { REPO_ROOT, type ServiceProcess, startServiceProcess } from './service-process';

/** Every service of the mesh, in dependency order (the registry is also the schema registry: first). */
export const MESH_SERVICES = [
  'registry',
  'collector',
  'enrichment-api',
  'feature-materializer',
  'stream-inference',
  'monitor',
  'trainer',
  'dead-letter-alerter',
] as const;
export type MeshService = (typeof MESH_SERVICES)[number];

/** Fixed ports, so a person can bookmark them; instance n (0-based) listens on port + 100·n (8084, 8184). */
export const MESH_PORTS: Readonly<Record<MeshService, number>> = {
  registry: 8081,
  collector: 8080,
  'enrichment-api': 8082,
  'feature-materializer': 8083,
  'stream-inference': 8084,
  monitor: 8086,
  trainer: 8087,
  'dead-letter-alerter': 8088,
};

/** Local-only admin token shared by every service's write API (16+ characters, as the services require). */
export const DEV_ADMIN_TOKEN = 'dev-admin-token-change-me';

export interface MeshOptions {
  /** Names the Kafka run (.cache/kafka/runs/<name>) and, by default, the database. Default 'mesh'. */
  name?: string;
  /** Postgres database of every service (each in its own schema). Default `flywheel` for 'mesh', else `flywheel_<name>`. */
  database?: string;
  /** 'fixed' = MESH_PORTS (refuses to start if one is taken), 'free' = ports the OS hands out. */
  ports?: 'fixed' | 'free';
  /** Start clean: delete the run's Kafka data and drop the database first. Otherwise both are resumed. */
  fresh?: boolean;
  /** Start clean and delete both again on stop (tests, benchmarks). */
  ephemeral?: boolean;
  /** Run `npm run build` first (default true). */
  build?: boolean;
  /** Started by startMesh (default: every service); the others can be started later with `start`. */
  services?: readonly MeshService[];
  instances?: Partial<Record<MeshService, number>>;
  /** How startMesh waits for the services it starts (default: ready). */
  waitFor?: StartServicesOptions['waitFor'];
  /** Extra environment per service (over the shared one). */
  env?: Partial<Record<MeshService, Record<string, string>>>;
  logLevel?: string;
  adminToken?: string;
  /** Progress lines (default: console.log). */
  log?: (line: string) => void;
}

export interface MeshServiceInfo {
  name: MeshService;
  instance: number;
  url: string;
  port: number;
  pid: number | undefined;
  logFile: string;
}

/** What a mesh is made of, as plain data (printed, or written to a file for another process to read). */
export interface MeshDescription {
  name: string;
  resumed: boolean;
  kafka: { bootstrapServers: string; brokers: { pid: number; port: number; controllerPort: number }[] };
  databaseUrl: string;
  postgresEmbedded: boolean;
  adminToken: string;
  services: MeshServiceInfo[];
}

export interface StartServicesOptions {
  /** Wait for /health/ready (default) or only /health/live (e.g. stream-inference before any model exists). */
  waitFor?: Partial<Record<MeshService, 'ready' | 'live'>>;
  timeoutMs?: number;
}

export interface Mesh {
  readonly name: string;
  /** Kafka bootstrap servers. */
  readonly brokers: string;
  readonly databaseUrl: string;
  readonly adminToken: string;
  /** True when Kafka data and the database of an earlier run were kept. */
  readonly resumed: boolean;
  /** URL of a service instance (known before it starts: ports are planned up front). */
  url(service: MeshService, instance?: number): string;
  /** The environment a service instance runs with (also what its CLIs need). */
  env(service: MeshService, instance?: number): Record<string, string>;
  instances(service: MeshService): ServiceProcess[];
  /** Starts services (and their instances) in parallel; the registry, if listed, first. */
  start(services: readonly MeshService[], options?: StartServicesOptions): Promise<ServiceProcess[]>;
  describe(): MeshDescription;
  /** Stops every service, then Kafka (keeping its data unless ephemeral), then an embedded Postgres. Idempotent. */
  stop(): Promise<void>;
}

const SERVICE_STOP_GRACE_MS = 15_000;
const BROKER_STOP_GRACE_MS = 20_000;

/**
 * Starts the local mesh the way the tests do, each part its own OS process: a real Kafka broker (KRaft, jars
 * from Maven Central on first use), Postgres (DATABASE_URL, 127.0.0.1:5432, or an embedded one), the topic
 * catalog, then the built services. A second start with the same name resumes: the broker restarts on its
 * data and the database is kept. When resuming is impossible (no earlier run, its ports are taken, an
 * embedded Postgres whose data did not survive) both start clean, so Kafka offsets and the state stored in
 * Postgres never disagree.
 */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const name = options.name ?? 'mesh';
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(name)) throw new Error(`mesh name must be letters, digits, _ and - (got ${name})`);
  const database = options.database ?? (name === 'mesh' ? 'flywheel' : `flywheel_${name.replace(/-/g, '_')}`);
  const log = options.log ?? ((line: string) => console.log(line));
  const adminToken = options.adminToken ?? DEV_ADMIN_TOKEN;
  const fresh = Boolean(options.fresh || options.ephemeral);
  const instances = (service: MeshService) => options.instances?.[service] ?? 1;

  if (options.build ?? true) {
    log('building services (swc) ...');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  }
  const planned = await planPorts(options.ports ?? 'fixed', instances);

  const postgres = await ensurePostgres();
  const cleanups: Array<() => Promise<unknown>> = [() => postgres.stop()];
  const undo = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    // Embedded Postgres keeps nothing between runs, so there is nothing consistent to resume.
    const kafka = await startOrResumeKafka(name, fresh || postgres.embedded, log);
    cleanups.push(() => (options.ephemeral ? stopKafka(name) : stopKafkaKeepingData(name)));
    if (!kafka.resumed) {
      // Kafka starts empty, so state kept in Postgres (stored offsets, models whose events are gone) must go too.
      if (await dropDatabase(postgres.serverUrl, database))
        log(`postgres    database ${database} dropped: a clean start`);
    }
    const db = await databaseUrl(postgres.serverUrl, database);
    log(`kafka       ${kafka.bootstrapServers}${kafka.resumed ? ' (resumed)' : ''}`);
    log(`postgres    ${redact(db)}${postgres.embedded ? ' (embedded)' : ''}${kafka.resumed ? ' (resumed)' : ''}`);
    const created = await createTopics(kafka.bootstrapServers);
    log(`topics      ${created.created} created, ${created.existing} already there`);
    const mesh = new LocalMesh(name, kafka, db, postgres, adminToken, planned, options);
    cleanups.length = 0;
    await mesh
      .start(options.services ?? MESH_SERVICES.filter(isBuilt), { waitFor: options.waitFor })
      .catch(async (error) => {
        await mesh.stop();
        throw error;
      });
    return mesh;
  } catch (error) {
    await undo();
    throw error;
  }
}

function isBuilt(service: MeshService): boolean {
  return existsSync(resolve(REPO_ROOT, 'dist/services', service, 'src/main.js'));
}

type PortPlan = Map<MeshService, number[]>;

async function planPorts(mode: 'fixed' | 'free', instances: (s: MeshService) => number): Promise<PortPlan> {
  const plan: PortPlan = new Map();
  const taken = new Set<number>();
  for (const service of MESH_SERVICES) {
    const ports: number[] = [];
    for (let i = 0; i < instances(service); i++) {
      let port = MESH_PORTS[service] + 100 * i;
      if (mode === 'free') {
        do port = await freePort();
        while (taken.has(port));
      } else if (await portAnswers(port)) {
        throw new Error(
          `port ${port} (${service}) is already in use — is another mesh or demo running? ` +
            'Stop it, or use free ports (--ports free).',
        );
      }
      taken.add(port);
      ports.push(port);
    }
    plan.set(service, ports);
  }
  return plan;
}

interface KafkaHandle {
  bootstrapServers: string;
  resumed: boolean;
}

async function startOrResumeKafka(name: string, fresh: boolean, log: (line: string) => void): Promise<KafkaHandle> {
  const status = await kafkaStatus(name);
  if (status && !fresh) {
    if (status.running) {
      log(`kafka run "${name}" is already running (pids ${pids(status)}): using it`);
      return { bootstrapServers: status.bootstrapServers, resumed: true };
    }
    try {
      for (const broker of status.brokers) await restartBroker(status, broker.id);
      return { bootstrapServers: status.bootstrapServers, resumed: true };
    } catch (error) {
      log(`could not resume kafka run "${name}" (${(error as Error).message.split('\n')[0]}): starting clean`);
    }
  } else if (!status && !fresh) {
    log(`no earlier run "${name}" to resume: starting clean`);
  }
  await stopKafka(name);
  const cluster = await startKafka({ name });
  return { bootstrapServers: cluster.bootstrapServers, resumed: false };
}

function pids(status: KafkaStatus): string {
  return status.brokers.map((b) => b.pid).join(', ');
}

/** SIGTERM to each broker (a clean shutdown flushes its logs), SIGKILL after the grace period; data stays. */
async function stopKafkaKeepingData(name: string): Promise<void> {
  const status = await kafkaStatus(name);
  if (!status) return;
  for (const broker of status.brokers) if (broker.alive) killBroker(status, broker.id, 'SIGTERM');
  const deadline = Date.now() + BROKER_STOP_GRACE_MS;
  for (;;) {
    const now = await kafkaStatus(name);
    const alive = now?.brokers.filter((b) => b.alive) ?? [];
    if (alive.length === 0) return;
    if (Date.now() > deadline) {
      for (const broker of alive) killBroker(status, broker.id, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 500));
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function createTopics(bootstrapServers: string): Promise<{ created: number; existing: number }> {
  const admin = createKafkaClient({ brokers: bootstrapServers.split(','), clientId: 'mesh' }).admin();
  await admin.connect();
  const quiet = { info: () => undefined, warn: () => undefined };
  try {
    const result = await ensureTopics(admin, { logger: quiet });
    return { created: result.created.length, existing: result.existing.length };
  } finally {
    await admin.disconnect();
  }
}

class LocalMesh implements Mesh {
  private readonly processes = new Map<MeshService, ServiceProcess[]>();
  private readonly startOrder: ServiceProcess[] = [];
  private stopping?: Promise<void>;
  readonly brokers: string;
  readonly resumed: boolean;

  constructor(
    readonly name: string,
    kafka: KafkaHandle,
    readonly databaseUrl: string,
    private readonly postgres: PostgresHandle,
    readonly adminToken: string,
    private readonly ports: PortPlan,
    private readonly options: MeshOptions,
  ) {
    this.brokers = kafka.bootstrapServers;
    this.resumed = kafka.resumed;
  }

  url(service: MeshService, instance = 0): string {
    const port = this.ports.get(service)?.[instance];
    if (port === undefined) throw new Error(`${service} has no instance ${instance}`);
    return `http://127.0.0.1:${port}`;
  }

  env(service: MeshService, instance = 0): Record<string, string> {
    const registry = this.url('registry');
    const env: Record<string, string> = {
      KAFKA_BROKERS: this.brokers,
      DATABASE_URL: this.databaseUrl,
      SCHEMA_REGISTRY_URL: registry,
      REGISTRY_URL: registry,
      FEATURE_STORE_URL: this.url('feature-materializer'),
      // The trainer reads the feature store's offline log (its published interface), read-only.
      FEATURES_DATABASE_URL: this.databaseUrl,
      REGISTRY_ADMIN_TOKEN: this.adminToken,
      ENRICHMENT_ADMIN_TOKEN: this.adminToken,
      ALERTER_ADMIN_TOKEN: this.adminToken,
      TRAINER_REGISTRY_TOKEN: this.adminToken,
      LOG_LEVEL: this.options.logLevel ?? 'info',
      HTTP_PORT: String(this.ports.get(service)?.[instance]),
      INSTANCE_ID: `${service}-${instance + 1}`,
    };
    if (service === 'registry') {
      // Pointing the registry at itself would make it wait for its own port; it serves its own schemas. The
      // topics exist by now, so it can relay lifecycle events and apply its promotion policy.
      delete env.SCHEMA_REGISTRY_URL;
      env.REGISTRY_KAFKA_ENABLED = 'true';
    }
    return { ...env, ...this.options.env?.[service] };
  }

  instances(service: MeshService): ServiceProcess[] {
    return this.processes.get(service) ?? [];
  }

  async start(services: readonly MeshService[], options: StartServicesOptions = {}): Promise<ServiceProcess[]> {
    const ordered = MESH_SERVICES.filter((s) => services.includes(s) && this.instances(s).length === 0);
    const started: ServiceProcess[] = [];
    const launch = async (service: MeshService) => {
      const count = this.ports.get(service)?.length ?? 0;
      await Promise.all(
        Array.from({ length: count }, async (_, i) => {
          const process = await startServiceProcess(service, {
            env: this.env(service, i),
            waitFor: options.waitFor?.[service] ?? 'ready',
            // Seconds on a quiet machine; the ceiling is for a 2-core one shared with other work.
            timeoutMs: options.timeoutMs ?? 300_000,
          });
          const list = this.processes.get(service) ?? [];
          list[i] = process;
          this.processes.set(service, list);
          this.startOrder.push(process);
          started.push(process);
          this.log(
            `${`${service}${count > 1 ? ` #${i + 1}` : ''}`.padEnd(24)} ${process.url}  (logs: ${process.logFile})`,
          );
        }),
      );
    };
    // Everything else registers its schemas with the registry at start-up: it goes first.
    if (ordered.includes('registry')) await launch('registry');
    await Promise.all(ordered.filter((s) => s !== 'registry').map(launch));
    return started;
  }

  describe(): MeshDescription {
    const services: MeshServiceInfo[] = [];
    for (const service of MESH_SERVICES) {
      this.instances(service).forEach((p, instance) => {
        services.push({ name: service, instance, url: p.url, port: p.port, pid: p.child.pid, logFile: p.logFile });
      });
    }
    return {
      name: this.name,
      resumed: this.resumed,
      kafka: { bootstrapServers: this.brokers, brokers: [] },
      databaseUrl: redact(this.databaseUrl),
      postgresEmbedded: this.postgres.embedded,
      adminToken: this.adminToken,
      services,
    };
  }

  /** describe() plus the brokers' pids and ports (read from the Kafka run's state). */
  async describeWithKafka(): Promise<MeshDescription> {
    const status = await kafkaStatus(this.name);
    const description = this.describe();
    description.kafka.brokers =
      status?.brokers.map((b) => ({ pid: b.pid, port: b.port, controllerPort: b.controllerPort })) ?? [];
    return description;
  }

  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    const services = [...this.startOrder].reverse();
    const registry = services.filter((s) => s.name === 'registry');
    // Everything but the registry at once (their shutdowns are independent), then the registry.
    await Promise.all(services.filter((s) => s.name !== 'registry').map(stopService));
    await Promise.all(registry.map(stopService));
    if (this.options.ephemeral) {
      await stopKafka(this.name);
      await dropDatabase(this.postgres.serverUrl, new URL(this.databaseUrl).pathname.slice(1)).catch(() => undefined);
    } else {
      await stopKafkaKeepingData(this.name);
    }
    await this.postgres.stop();
  }

  private log(line: string): void {
    (this.options.log ?? ((l: string) => console.log(l)))(line);
  }
}

/** SIGTERM (graceful: in-flight batches finish), SIGKILL if it has not exited after the grace period. */
async function stopService(service: ServiceProcess): Promise<void> {
  const timer = setTimeout(() => void service.kill(), SERVICE_STOP_GRACE_MS);
  try {
    await service.stop();
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the brokers' pids and ports of a mesh (for the description written for other processes). */
export async function describeMesh(mesh: Mesh): Promise<MeshDescription> {
  return mesh instanceof LocalMesh ? mesh.describeWithKafka() : mesh.describe();
}

/** Drops a database if it exists; true when there was one. */
async function dropDatabase(serverUrl: string, name: string): Promise<boolean> {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`bad database name ${name}`);
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) return false;
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    return true;
  } finally {
    await client.end();
  }
}

export function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}
