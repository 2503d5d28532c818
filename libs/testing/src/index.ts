// Not re-exported here: global-setup.ts (vitest loads it by path) and test-env.ts (imports vitest).
export { freePort, portAnswers } from './free-port';
export {
  type KafkaBroker,
  type KafkaCluster,
  killBroker,
  restartBroker,
  type StartKafkaOptions,
  startKafka,
  stopKafka,
} from './kafka-runner';
export { type LocalMesh, type LocalMeshOptions, startLocalMesh } from './local-mesh';
export {
  DEV_ADMIN_TOKEN,
  describeMesh,
  MESH_PORTS,
  MESH_SERVICES,
  type Mesh,
  type MeshDescription,
  type MeshOptions,
  type MeshService,
  type MeshServiceInfo,
  redact,
  type StartServicesOptions,
  startMesh,
} from './mesh';
export { DEFAULT_DATABASE_URL, databaseUrl, ensurePostgres, type PostgresHandle } from './postgres';
export { type ProductionModelOptions, registerTrainedModel } from './production-model';
export {
  dropDatabase,
  type RegistryProcess,
  type RegistryProcessOptions,
  startRegistryProcess,
} from './registry-process';
export { REPO_ROOT, type ServiceProcess, startServiceProcess } from './service-process';
export { testGroup, testPrefix, testTopic, uniqueSuffix } from './unique-names';
export { type WaitOptions, waitUntil } from './wait-until';
