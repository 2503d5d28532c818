import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { type KafkaState, startKafka } from '../kafka-runner';
import { REPO_ROOT } from '../service-process';
import { uniqueSuffix } from '../unique-names';
import { type FaultInfra, SCRAM_CREDENTIALS } from './fault-infra';
import { FaultMesh } from './fault-mesh';
import { controlUrl, startMeshControl } from './mesh-control';
import { startOwnedPostgres } from './owned-postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    faultInfra: FaultInfra;
  }
}

/**
 * Once per `npm run test:faults`: build the services; start a 3-broker KRaft cluster (RF 3, min.insync 2) with
 * SASL/SCRAM-SHA-512 on the client listener and an embedded Postgres that belongs to this run (scenario 3 restarts
 * it — never the machine's shared server); start the mesh on them as separate processes, with SCRAM credentials in
 * every service's config. Scenario files share this mesh (starting one per file would not fit the time budget on
 * two cores), run one at a time, act on its processes through MeshControl and heal what they broke; each reconciles
 * only the events its own load generator sent.
 */
export default async function setup(project: TestProject) {
  const started = Date.now();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const [kafka, postgres] = await Promise.all([
    startKafka({ name: `faults-${process.pid}-${uniqueSuffix()}`, brokers: 3, saslScram: SCRAM_CREDENTIALS }),
    startOwnedPostgres(),
  ]);
  let mesh: FaultMesh | undefined;
  let control: Awaited<ReturnType<typeof startMeshControl>> | undefined;
  const teardown = async () => {
    control?.close();
    await mesh?.stop().catch(() => undefined);
    await kafka.stop();
    await postgres.destroy();
  };
  try {
    // plain data only (vitest hands it to the workers), and never the object the clients below are given
    const state = JSON.parse(JSON.stringify(kafka)) as KafkaState;
    mesh = await FaultMesh.start({ kafka: state, name: 'faults', postgresServerUrl: postgres.serverUrl });
    control = await startMeshControl(mesh, postgres, state);
    project.provide('faultInfra', { kafka: state, controlUrl: controlUrl(control) });
  } catch (error) {
    await teardown();
    throw error;
  }
  console.log(
    `[faults] 3-broker SASL cluster ${kafka.bootstrapServers}, own embedded postgres :${postgres.port}, mesh of ${mesh.services.length} processes (${Date.now() - started} ms)`,
  );
  return teardown;
}
