/**
 * The fault harness (issue 11). faults-global-setup.ts starts a 3-broker SASL cluster, an embedded Postgres of the
 * run's own and the mesh as separate processes (FaultMesh), controlled over MeshControl; a scenario opens a MeshView
 * (watchers of the mesh's topics), drives a steady load through the collectors (LoadGenerator), records its faults
 * and reconciles what was acknowledged with what was predicted. Not re-exported from @flywheel/testing: it loads the
 * model code (tfjs), which ordinary tests do not need.
 */
export { activeController, busiestLeader } from './cluster-roles';
export { databaseOn, dropDatabase, recreateDatabase } from './databases';
export {
  ensureClusterWhole,
  type FaultInfra,
  faultKafkaClient,
  kafkaServiceEnv,
  SCRAM_CREDENTIALS,
} from './fault-infra';
export { FAULT_ADMIN_TOKEN, FaultMesh, type FaultMeshOptions, MESH_TOPICS } from './fault-mesh';
export { FAULT_MODEL_NAME, registerProductionModel } from './fault-model';
export { LoadGenerator, type LoadOptions, type RequestOutcome } from './load-generator';
export { endpoint, MeshControlClient, type MeshInfo, startMeshControl } from './mesh-control';
export { answersReady, MeshService, type MeshServiceName, type ServiceEndpoint } from './mesh-service';
export { MeshView } from './mesh-view';
export { type OwnedPostgres, startOwnedPostgres } from './owned-postgres';
export { ReadinessRecorder } from './readiness-recorder';
export {
  type FaultRecord,
  type FaultRecovery,
  formatReconciliation,
  type Reconciliation,
  reconcile,
} from './reconcile';
export { TopicWatcher, type Watched } from './topic-watcher';
