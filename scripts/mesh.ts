/**
 * Starts the local mesh the way the tests do, as separate OS processes: a real Kafka broker (jars fetched
 * from Maven Central on first use), Postgres (DATABASE_URL, or 127.0.0.1:5432, or an embedded one), the
 * topic catalog, then every built service. Ctrl-C stops everything it started.
 *
 *   npm run mesh              # start and keep running
 *   npm run mesh -- --fresh   # drop the mesh database first (start clean instead of resuming)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureTopics } from '@flywheel/contracts';
import { createKafkaClient } from '@flywheel/kafka';
import {
  databaseUrl,
  ensurePostgres,
  REPO_ROOT,
  type ServiceProcess,
  startKafka,
  startServiceProcess,
  stopKafka,
} from '@flywheel/testing';
import { Client } from 'pg';

interface ServicePlan {
  name: string;
  port: number;
  instances?: number;
  env?: Record<string, string>;
  /** Shared variables this service must not get. */
  omit?: string[];
}

/** Fixed ports so a person can bookmark them; the order is dependency order (registry first). */
const PLAN: ServicePlan[] = [
  // The registry is the schema registry: pointing it at itself would make it wait for its own port.
  { name: 'registry', port: 8081, omit: ['SCHEMA_REGISTRY_URL'] },
  { name: 'collector', port: 8080 },
  { name: 'enrichment-api', port: 8082 },
  { name: 'feature-materializer', port: 8083 },
  { name: 'stream-inference', port: 8084, instances: 2 },
  { name: 'monitor', port: 8086 },
  { name: 'trainer', port: 8087 },
  { name: 'dead-letter-alerter', port: 8088 },
];

const DEV_ADMIN_TOKEN = process.env.FLYWHEEL_ADMIN_TOKEN ?? 'dev-admin-token-change-me';

async function main() {
  const fresh = process.argv.includes('--fresh');
  console.log('building services (swc) ...');
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });

  const kafka = await startKafka({ name: 'mesh' });
  console.log(`kafka       ${kafka.bootstrapServers} (Apache Kafka ${kafka.version}, KRaft)`);
  const postgres = await ensurePostgres();
  if (fresh) await dropDatabase(postgres.serverUrl, 'flywheel');
  const db = await databaseUrl(postgres.serverUrl, 'flywheel');
  console.log(`postgres    ${redact(db)}${postgres.embedded ? ' (embedded)' : ''}`);

  const admin = createKafkaClient({ brokers: kafka.bootstrapServers.split(','), clientId: 'mesh' }).admin();
  await admin.connect();
  const topics = await ensureTopics(admin, {});
  await admin.disconnect();
  console.log(`topics      ${topics.created.length} created, ${topics.existing.length} already there`);

  const started: ServiceProcess[] = [];
  const stopAll = async () => {
    for (const service of [...started].reverse()) await service.stop();
    await stopKafka('mesh');
    await postgres.stop();
  };
  process.once('SIGINT', () => {
    console.log('\nstopping ...');
    stopAll().then(() => process.exit(0));
  });

  const common = {
    KAFKA_BROKERS: kafka.bootstrapServers,
    DATABASE_URL: db,
    SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
    REGISTRY_URL: 'http://127.0.0.1:8081',
    FEATURE_STORE_URL: 'http://127.0.0.1:8083',
    REGISTRY_ADMIN_TOKEN: DEV_ADMIN_TOKEN,
    ENRICHMENT_ADMIN_TOKEN: DEV_ADMIN_TOKEN,
    ALERTER_ADMIN_TOKEN: DEV_ADMIN_TOKEN,
    TRAINER_REGISTRY_TOKEN: DEV_ADMIN_TOKEN,
    // The trainer reads the feature store's offline log (its published interface) read-only.
    FEATURES_DATABASE_URL: db,
  };
  try {
    for (const plan of PLAN) {
      if (!existsSync(resolve(REPO_ROOT, 'dist/services', plan.name, 'src/main.js'))) continue;
      for (let i = 0; i < (plan.instances ?? 1); i++) {
        const port = plan.port + i * 100;
        const env: Record<string, string> = { ...common, ...plan.env };
        for (const name of plan.omit ?? []) delete env[name];
        const service = await startServiceProcess(plan.name, {
          env: { ...env, HTTP_PORT: String(port), INSTANCE_ID: `${plan.name}-${i + 1}` },
        });
        started.push(service);
        console.log(`${plan.name.padEnd(21)} ${service.url}  (logs: ${service.logFile})`);
      }
    }
  } catch (error) {
    await stopAll();
    throw error;
  }
  console.log(`\nmesh is up. Admin token for local writes: ${DEV_ADMIN_TOKEN}. Ctrl-C stops everything.`);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]+@/, '//$1:***@');
}

async function dropDatabase(serverUrl: string, name: string) {
  const admin = new URL(serverUrl);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await client.end();
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
