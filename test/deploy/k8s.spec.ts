import { existsSync } from 'node:fs';
import { topicCatalog, topics } from '@flywheel/contracts';
import { describe, expect, it } from 'vitest';
import {
  type Container,
  find,
  K8S_DIR,
  type K8sObject,
  loadKustomization,
  loadManifestFile,
  loadManifests,
  manifestFilesOnDisk,
  podTemplateOf,
  resolveEnv,
  selects,
} from './support/k8s-manifests';
import { differencesFromMesh, readMeshPlan } from './support/mesh-plan';
import { deployableServices, repoPath, serviceOfEntry, sourceOfDistPath } from './support/repo';
import { configVariables, createTopicsVariables, loadServiceConfig } from './support/service-config';

const kustomization = loadKustomization();
const manifests = loadManifests();
const objects = manifests.map((m) => m.object);
const mesh = readMeshPlan();
const services = deployableServices();
const of = (kind: string) => objects.filter((o) => o.kind === kind);
const deployments = of('Deployment');
const containerOf = (name: string): Container =>
  podTemplateOf(find(manifests, 'Deployment', name)!).spec.containers[0]!;

/** The Secret every Deployment reads, as the example documents it (the real one is created by hand). */
const secretExample = loadManifestFile('secret.example.yaml')[0]!;
const secrets = { [secretExample.metadata.name]: secretExample.stringData ?? {} };
const envOf = (name: string) => resolveEnv(containerOf(name), manifests, secrets, `${name}-7d9f8c6b5-x2x4q`);

interface ScaledObjectSpec {
  scaleTargetRef: { name: string; kind?: string };
  minReplicaCount?: number;
  maxReplicaCount?: number;
  triggers: Array<{ type: string; metadata: Record<string, string> }>;
}
const scaledObjects = of('ScaledObject');

describe('infra/k8s: the kustomization', () => {
  it('lists every manifest file, and only files that exist', () => {
    for (const file of kustomization.resources) expect(existsSync(repoPath(K8S_DIR, file)), file).toBe(true);
    expect([...kustomization.resources].sort()).toEqual(manifestFilesOnDisk());
    expect(kustomization.resources).not.toContain('secret.example.yaml');
  });

  it('has documents with apiVersion, kind and name, in one namespace', () => {
    expect(objects.length).toBeGreaterThan(services.length * 3);
    for (const { file, object } of manifests) {
      expect(object.apiVersion, file).toMatch(/^[a-z0-9.]*\/?v\d+(alpha\d+|beta\d+)?$/);
      expect(object.kind, file).toMatch(/^[A-Z]\w+$/);
      expect(object.metadata?.name, `${file} ${object.kind}`).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(object.metadata.namespace ?? kustomization.namespace, `${file} ${object.metadata.name}`).toBe(
        kustomization.namespace,
      );
    }
    expect(find(manifests, 'Namespace', kustomization.namespace!)).toBeDefined();
  });

  it('names no two objects of one kind alike', () => {
    const keys = objects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(keys.filter((key, i) => keys.indexOf(key) !== i)).toEqual([]);
  });

  it('maps the one image of every workload to a registry and tag', () => {
    const workloads = [...deployments, ...of('Job')];
    const images = new Set(workloads.flatMap((w) => podTemplateOf(w).spec.containers.map((c) => c.image)));
    expect([...images]).toEqual(['flywheel']);
    const mapped = kustomization.images?.find((i) => i.name === 'flywheel');
    expect(mapped?.newName).toBeTruthy();
    expect(mapped?.newTag).toMatch(/^[\w.-]+$/);
    expect(mapped?.newTag).not.toBe('latest');
  });
});

describe('infra/k8s: a Deployment, Service and PodDisruptionBudget per service', () => {
  it('covers every deployable service and nothing else', () => {
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(services);
    expect(
      of('Service')
        .map((s) => s.metadata.name)
        .sort(),
    ).toEqual(services);
    expect(
      of('PodDisruptionBudget')
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(services);
  });

  it.each(services)('%s: selectors of the Deployment, Service and PDB select its pods and no other', (name) => {
    const deployment = find(manifests, 'Deployment', name)!;
    const labels = podTemplateOf(deployment).metadata.labels;
    const matchLabels = (o: K8sObject) => (o.spec as { selector: { matchLabels: Record<string, string> } }).selector;
    expect(selects(matchLabels(deployment).matchLabels, labels)).toBe(true);
    expect(selects(matchLabels(find(manifests, 'PodDisruptionBudget', name)!).matchLabels, labels)).toBe(true);
    const serviceSelector = (find(manifests, 'Service', name)!.spec as { selector: Record<string, string> }).selector;
    const selected = deployments.filter((d) => selects(serviceSelector, podTemplateOf(d).metadata.labels));
    expect(selected.map((d) => d.metadata.name)).toEqual([name]);
  });

  it.each(services)('%s: runs its own entry point and listens on the local runner’s port', (name) => {
    const container = containerOf(name);
    expect(serviceOfEntry(container.args?.[0])).toBe(name);
    expect(container.args).toHaveLength(1);
    const port = mesh.ports.get(name)!;
    expect(container.ports).toEqual([{ name: 'http', containerPort: port }]);
    expect(envOf(name).HTTP_PORT).toBe(String(port));
    const service = find(manifests, 'Service', name)!.spec as { ports: Array<Record<string, unknown>> };
    expect(service.ports).toEqual([{ name: 'http', port, targetPort: 'http' }]);
  });

  it.each(services)('%s: probes /health/live and /health/ready on its HTTP port', (name) => {
    const container = containerOf(name);
    expect(container.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
    expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
  });

  it.each(services)('%s: has CPU and memory requests and limits, and runs unprivileged', (name) => {
    const container = containerOf(name);
    for (const kind of ['requests', 'limits'] as const) {
      expect(Object.keys(container.resources?.[kind] ?? {}).sort(), kind).toEqual(['cpu', 'memory']);
    }
    const pod = podTemplateOf(find(manifests, 'Deployment', name)!).spec;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
    // a read-only root needs a writable /tmp
    const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
    expect(pod.volumes?.find((v) => v.name === tmp?.name)?.emptyDir).toBeDefined();
  });

  it.each(services)('%s: sets only variables its config reads, and the config accepts them', async (name) => {
    const env = envOf(name);
    const known = await configVariables(name);
    expect(Object.keys(env).filter((v) => !known.has(v))).toEqual([]);
    await expect(loadServiceConfig(name, env)).resolves.toBeTruthy();
    expect(differencesFromMesh(mesh, name, env, known)).toEqual({ missing: [], withheldButSet: [] });
  });

  it.each(services)('%s: service URLs name a Service of this namespace on its port', (name) => {
    for (const [variable, value] of Object.entries(envOf(name))) {
      if (!/_URL$/.test(variable)) continue;
      const url = new URL(value);
      if (url.protocol.startsWith('postgres')) continue;
      const target = find(manifests, 'Service', url.hostname);
      expect(target, `${variable}: no Service ${url.hostname}`).toBeDefined();
      const ports = (target!.spec as { ports: Array<{ port: number }> }).ports.map((p) => p.port);
      expect(ports, variable).toContain(Number(url.port));
    }
  });

  it('never lets a PodDisruptionBudget block a drain for good', () => {
    for (const pdb of of('PodDisruptionBudget')) {
      const spec = pdb.spec as { minAvailable?: number; maxUnavailable?: number };
      const name = pdb.metadata.name;
      if (spec.maxUnavailable !== undefined) {
        expect(spec.maxUnavailable, name).toBeGreaterThanOrEqual(1);
        continue;
      }
      const replicas =
        (find(manifests, 'Deployment', name)!.spec as { replicas?: number }).replicas ??
        (
          scaledObjects.find((s) => (s.spec as unknown as ScaledObjectSpec).scaleTargetRef.name === name)
            ?.spec as unknown as ScaledObjectSpec | undefined
        )?.minReplicaCount ??
        1;
      expect(spec.minAvailable, name).toBeLessThan(replicas);
    }
  });
});

describe('infra/k8s: KEDA scales stream-inference on consumer lag', () => {
  const scaled = scaledObjects.map((s) => s.spec as unknown as ScaledObjectSpec);
  const inference = scaled.find((s) => s.scaleTargetRef.name === 'stream-inference')!;
  const trigger = inference?.triggers.find((t) => t.type === 'kafka');
  const inferenceEnv = () => envOf('stream-inference');

  it('has one kafka-lag ScaledObject, for the stream-inference Deployment', () => {
    expect(scaled).toHaveLength(1);
    expect(inference.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
    expect(trigger).toBeDefined();
  });

  it('caps the replicas at the partition count of features.vectors.v1 (libs/contracts)', () => {
    expect(inference.maxReplicaCount).toBe(topicCatalog[topics.featureVectors].partitions);
    expect(inference.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(inference.minReplicaCount).toBeLessThanOrEqual(inference.maxReplicaCount!);
    expect(trigger!.metadata.allowIdleConsumers ?? 'false').toBe('false');
  });

  it('measures the lag of the group and topic the service consumes, on the brokers it uses', async () => {
    const config = await loadServiceConfig('stream-inference', inferenceEnv());
    const prefix = String(config.TOPIC_PREFIX ?? '');
    expect(trigger!.metadata.topic).toBe(`${prefix}${topics.featureVectors}`);
    expect(trigger!.metadata.consumerGroup).toBe(config.CONSUMER_GROUP);
    expect(trigger!.metadata.bootstrapServers).toBe(inferenceEnv().KAFKA_BROKERS);
    // a group without offsets starts where the service starts reading
    expect(trigger!.metadata.offsetResetPolicy).toBe(config.CONSUMER_FROM_BEGINNING ? 'earliest' : 'latest');
  });

  it('has a positive lag threshold', () => {
    expect(trigger!.metadata.lagThreshold).toMatch(/^[1-9]\d*$/);
  });

  it('leaves the replica count of the scaled Deployment to KEDA', () => {
    expect(find(manifests, 'Deployment', 'stream-inference')!.spec).not.toHaveProperty('replicas');
  });
});

describe('infra/k8s: topics and secrets', () => {
  it('creates the catalog topics with replication factor 3 and min.insync.replicas 2', () => {
    const job = find(manifests, 'Job', 'topics-create')!;
    const container = podTemplateOf(job).spec.containers[0]!;
    const entry = container.args![0]!;
    expect(entry).toBe('dist/libs/contracts/src/scripts/create-topics.js');
    expect(existsSync(repoPath(sourceOfDistPath(entry)))).toBe(true);
    const env = resolveEnv(container, manifests, secrets, 'topics-create-abcde');
    const known = createTopicsVariables();
    expect(Object.keys(env).filter((v) => !known.has(v))).toEqual([]);
    expect(env).toMatchObject({ TOPIC_REPLICATION_FACTOR: '3', TOPIC_MIN_INSYNC_REPLICAS: '2' });
    expect(env.KAFKA_BROKERS).toBe(find(manifests, 'ConfigMap', 'flywheel-shared')!.data!.KAFKA_BROKERS);
  });

  it('documents every Secret key a workload reads in secret.example.yaml', () => {
    const referenced = objects
      .filter((o) => o.kind === 'Deployment' || o.kind === 'Job')
      .flatMap((o) => podTemplateOf(o).spec.containers)
      .flatMap((c) => c.env ?? [])
      .flatMap((v) => (v.valueFrom?.secretKeyRef ? [v.valueFrom.secretKeyRef] : []));
    expect(referenced.length).toBeGreaterThan(0);
    for (const ref of referenced) {
      expect(ref.name).toBe(secretExample.metadata.name);
      expect(secretExample.stringData, ref.key).toHaveProperty(ref.key);
    }
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});
