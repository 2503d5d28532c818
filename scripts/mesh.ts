/**
 * Starts the local mesh the way the tests do, as separate OS processes: a real Kafka broker (jars fetched
 * from Maven Central on first use), Postgres (DATABASE_URL, or 127.0.0.1:5432, or an embedded one), the
 * topic catalog, then every built service. Ctrl-C stops everything it started.
 *
 *   npm run mesh                   # start, resuming the previous run's Kafka data and database
 *   npm run mesh -- --fresh        # start clean (drop the mesh database and the broker's data first)
 *   npm run mesh -- --ports free   # free ports instead of the fixed 8080–8088
 *
 * `npm run demo` does the same and then trains a first model and runs the traffic generator.
 */
import { DEV_ADMIN_TOKEN, type Mesh, startMesh } from '@flywheel/testing';

async function main() {
  const args = process.argv.slice(2);
  const portsAt = args.indexOf('--ports');
  const ports = portsAt >= 0 ? args[portsAt + 1] : 'fixed';
  if (ports !== 'fixed' && ports !== 'free') throw new Error(`--ports must be fixed or free (got ${ports})`);
  let mesh: Mesh | undefined;
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping ...');
    (mesh?.stop() ?? Promise.resolve()).then(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  mesh = await startMesh({
    name: 'mesh',
    fresh: args.includes('--fresh'),
    ports,
    instances: { 'stream-inference': 2 },
    env: { registry: { REGISTRY_PROMOTION_POLICY: 'automatic' } },
    // stream-inference becomes ready only once a model is in Production; the mesh may have none yet.
    waitFor: { 'stream-inference': 'live' },
  }).catch((error) => {
    stopping = true;
    throw error;
  });
  if (stopping) return;
  console.log(
    `\nmesh is up${mesh.resumed ? ' (resumed)' : ''}. Admin token for local writes: ${DEV_ADMIN_TOKEN}. Ctrl-C stops everything.`,
  );
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
